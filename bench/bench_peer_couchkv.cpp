// couchkv's side of bench/cxx_sdk_peer/run.sh (issue 18, item 6): the workload that
// bench/cxx_sdk_peer/peer_cxx_sdk.cpp runs through the official Couchbase C++ SDK, through the
// facade instead: the same keys, values, modes and output line.
//
//   bench_peer_couchkv <connection string> <mode> <N>
//
// Modes: get-future, get-callback, upsert-future, upsert-callback (one operation at a time) and
// get-100-in-flight (a window of 100 GETs, each completion issuing the next). The facade is used
// as an application would: a cluster on an io_context run by one thread of its own (as the SDK
// runs its own I/O thread), default cluster options; this thread issues. Only cluster/open_bucket,
// bucket.get(key, {}, token) and bucket.upsert(key, value, {}, token).
// Set-up writes the keys and warms up (2,000 operations of the mode); then N operations are timed
// and one line is printed:
//   peer=couchkv mode=<mode> n=<N> seconds=<s> ops_per_s=<rate>
#include <couchkv/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

constexpr int key_count = 100;   // the keys the workload cycles through
constexpr int value_size = 100;  // bytes per value, stored as binary
constexpr int window_size = 100; // get-100-in-flight
constexpr int warm_up = 2000;    // operations before the timed ones

std::vector<std::string> make_keys()
{
  std::vector<std::string> keys;
  for (int i = 0; i < key_count; ++i) keys.push_back("peer::" + std::to_string(i));
  return keys;
}
const std::vector<std::string> keys = make_keys();
const couchkv::document_value value{couchkv::binary(std::string(value_size, 'v'))};

[[noreturn]] void fail(const char* what, std::error_code ec)
{
  std::fprintf(stderr, "bench_peer_couchkv: %s: %s\n", what, ec.message().c_str());
  std::exit(1);
}

// n operations one at a time, each waiting on its std::future.
void get_future(couchkv::async_bucket& b, int n)
{
  for (int i = 0; i < n; ++i) b.get(keys[i % key_count], {}, couchkv::use_future).get();
}
void upsert_future(couchkv::async_bucket& b, int n)
{
  for (int i = 0; i < n; ++i) b.upsert(keys[i % key_count], value, {}, couchkv::use_future).get();
}

// n operations one at a time, each issued from the previous one's callback (on the I/O thread).
void get_callback(couchkv::async_bucket& b, int n)
{
  std::promise<void> done;
  std::function<void(int)> next = [&](int i) {
    if (i == n) return done.set_value();
    b.get(keys[i % key_count], {}, [&, i](std::error_code ec, couchkv::get_result) {
      if (ec) fail("get", ec);
      next(i + 1);
    });
  };
  next(0);
  done.get_future().get();
}
void upsert_callback(couchkv::async_bucket& b, int n)
{
  std::promise<void> done;
  std::function<void(int)> next = [&](int i) {
    if (i == n) return done.set_value();
    b.upsert(keys[i % key_count], value, {}, [&, i](std::error_code ec, couchkv::mutation_result) {
      if (ec) fail("upsert", ec);
      next(i + 1);
    });
  };
  next(0);
  done.get_future().get();
}

// n GETs, window_size in flight: each completion issues the next until n have been issued.
void get_in_flight(couchkv::async_bucket& b, int n)
{
  std::promise<void> done;
  std::atomic<int> issued{0};
  std::atomic<int> completed{0};
  std::function<void()> issue = [&] {
    const int i = issued.fetch_add(1);
    if (i >= n) return;
    b.get(keys[i % key_count], {}, [&](std::error_code ec, couchkv::get_result) {
      if (ec) fail("get", ec);
      if (completed.fetch_add(1) + 1 == n) done.set_value();
      else issue();
    });
  };
  for (int j = 0; j < std::min(window_size, n); ++j) issue();
  done.get_future().get();
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_peer_couchkv <connection string> <get-future|get-callback|upsert-future|"
                         "upsert-callback|get-100-in-flight> <N>\n");
    return 2;
  }
  const std::string connstr = argv[1];
  const std::string mode = argv[2];
  const int n = std::atoi(argv[3]);
  void (*run)(couchkv::async_bucket&, int) = nullptr;
  if (mode == "get-future") run = get_future;
  else if (mode == "get-callback") run = get_callback;
  else if (mode == "upsert-future") run = upsert_future;
  else if (mode == "upsert-callback") run = upsert_callback;
  else if (mode == "get-100-in-flight") run = get_in_flight;
  else {
    std::fprintf(stderr, "bench_peer_couchkv: unknown mode %s\n", mode.c_str());
    return 2;
  }

  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  int rc = 0;
  try {
    couchkv::cluster c(io.get_executor(), connstr, couchkv::credentials{"default", "password"});
    auto b = c.open_bucket({}, couchkv::use_future).get();
    upsert_future(b, key_count); // the keys every GET reads
    run(b, warm_up);             // a fixed count, so that it cancels in callgrind's two-N difference
    const auto t0 = std::chrono::steady_clock::now();
    run(b, n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("peer=couchkv mode=%s n=%d seconds=%.4f ops_per_s=%.0f\n", mode.c_str(), n, s, n / s);
    std::fflush(stdout);
    b.close();
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "bench_peer_couchkv: %s\n", e.what());
    rc = 1;
  }
  guard.reset();
  io_thread.join();
  return rc;
}
