#include "pillowfight.hpp"

#include "histogram.hpp"

#include <couchkv/cluster.hpp>

#ifdef COUCHKV_WITH_MOCK
#include <couchkv_mock/cluster.hpp>
#endif

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <functional>
#include <future>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace couchkv::cli {

namespace {

using clock = std::chrono::steady_clock;

int parse_durability(const std::string& opt, const std::string& s, int hi)
{
  if (s == "-1") return -1; // as many as the bucket has
  return static_cast<int>(parse_uint(opt, s, 0, static_cast<std::uint64_t>(hi)));
}

// "10" (seconds), "10s", "500ms", "2m".
std::chrono::milliseconds parse_duration(const std::string& opt, const std::string& s)
{
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  auto unit = s.substr(digits);
  std::uint64_t scale = unit.empty() || unit == "s" ? 1000 : unit == "ms" ? 1 : unit == "m" ? 60000 : 0;
  if (digits == 0 || scale == 0 || digits > 9) {
    throw usage_error(opt + ": expected a duration such as 30, 30s, 500ms or 2m, got \"" + s + "\"");
  }
  auto ms = std::stoull(s.substr(0, digits)) * scale;
  if (ms == 0) throw usage_error(opt + ": must be more than zero");
  return std::chrono::milliseconds(ms);
}

// A JSON document of exactly n bytes: digits below 8 bytes, else {"p":"xxx..."}.
std::string json_of_size(std::size_t n, char fill)
{
  if (n < 8) return std::string(n, '1');
  return R"({"p":")" + std::string(n - 8, fill) + R"("})";
}

std::string format_key(const std::string& prefix, std::uint64_t i)
{
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(i));
  return prefix + digits;
}

// Everything the threads share; counters are read by the controller while they run.
struct shared_state {
  explicit shared_state(const pillowfight_options& o) : opts(o) {}
  const pillowfight_options& opts;
  std::vector<encoded_value> values; // a pool of documents of the sizes asked for
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> claimed{0}; // workload operations handed out (for --num-ops)
  clock::time_point deadline{clock::time_point::max()};
};

enum class phase { populate, workload };

// One thread: its own io_context, cluster and bucket; batch_size operations in flight.
class worker {
public:
  worker(shared_state& shared, unsigned index)
      : shared_(shared), index_(index), rng_(shared.opts.seed * 1000003u + index)
  {
  }
  ~worker() { shutdown(); }

  void start_thread()
  {
    thread_ = std::thread([this] { io_.run(); });
  }

  // Opens the bucket; the future says how it went (error text on failure).
  std::future<std::string> open()
  {
    auto p = std::make_shared<std::promise<std::string>>();
    auto f = p->get_future();
    const auto& c = shared_.opts.conn;
    try {
      cluster_.emplace(io_.get_executor(), c.connstr, credentials{c.user, c.password});
    } catch (const std::system_error& e) {
      p->set_value(std::string(e.what()));
      return f;
    }
    cluster_->open_bucket({}, [this, p](std::error_code ec, async_bucket b) {
      if (ec) {
        p->set_value(ec.message() + ": " + cluster_->last_error_detail());
        return;
      }
      bucket_ = std::move(b);
      p->set_value({});
    });
    return f;
  }

  // Runs a phase on the worker's thread; `done` is called (there) when its last operation completed.
  void start(phase ph, std::function<void()> done)
  {
    asio::post(io_, [this, ph, done = std::move(done)]() mutable {
      phase_ = ph;
      done_ = std::move(done);
      finished_ = false;
      next_populate_ = index_;
      for (unsigned i = 0; i < shared_.opts.batch_size; ++i) issue();
      if (in_flight_ == 0) finish();
    });
  }

  // Latencies since the last call (the progress line), moved out under the lock.
  void take_interval(histogram& into)
  {
    std::lock_guard lock(mutex_);
    into.merge(interval_);
    interval_.reset();
  }

