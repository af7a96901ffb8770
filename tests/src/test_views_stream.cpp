// A 200k-row view streamed through query_stream with the mock in its own process (couchkv-mock),
// so this process's memory is the client's alone: it must stay flat while a body of tens of MB
// passes through. Then the server dies mid-stream: the query ends with an error, not a hang.
#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <async_test_support.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace couchkv;
using couchkv::test::io_thread;
using namespace std::chrono_literals;

namespace {

std::size_t rss_kib()
{
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

// couchkv-mock as a child process; its first stdout line is the connection string.
struct mock_process {
  pid_t pid{-1};
  std::string connstr;
  mock_process()
  {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::execl(COUCHKV_MOCK_EXE, COUCHKV_MOCK_EXE, "--nodes", "2", "--vbuckets", "64", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char buf[4096];
    if (!std::fgets(buf, sizeof buf, f)) throw std::runtime_error("couchkv-mock printed nothing");
    connstr = buf;
    while (!connstr.empty() && (connstr.back() == '\n' || connstr.back() == '\r')) connstr.pop_back();
    // Keep reading its output in the background so it never blocks on a full pipe.
    std::thread([f] {
      char b[4096];
      while (std::fgets(b, sizeof b, f)) {
      }
      std::fclose(f);
    }).detach();
  }
  void kill_now()
  {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  ~mock_process() { kill_now(); }
};

} // namespace

TEST(views_stream, two_hundred_thousand_rows_in_bounded_memory_then_the_server_dies)
{
  constexpr int n = 200'000;
  mock_process mock;
  io_thread t;
  cluster c(t.io.get_executor(), mock.connstr + "?kv_timeout=10s", credentials{"default", "password"});
  auto bucket = c.open_bucket().get();

  design_document dd;
  dd.name = "dev_big";
  // Each row carries a 120-byte value: the body is ~35 MB.
  dd.views["all"] = {R"(function (doc, meta) { emit(meta.id, doc.pad); })", std::nullopt};
  bucket.upsert_design_document(dd).get();
  const std::string pad(120, 'p');
  for (int base = 0; base < n; base += 20'000) {
    std::vector<std::pair<std::string, document_value>> items;
    for (int i = base; i < base + 20'000; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "row::%07d", i);
      items.emplace_back(key, R"({"pad":")" + pad + R"("})");
    }
    for (auto& [k, o] : bucket.upsert_multi(std::move(items)).get()) ASSERT_TRUE(o) << k << " " << o.ec.message();
  }
  // Build the index first (the mock's work, not the client's).
  auto first = bucket.query(view_query("big", "all", true).limit(1).stale(view_stale::false_)).get();
  ASSERT_EQ(first.meta.total_rows, static_cast<std::uint64_t>(n));

  const auto baseline = rss_kib();
  std::atomic<std::size_t> peak{baseline};
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      auto r = rss_kib();
      if (r > peak) peak = r;
      std::this_thread::sleep_for(2ms);
    }
  });
  std::uint64_t rows = 0, bytes = 0;
  std::string last;
  bool ordered = true;
  auto meta = bucket
                  .query_stream(view_query("big", "all", true).stale(view_stale::ok),
                                [&](view_row&& r) {
                                  if (!last.empty() && r.id <= last) ordered = false;
                                  last = r.id;
                                  bytes += r.key.size() + r.value.size() + r.id.size();
                                  ++rows;
                                  return true;
                                })
                  .get();
  sampling = false;
  sampler.join();
  EXPECT_EQ(rows, static_cast<std::uint64_t>(n));
  EXPECT_EQ(meta.total_rows, static_cast<std::uint64_t>(n));
  EXPECT_TRUE(ordered);
  EXPECT_GT(bytes, 25u * 1024 * 1024);
  // Holding the rows would take well over 40 MB; streaming keeps the client within a few MB.
  EXPECT_LT(peak - baseline, 12u * 1024) << "client RSS grew by " << (peak - baseline) << " KiB while streaming";

  // The server dies after the first rows: the query completes, once, with a connection error.
  std::atomic<int> seen{0};
  auto f = bucket.query_stream(view_query("big", "all", true).stale(view_stale::ok), [&](view_row&&) {
    if (++seen == 1000) mock.kill_now();
    return true;
  });
  ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
  try {
    f.get();
    ADD_FAILURE() << "a stream cut by a dead server must fail";
  } catch (const std::system_error& e) {
    EXPECT_TRUE(e.code() == protocol::client_errc::connection_closed || e.code() == view_errc::truncated_response)
        << e.code().message();
  }
  EXPECT_GE(seen.load(), 1000);
  EXPECT_LT(seen.load(), n);
  bucket.close();
}
