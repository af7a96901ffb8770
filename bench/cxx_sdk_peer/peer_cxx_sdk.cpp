// The official Couchbase C++ SDK (couchbase-cxx-client) running the workload of
// bench/bench_peer_couchkv.cpp, for bench/cxx_sdk_peer/run.sh: the same keys, values, modes and
// output line, so the two programs differ only in the client library.
//
//   peer_cxx_sdk <connection string> <mode> <N>
//
// Modes: get-future, get-callback, upsert-future, upsert-callback (one operation at a time) and
// get-100-in-flight (a window of 100 GETs, each completion issuing the next). The SDK is used as
// its documentation shows: cluster::connect, the default collection, the future API and the
// callback API, default cluster options. It runs its own I/O thread; this thread issues.
// Set-up writes the keys and warms up (2,000 operations of the mode); then N operations are
// timed and one line is printed:
//   peer=cxx-sdk mode=<mode> n=<N> seconds=<s> ops_per_s=<rate>
#include <couchbase/cluster.hxx>
#include <couchbase/codec/codec_flags.hxx>
#include <couchbase/collection.hxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int key_count = 100;    // the keys the workload cycles through
constexpr int value_size = 100;   // bytes per value, stored as binary
constexpr int window_size = 100;  // get-100-in-flight
constexpr int warm_up = 2000;     // operations before the timed ones

std::vector<std::string> make_keys()
{
  std::vector<std::string> keys;
  for (int i = 0; i < key_count; ++i) keys.push_back("peer::" + std::to_string(i));
  return keys;
}
const std::vector<std::string> keys = make_keys();

couchbase::codec::encoded_value make_value()
{
  return {couchbase::codec::binary(value_size, std::byte{'v'}), couchbase::codec::codec_flags::binary_common_flags};
}
const couchbase::codec::encoded_value value = make_value();

[[noreturn]] void fail(const std::string& what, const couchbase::error& err)
{
  std::fprintf(stderr, "peer_cxx_sdk: %s: %s (%s)\n", what.c_str(), err.ec().message().c_str(), err.message().c_str());
  std::exit(1);
}

// n operations one at a time, each waiting on its std::future.
void get_future(const couchbase::collection& c, int n)
{
  for (int i = 0; i < n; ++i) {
    auto [err, r] = c.get(keys[i % key_count], {}).get();
    if (err) fail("get", err);
  }
}
void upsert_future(const couchbase::collection& c, int n)
{
  for (int i = 0; i < n; ++i) {
    auto [err, r] = c.upsert(keys[i % key_count], value, {}).get();
    if (err) fail("upsert", err);
  }
}

// n operations one at a time, each issued from the previous one's callback (on the SDK's thread).
void get_callback(const couchbase::collection& c, int n)
{
  std::promise<void> done;
  std::function<void(int)> next = [&](int i) {
    if (i == n) return done.set_value();
    c.get(keys[i % key_count], {}, [&, i](couchbase::error err, couchbase::get_result) {
      if (err) fail("get", err);
      next(i + 1);
    });
  };
  next(0);
  done.get_future().get();
}
void upsert_callback(const couchbase::collection& c, int n)
{
  std::promise<void> done;
  std::function<void(int)> next = [&](int i) {
    if (i == n) return done.set_value();
    c.upsert(keys[i % key_count], value, {}, [&, i](couchbase::error err, couchbase::mutation_result) {
      if (err) fail("upsert", err);
      next(i + 1);
    });
  };
  next(0);
  done.get_future().get();
}

// n GETs, window_size in flight: each completion issues the next until n have been issued.
void get_in_flight(const couchbase::collection& c, int n)
{
  std::promise<void> done;
  std::atomic<int> issued{0};
  std::atomic<int> completed{0};
  std::function<void()> issue = [&] {
    const int i = issued.fetch_add(1);
    if (i >= n) return;
    c.get(keys[i % key_count], {}, [&](couchbase::error err, couchbase::get_result) {
      if (err) fail("get", err);
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
    std::fprintf(stderr, "usage: peer_cxx_sdk <connection string> <get-future|get-callback|upsert-future|"
                         "upsert-callback|get-100-in-flight> <N>\n");
    return 2;
  }
  const std::string connstr = argv[1];
  const std::string mode = argv[2];
  const int n = std::atoi(argv[3]);
  std::function<void(const couchbase::collection&, int)> run;
  if (mode == "get-future") run = get_future;
  else if (mode == "get-callback") run = get_callback;
  else if (mode == "upsert-future") run = upsert_future;
  else if (mode == "upsert-callback") run = upsert_callback;
  else if (mode == "get-100-in-flight") run = get_in_flight;
  else {
    std::fprintf(stderr, "peer_cxx_sdk: unknown mode %s\n", mode.c_str());
    return 2;
  }

  auto [connect_err, cluster] = couchbase::cluster::connect(connstr, couchbase::cluster_options("default", "password")).get();
  if (connect_err) fail("connect " + connstr, connect_err);
  {
    auto coll = cluster.bucket("default").default_collection();
    upsert_future(coll, key_count); // the keys every GET reads
    run(coll, warm_up); // a fixed count, so that it cancels in callgrind's two-N difference
    const auto t0 = std::chrono::steady_clock::now();
    run(coll, n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("peer=cxx-sdk mode=%s n=%d seconds=%.4f ops_per_s=%.0f\n", mode.c_str(), n, s, n / s);
    std::fflush(stdout);
  }
  cluster.close().get();
  return 0;
}