  void shutdown()
  {
    if (!thread_.joinable()) return;
    if (bucket_.valid()) bucket_.close();
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> failed{0};
  std::uint64_t gets{0}, sets{0};                  // read after the phase ended
  std::map<std::string, std::uint64_t> errors;     // by reason, idem

private:
  void issue()
  {
    const auto& o = shared_.opts;
    if (shared_.stop.load(std::memory_order_relaxed)) return;
    std::uint64_t item = 0;
    bool set = true;
    if (phase_ == phase::populate) {
      if (next_populate_ >= o.num_items) return;
      item = next_populate_;
      next_populate_ += o.threads;
    } else {
      if (o.num_ops && shared_.claimed.fetch_add(1, std::memory_order_relaxed) >= *o.num_ops) return;
      if (clock::now() >= shared_.deadline) return;
      item = std::uniform_int_distribution<std::uint64_t>(0, o.num_items - 1)(rng_);
      set = std::uniform_int_distribution<unsigned>(0, 99)(rng_) < o.set_pct;
    }
    ++in_flight_;
    auto key = format_key(o.key_prefix, item);
    auto started = clock::now();
    if (set) {
      ++sets;
      const auto& v = shared_.values[std::uniform_int_distribution<std::size_t>(0, shared_.values.size() - 1)(rng_)];
      mutation_options mo{.durability = {.persist_to = o.persist_to, .replicate_to = o.replicate_to}, .timeout = o.conn.timeout};
      bucket_.upsert(std::move(key), document_value(v), mo,
                     [this, started](std::error_code ec, const mutation_result&) { complete(ec, started); });
    } else {
      ++gets;
      bucket_.get(std::move(key), {.timeout = o.conn.timeout},
                  [this, started](std::error_code ec, const get_result&) { complete(ec, started); });
    }
  }

  void complete(std::error_code ec, clock::time_point started)
  {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - started).count();
    {
      std::lock_guard lock(mutex_);
      interval_.record(static_cast<std::uint64_t>(ns));
    }
    if (ec) {
      ++errors[ec.message()];
      failed.fetch_add(1, std::memory_order_relaxed);
    }
    completed.fetch_add(1, std::memory_order_relaxed);
    --in_flight_;
    issue();
    if (in_flight_ == 0) finish();
  }

  void finish()
  {
    if (finished_) return;
    finished_ = true;
    if (done_) std::exchange(done_, nullptr)();
  }

  shared_state& shared_;
  unsigned index_;
  std::mt19937_64 rng_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::optional<cluster> cluster_;
  async_bucket bucket_;
  std::thread thread_;
  phase phase_{phase::populate};
  std::function<void()> done_;
  bool finished_{false};
  std::uint64_t next_populate_{0};
  unsigned in_flight_{0};
  std::mutex mutex_;
  histogram interval_;
};

