// The soak run (issue 9): many operations through the facade against the mock cluster while its
// nodes fail over, rebalance, stop and restart and their connections are killed, all chosen by a
// seeded RNG. Every operation gets a slot; its completion is counted there, so an operation that
// completes twice (duplicated) or never (lost) is found. Prints the table and the process RSS at
// 25/50/75/100% of the run; the exit status is 1 when anything was lost or duplicated.
//
//   couchkv-soak                                 # the long form: 2,000,000 operations, 200 faults
//   couchkv-soak --ops 50000 --faults 12 --seed 1  # the short form CI runs (ctest soak.short)
#include <couchkv/cluster.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace couchkv;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
  std::uint64_t ops{2'000'000};
  std::uint32_t faults{200};
  std::uint64_t seed{1};
  std::uint32_t window{512};   // operations in flight
  std::uint32_t keys{10'000};
  std::uint32_t nodes{4};
  std::uint32_t client_threads{2};
  std::chrono::milliseconds kv_timeout{1000};
  double max_failed_pct{25.0}; // a client that fails most operations is broken even if none is lost
  double max_rss_growth_pct{0}; // 0: report only
};

// kB of a /proc/self/status line ("VmRSS:", "VmHWM:").
std::uint64_t proc_status_kb(const std::string& field)
{
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(field.size()));
  }
  return 0;
}

std::uint64_t mix(std::uint64_t x) // splitmix64: the operation mix is a function of (seed, index)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class load {
public:
  load(const settings& s, async_bucket& b) : s_(s), bucket_(b), slots_(s.ops) {}

  void start()
  {
    for (std::uint32_t i = 0; i < s_.window; ++i) issue();
  }

  std::atomic<std::uint64_t> issued{0};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> duplicate_completions{0};

  std::map<std::string, std::uint64_t> failures() const
  {
    std::lock_guard lock(mutex_);
    return failures_;
  }
  // Slots of issued operations that completed zero times, and more than once.
  std::pair<std::uint64_t, std::uint64_t> audit() const
  {
    std::uint64_t lost = 0, dup = 0;
    auto n = issued.load();
    for (std::uint64_t i = 0; i < n; ++i) {
      auto c = slots_[i].load();
      if (c == 0) ++lost;
      else if (c > 1) ++dup;
    }
    return {lost, dup};
  }

private:
  void issue()
  {
    auto i = next_.fetch_add(1);
    if (i >= s_.ops) return;
    issued.fetch_add(1);
    auto r = mix(s_.seed ^ (i * 0x2545f4914f6cdd1dull));
    auto key = "soak::" + std::to_string(r % s_.keys);
    auto kind = (r >> 32) % 10;
    auto done = [this, i](std::error_code ec, auto&&) { complete(i, ec); };
    if (kind < 6) {
      bucket_.upsert(key, R"({"op":)" + std::to_string(i) + R"(,"pad":"0123456789abcdef0123456789abcdef"})", {}, done);
    } else if (kind < 9) {
      bucket_.get(key, {}, done);
    } else {
      bucket_.counter("soak::counter::" + std::to_string(r % 64), 1, {.initial = 0}, done);
    }
  }

  void complete(std::uint64_t i, std::error_code ec)
  {
    if (slots_[i].fetch_add(1) != 0) duplicate_completions.fetch_add(1);
    if (ec) {
      failed.fetch_add(1);
      std::lock_guard lock(mutex_);
      ++failures_[ec.message()];
    }
    completed.fetch_add(1);
    issue();
  }

  const settings& s_;
  async_bucket& bucket_;
  std::vector<std::atomic<std::uint8_t>> slots_;
  std::atomic<std::uint64_t> next_{0};
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> failures_;
};

// The faults, one disruptive one (failover, node stop) outstanding at a time; its recovery comes
// after a random 50-400 ms or before the next fault, whichever is first.
class fault_injector {
public:
  fault_injector(mock::cluster& m, const settings& s) : mock_(m), s_(s), rng_(s.seed) {}