struct phase_report {
  std::uint64_t ops{0}, failed{0}, gets{0}, sets{0};
  std::map<std::string, std::uint64_t> errors;
  double seconds{0};
  histogram latency;
  bool interrupted{false};
};

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// Runs one phase on every worker: progress once a second, Ctrl-C stops issuing.
phase_report run_phase(phase ph, std::vector<std::unique_ptr<worker>>& workers, shared_state& shared,
                       asio::io_context& ctl, bool& interrupted)
{
  const auto& o = shared.opts;
  phase_report rep;
  std::vector<std::uint64_t> base_done, base_failed;
  for (auto& w : workers) {
    base_done.push_back(w->completed.load());
    base_failed.push_back(w->failed.load());
    w->gets = w->sets = 0;
    w->errors.clear();
    histogram drop;
    w->take_interval(drop);
  }
  std::size_t running = workers.size();
  const auto start = clock::now();
  if (ph == phase::workload && o.duration) shared.deadline = start + *o.duration;
  for (auto& w : workers) {
    w->start(ph, [&ctl, &running] { asio::post(ctl, [&running] { --running; }); });
  }
  auto next_tick = start + std::chrono::seconds(1);
  std::uint64_t last_total = 0;
  auto last_tick = start;
  auto total_done = [&] {
    std::uint64_t n = 0, f = 0;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      n += workers[i]->completed.load() - base_done[i];
      f += workers[i]->failed.load() - base_failed[i];
    }
    return std::pair{n, f};
  };
  while (running > 0) {
    ctl.run_one_until(next_tick);
    if (ctl.stopped()) ctl.restart();
    auto now = clock::now();
    if (now < next_tick) continue;
    histogram interval;
    for (auto& w : workers) w->take_interval(interval);
    rep.latency.merge(interval);
    auto [done, failed] = total_done();
    if (o.progress) {
      auto secs = std::chrono::duration<double>(now - last_tick).count();
      std::ostringstream line;
      line << std::fixed << std::setprecision(1) << "[" << std::setw(6)
           << std::chrono::duration<double>(now - start).count() << " s] "
           << (ph == phase::populate ? "populate " : "") << std::setprecision(0)
           << static_cast<double>(done - last_total) / secs << " ops/s  p50 " << std::setprecision(1)
           << us(interval.percentile(50)) << " us  p99 " << us(interval.percentile(99)) << " us  total " << done
           << "  errors " << failed << "\n";
      std::cerr << line.str() << std::flush;
    }
    last_total = done;
    last_tick = now;
    next_tick = now + std::chrono::seconds(1);
  }
  rep.seconds = std::chrono::duration<double>(clock::now() - start).count();
  histogram rest;
  for (auto& w : workers) w->take_interval(rest);
  rep.latency.merge(rest);
  std::tie(rep.ops, rep.failed) = total_done();
  for (auto& w : workers) {
    rep.gets += w->gets;
    rep.sets += w->sets;
    for (auto& [why, n] : w->errors) rep.errors[why] += n;
  }
  rep.interrupted = interrupted;
  return rep;
}

nlohmann::json to_json(const phase_report& r)
{
  nlohmann::json j;
  j["operations"] = r.ops;
  j["gets"] = r.gets;
  j["sets"] = r.sets;
  j["seconds"] = r.seconds;
  j["ops_per_second"] = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0.0;
  j["errors"] = r.failed;
  j["errors_by_reason"] = r.errors;
  j["interrupted"] = r.interrupted;
  const auto& h = r.latency;
  j["latency_ns"] = {{"min", h.min()},           {"mean", h.mean()},           {"p50", h.percentile(50)},
                     {"p90", h.percentile(90)},  {"p99", h.percentile(99)},    {"p99.9", h.percentile(99.9)},
                     {"max", h.max()}};
  return j;
}

void print_text(std::ostream& out, const char* title, const phase_report& r)
{
  const auto& h = r.latency;
  out << std::fixed << std::setprecision(3);
  out << title << (r.interrupted ? " (interrupted)" : "") << "\n";
  out << "  operations   " << r.ops << " (" << r.gets << " get, " << r.sets << " set)\n";
  out << "  elapsed      " << r.seconds << " s\n";
  out << std::setprecision(0);
  out << "  throughput   " << (r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0.0) << " ops/s\n";
  out << "  errors       " << r.failed << "\n";
  for (const auto& [why, n] : r.errors) out << "    " << escape_control(why) << ": " << n << "\n";
  out << std::setprecision(1);
  out << "  latency us   min " << us(h.min()) << "  mean " << h.mean() / 1000.0 << "  p50 " << us(h.percentile(50))
      << "  p90 " << us(h.percentile(90)) << "  p99 " << us(h.percentile(99)) << "  p99.9 " << us(h.percentile(99.9))
      << "  max " << us(h.max()) << "\n";
}

} // namespace

void pillowfight_usage(std::ostream& out)
{
  out << "usage: couchkv [--connstr S | --mock] [-u U] [-P P] [--timeout MS] pillowfight [OPTIONS]\n"
         "  --threads N         threads, each with its own connections (1)\n"
         "  --batch-size N      operations in flight per thread (100)\n"
         "  --num-items N       key space (1000)\n"
         "  --min-size N, --max-size N, --value-size N   value sizes in bytes (50..5120)\n"
         "  --set-pct N         percentage of operations that are upserts (33)\n"
         "  --num-ops N         stop after N operations\n"
         "  --duration T        stop after T (30, 30s, 500ms, 2m); neither: until Ctrl-C\n"
         "  --persist-to N, --replicate-to N             durability of every upsert (-1: all)\n"
         "  --key-prefix S      keys are S followed by a 20-digit number\n"
         "  --populate-only     store every key once, then stop\n"
         "  --no-population     start the workload at once (gets of missing keys fail)\n"
         "  --seed N            random seed (0)\n"
         "  --json              summary as JSON\n"
         "  --no-progress       no progress line on stderr\n"
         "  --connstr S, -u U, -P P, --mock, --timeout MS may also follow \"pillowfight\".\n";
}

pillowfight_options parse_pillowfight_options(const std::vector<std::string>& args, connection_args conn)
{
  constexpr std::uint64_t max_value_size = 20 << 20; // the server's item size limit
  pillowfight_options o;
  o.conn = std::move(conn);
  bool min_given = false, max_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto need = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--threads" || a == "-t") o.threads = static_cast<unsigned>(parse_uint(a, need(), 1, 256));
    else if (a == "--batch-size" || a == "-B") o.batch_size = static_cast<unsigned>(parse_uint(a, need(), 1, 65536));
    else if (a == "--num-items" || a == "-I") o.num_items = parse_uint(a, need(), 1, 1'000'000'000'000);
    else if (a == "--min-size" || a == "-m") {
      o.min_size = parse_uint(a, need(), 1, max_value_size);
      min_given = true;
    } else if (a == "--max-size" || a == "-M") {
      o.max_size = parse_uint(a, need(), 1, max_value_size);
      max_given = true;
    } else if (a == "--value-size") {
      o.min_size = o.max_size = parse_uint(a, need(), 1, max_value_size);
      min_given = max_given = true;
    } else if (a == "--set-pct" || a == "-r") o.set_pct = static_cast<unsigned>(parse_uint(a, need(), 0, 100));
    else if (a == "--num-ops") o.num_ops = parse_uint(a, need(), 1, ~std::uint64_t{0} / 2);
    else if (a == "--duration") o.duration = parse_duration(a, need());
    else if (a == "--persist-to") o.persist_to = parse_durability(a, need(), 4);
    else if (a == "--replicate-to") o.replicate_to = parse_durability(a, need(), 3);
    else if (a == "--key-prefix" || a == "-p") {
      o.key_prefix = need();
      if (o.key_prefix.size() > 200) throw usage_error("--key-prefix: at most 200 bytes (keys are limited to 250)");
    } else if (a == "--populate-only") o.populate_only = true;
    else if (a == "--no-population") o.no_population = true;
    else if (a == "--seed") o.seed = parse_uint(a, need(), 0, ~std::uint64_t{0});
    else if (a == "--json") o.json = true;
    else if (a == "--no-progress") o.progress = false;
    else if (a == "--connstr") o.conn.connstr = need();
    else if (a == "--user" || a == "-u") o.conn.user = need();
    else if (a == "--password" || a == "-P") o.conn.password = need();
    else if (a == "--mock") o.conn.mock = true;
    else if (a == "--timeout") o.conn.timeout = std::chrono::milliseconds(parse_uint(a, need(), 1, 3'600'000));
    else throw usage_error("unknown option \"" + a + "\"");
  }
  if (min_given && !max_given && o.max_size < o.min_size) o.max_size = o.min_size;
  if (max_given && !min_given && o.min_size > o.max_size) o.min_size = o.max_size;
  if (o.min_size > o.max_size) {
    throw usage_error("--min-size (" + std::to_string(o.min_size) + ") is above --max-size (" +
                      std::to_string(o.max_size) + ")");
  }
  if (o.populate_only && o.no_population) throw usage_error("--populate-only and --no-population exclude each other");
  if (o.conn.mock && !o.conn.connstr.empty()) throw usage_error("give --connstr or --mock, not both");
  if (!o.conn.mock && o.conn.connstr.empty()) throw usage_error("give --connstr or --mock");
  return o;
}