  void inject()
  {
    recover();
    auto node = std::uniform_int_distribution<std::uint32_t>(0, s_.nodes - 1)(rng_);
    switch (std::uniform_int_distribution<int>(0, 5)(rng_)) {
    case 0:
    case 1:
      mock_.kill_connections(node);
      ++counts_["kill_connections"];
      return; // not disruptive: no recovery
    case 2:
      mock_.failover(node);
      ++counts_["failover"];
      pending_ = [this] { mock_.rebalance_out_and_in(); ++counts_["rebalance (back in)"]; };
      break;
    case 3:
      mock_.stop_node(node);
      mock_.failover(node);
      ++counts_["stop_node + failover"];
      pending_ = [this, node] {
        mock_.restart_node(node);
        mock_.rebalance_out_and_in();
        ++counts_["restart_node + rebalance"];
      };
      break;
    case 4:
      mock_.stop_node(node);
      ++counts_["stop_node"];
      pending_ = [this, node] { mock_.restart_node(node); ++counts_["restart_node"]; };
      break;
    default:
      mock_.rebalance_out_and_in();
      ++counts_["rebalance"];
      return;
    }
    recover_at_ = clock_type::now() + std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng_));
  }

  void tick()
  {
    if (pending_ && clock_type::now() >= recover_at_) recover();
  }
  void recover()
  {
    if (pending_) std::exchange(pending_, nullptr)();
  }
  const std::map<std::string, int>& counts() const { return counts_; }
  std::mt19937_64& rng() { return rng_; }

private:
  mock::cluster& mock_;
  const settings& s_;
  std::mt19937_64 rng_;
  std::function<void()> pending_;
  clock_type::time_point recover_at_{};
  std::map<std::string, int> counts_;
};

[[noreturn]] void usage_exit(const std::string& why)
{
  std::cerr << "couchkv-soak: " << why << "\n"
            << "usage: couchkv-soak [--ops N] [--faults N] [--seed N] [--window N] [--keys N] [--nodes N]\n"
               "                    [--timeout-ms N] [--max-failed-pct P] [--max-rss-growth-pct P]\n";
  std::exit(2);
}

settings parse(int argc, char** argv)
{
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") usage_exit("the soak run against the mock cluster");
    if (i + 1 >= argc) usage_exit(a + " needs a value");
    std::string v = argv[++i];
    double x = 0;
    try {
      std::size_t pos = 0;
      x = std::stod(v, &pos);
      if (pos != v.size() || x < 0) throw std::invalid_argument(v);
    } catch (...) {
      usage_exit(a + ": expected a non-negative number, got \"" + v + "\"");
    }
    auto whole = [&](double lo, double hi) {
      if (x < lo || x > hi || x != static_cast<double>(static_cast<std::uint64_t>(x))) {
        usage_exit(a + ": expected a whole number from " + std::to_string(static_cast<std::uint64_t>(lo)) + " to " +
                   std::to_string(static_cast<std::uint64_t>(hi)));
      }
      return static_cast<std::uint64_t>(x);
    };
    if (a == "--ops") s.ops = whole(1, 1e9);
    else if (a == "--faults") s.faults = static_cast<std::uint32_t>(whole(0, 1e6));
    else if (a == "--seed") s.seed = whole(0, 1e18);
    else if (a == "--window") s.window = static_cast<std::uint32_t>(whole(1, 60000));
    else if (a == "--keys") s.keys = static_cast<std::uint32_t>(whole(1, 1e8));
    else if (a == "--nodes") s.nodes = static_cast<std::uint32_t>(whole(2, 16));
    else if (a == "--timeout-ms") s.kv_timeout = std::chrono::milliseconds(whole(10, 600000));
    else if (a == "--max-failed-pct") s.max_failed_pct = x;
    else if (a == "--max-rss-growth-pct") s.max_rss_growth_pct = x;
    else usage_exit("unknown option \"" + a + "\"");
  }
  return s;
}