int pillowfight_main(const std::vector<std::string>& args, connection_args conn)
{
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      pillowfight_usage(std::cout);
      return 0;
    }
  }
  pillowfight_options o;
  try {
    o = parse_pillowfight_options(args, std::move(conn));
  } catch (const usage_error& e) {
    std::cerr << "couchkv pillowfight: " << e.what() << "\n";
    pillowfight_usage(std::cerr);
    return 2;
  }
#ifdef COUCHKV_WITH_MOCK
  std::unique_ptr<mock::cluster> mock_cluster;
  if (o.conn.mock) {
    mock_cluster = std::make_unique<mock::cluster>();
    mock_cluster->start();
    o.conn.connstr = mock_cluster->connection_string();
    if (o.conn.user.empty()) o.conn.user = "default";
    if (o.conn.password.empty()) o.conn.password = "password";
    std::cerr << "embedded mock cluster: " << o.conn.connstr << "\n";
  }
#else
  if (o.conn.mock) {
    std::cerr << "couchkv pillowfight: this build has no mock cluster (configure with COUCHKV_BUILD_MOCK=ON)\n";
    return 2;
  }
#endif

  shared_state shared{o};
  {
    std::mt19937_64 rng(o.seed);
    const std::size_t pool = o.min_size == o.max_size ? 1 : 64;
    for (std::size_t i = 0; i < pool; ++i) {
      auto n = std::uniform_int_distribution<std::size_t>(o.min_size, o.max_size)(rng);
      std::error_code ec;
      shared.values.push_back(json_text(json_of_size(n, static_cast<char>('a' + i % 26)), ec));
      if (ec) {
        std::cerr << "couchkv pillowfight: internal error building a value: " << ec.message() << "\n";
        return 1;
      }
    }
  }

  // Ctrl-C: stop issuing; what is in flight completes and the summary is printed. A second one
  // gives up at once.
  asio::io_context ctl;
  bool interrupted = false;
  asio::signal_set signals(ctl, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (interrupted) std::_Exit(130);
    interrupted = true;
    shared.stop = true;
    std::cerr << "interrupted: waiting for operations in flight (Ctrl-C again to quit at once)\n";
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<worker>(shared, i));
  for (auto& w : workers) w->start_thread();
  std::vector<std::future<std::string>> opened;
  for (auto& w : workers) opened.push_back(w->open());
  for (auto& f : opened) {
    auto err = f.get();
    if (!err.empty()) {
      std::cerr << "couchkv pillowfight: cannot open the bucket: " << escape_control(err) << "\n";
      return 1;
    }
  }

  nlohmann::json j;
  j["threads"] = o.threads;
  j["batch_size"] = o.batch_size;
  j["num_items"] = o.num_items;
  j["value_size"] = {o.min_size, o.max_size};
  j["set_pct"] = o.set_pct;
  j["persist_to"] = o.persist_to;
  j["replicate_to"] = o.replicate_to;
  if (!o.json) {
    std::cout << "pillowfight: " << o.threads << " thread(s) x " << o.batch_size << " in flight, " << o.num_items
              << " keys, values " << o.min_size << ".." << o.max_size << " bytes, " << o.set_pct << "% sets";
    if (o.persist_to || o.replicate_to) std::cout << ", persist_to " << o.persist_to << " replicate_to " << o.replicate_to;
    std::cout << "\n";
  }
  if (!o.no_population) {
    auto pop = run_phase(phase::populate, workers, shared, ctl, interrupted);
    if (o.json) j["population"] = to_json(pop);
    else if (o.populate_only || interrupted) print_text(std::cout, "population", pop);
    else std::cerr << "populated " << pop.ops << " items in " << std::fixed << std::setprecision(2) << pop.seconds
                   << " s (" << pop.failed << " errors)\n";
  }
  if (!o.populate_only && !interrupted) {
    auto work = run_phase(phase::workload, workers, shared, ctl, interrupted);
    if (o.json) j["workload"] = to_json(work);
    else print_text(std::cout, "pillowfight summary", work);
  }
  if (o.json) std::cout << j.dump(2) << "\n";
  std::cout << std::flush;
  for (auto& w : workers) w->shutdown();
  return 0;
}

} // namespace couchkv::cli