double mb(std::uint64_t kb) { return static_cast<double>(kb) / 1024.0; }

} // namespace

int main(int argc, char** argv)
{
  const settings s = parse(argc, argv);
  mock::cluster_options mo;
  mo.nodes = s.nodes;
  mock::cluster mock(mo);
  mock.start();

  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (std::uint32_t i = 0; i < s.client_threads; ++i) threads.emplace_back([&] { io.run(); });
  auto stop_io = [&] {
    guard.reset();
    io.stop();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  };

  int status = 0;
  {
    cluster c(io.get_executor(),
              mock.connection_string() + "?kv_timeout=" + std::to_string(s.kv_timeout.count()) +
                  "ms&config_poll_interval=100ms",
              {"default", "password"});
    async_bucket bucket;
    try {
      bucket = c.open_bucket().get();
    } catch (const std::system_error& e) {
      std::cerr << "couchkv-soak: cannot open the bucket: " << e.code().message() << ": " << c.last_error_detail() << "\n";
      stop_io();
      return 1;
    }

    std::cout << "soak: " << s.ops << " operations (60% upsert, 30% get, 10% counter) over " << s.keys << " keys, "
              << s.window << " in flight, " << s.nodes << " mock nodes, " << s.faults << " faults, seed " << s.seed
              << ", kv_timeout " << s.kv_timeout.count() << " ms\n"
              << std::flush;
    // Every key exists before the run, so a get that finds nothing means a write was lost.
    for (std::uint32_t first = 0; first < s.keys; first += 1000) {
      std::vector<std::pair<std::string, document_value>> items;
      for (auto k = first; k < std::min(s.keys, first + 1000); ++k) items.emplace_back("soak::" + std::to_string(k), R"({"op":-1})");
      for (const auto& [key, o] : bucket.upsert_multi(std::move(items)).get()) {
        if (!o) {
          std::cerr << "couchkv-soak: populating " << key << ": " << o.ec.message() << "\n";
          bucket.close();
          stop_io();
          return 1;
        }
      }
    }
    load l(s, bucket);
    fault_injector faults(mock, s);
    // Fault k comes near (k+1)/(faults+1) of the run, jittered by a quarter of the spacing.
    std::vector<std::uint64_t> fault_at;
    {
      const double spacing = static_cast<double>(s.ops) / (s.faults + 1);
      std::uniform_real_distribution<double> jitter(-spacing / 4, spacing / 4);
      for (std::uint32_t k = 0; k < s.faults; ++k) {
        fault_at.push_back(static_cast<std::uint64_t>(spacing * (k + 1) + jitter(faults.rng())));
      }
    }
    std::vector<std::uint64_t> rss_kb;
    const auto start = clock_type::now();
    l.start();
    std::size_t next_fault = 0;
    auto next_report = start + 5s;
    // Every operation has its own deadline (kv_timeout); once all were issued, each must have
    // completed well within a few of them.
    const auto quiesce_limit = 4 * s.kv_timeout + 10s;
    clock_type::time_point all_issued_at{};
    while (true) {
      auto done = l.completed.load();
      while (next_fault < fault_at.size() && done >= fault_at[next_fault]) {
        faults.inject();
        ++next_fault;
      }
      faults.tick();
      while (rss_kb.size() < 4 && done >= s.ops * (rss_kb.size() + 1) / 4) rss_kb.push_back(proc_status_kb("VmRSS:"));
      if (done >= s.ops) break;
      auto now = clock_type::now();
      if (l.issued.load() >= s.ops) {
        if (all_issued_at == clock_type::time_point{}) all_issued_at = now;
        else if (now - all_issued_at > quiesce_limit) break;
      }
      if (now >= next_report) {
        std::cerr << "  " << std::fixed << std::setprecision(0) << std::chrono::duration<double>(now - start).count()
                  << " s: " << done << " completed, " << l.failed.load() << " failed\n";
        next_report = now + 5s;
      }
      std::this_thread::sleep_for(2ms); // a driver's poll, not a synchronisation
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    faults.recover();
    mock.rebalance_out_and_in(); // every node back in, for the check below
    // A completion arriving after the last one expected would be a duplicate: give stragglers a
    // moment to show themselves before the audit.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(s.kv_timeout.count(), 500)));
    auto [lost, duplicated] = l.audit();
    duplicated = std::max(duplicated, l.duplicate_completions.load());
    while (rss_kb.size() < 4) rss_kb.push_back(proc_status_kb("VmRSS:"));

    // The client must still work once the faults are over.
    bool healthy = true;
    try {
      bucket.upsert("soak::final", R"({"ok":true})", {.timeout = 10s}).get();
      healthy = bucket.get("soak::final", {.timeout = 10s}).get().value == R"({"ok":true})";
    } catch (const std::system_error& e) {
      std::cout << "after the run: " << e.code().message() << "\n";
      healthy = false;
    }

    const auto issued = l.issued.load();
    const auto completed = l.completed.load();
    const auto failed = l.failed.load();
    const double failed_pct = issued ? 100.0 * static_cast<double>(failed) / static_cast<double>(issued) : 0.0;
    const double growth = rss_kb[0] ? 100.0 * (static_cast<double>(rss_kb[3]) - static_cast<double>(rss_kb[0])) /
                                          static_cast<double>(rss_kb[0])
                                    : 0.0;
    auto row = [](const std::string& name, auto value) { std::cout << "  " << std::left << std::setw(44) << name << value << "\n"; };
    std::cout << std::fixed << std::setprecision(1);
    std::cout << "faults injected\n";
    for (const auto& [what, n] : faults.counts()) row(what, n);
    std::cout << "operations\n";
    row("issued", issued);
    row("completed", completed);
    row("succeeded", completed - failed);
    row("failed", failed);
    for (const auto& [why, n] : l.failures()) row("  " + why, n);
    row("lost (never completed)", lost);
    row("duplicated", duplicated);
    std::cout << "memory\n";
    row("RSS MB at 25/50/75/100%", [&] {
      std::ostringstream o;
      o << std::fixed << std::setprecision(1) << mb(rss_kb[0]) << " / " << mb(rss_kb[1]) << " / " << mb(rss_kb[2])
        << " / " << mb(rss_kb[3]);
      return o.str();
    }());
    row("RSS growth 25% -> 100%", std::to_string(static_cast<int>(growth)) + "%");
    row("peak RSS (VmHWM) MB", mb(proc_status_kb("VmHWM:")));
    std::cout << "time\n";
    row("elapsed s", seconds);
    row("ops/s", static_cast<double>(completed) / seconds);
    row("client works afterwards", healthy ? "yes" : "NO");

    std::vector<std::string> why;
    if (lost) why.push_back(std::to_string(lost) + " operation(s) never completed");
    if (duplicated) why.push_back(std::to_string(duplicated) + " operation(s) completed more than once");
    if (completed != issued || issued != s.ops) why.push_back("completed != issued");
    if (failed_pct > s.max_failed_pct) {
      why.push_back("failed " + std::to_string(failed_pct) + "% > --max-failed-pct " + std::to_string(s.max_failed_pct));
    }
    if (s.max_rss_growth_pct > 0 && growth > s.max_rss_growth_pct) why.push_back("RSS grew by more than --max-rss-growth-pct");
    if (!healthy) why.push_back("the client did not recover after the faults");
    if (why.empty()) {
      std::cout << "result: PASS\n";
    } else {
      std::cout << "result: FAIL\n";
      for (const auto& w : why) std::cout << "  " << w << "\n";
      status = 1;
    }
    bucket.close();
    stop_io(); // before `l` goes: an operation that never completed must not call into it later
  }
  stop_io();
  return status;
}
