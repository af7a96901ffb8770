// Operations thrown at a bucket whose connections are not up yet (issue 9): a burst of N GETs
// issued the moment open_bucket() returns, against the in-process mock cluster. The bucket opens
// its KV pools on first use, so the burst meets pools that are still connecting (TCP, HELLO,
// SASL, SELECT_BUCKET). Side by side in one run:
//   one   a single GET on a fresh bucket: the cost of bringing a pool up, the floor for the burst
//   warm  the same burst on the same bucket once its pools are up
//   cold  the burst on a fresh bucket
// Ideal: cold ~= one + warm. Operations that find no connection wait for one; if they backed off
// instead, the first would complete long after the pool is up.
// The mock serves from its own thread in this process; the placement is the process's CPU set
// (run it under taskset).
//
//   bench_cold_start [ops] [nodes] [rounds]
#include "facade_load.hpp"

#include <couchkv_mock/cluster.hpp>

using namespace couchkv;
using namespace couchkv::bench;

namespace {

struct burst_times {
  double first_ms{0};
  double all_ms{0};
};

// Issues `ops` GETs at once (from this thread, before the io_context runs) and runs the
// io_context until every one has completed; times from the first issue.
burst_times burst(facade_client& c, int ops)
{
  burst_times t;
  std::atomic<int> completed{0};
  clk::time_point t0;
  c.run_threads(1, [&](int, auto done) {
    t0 = clk::now();
    for (int i = 0; i < ops; ++i) {
      c.bucket().get(key_of(i % num_keys), {}, [&, done, ops](std::error_code ec, get_result) {
        if (ec) fail("couchkv get: " + ec.message());
        const int n = completed.fetch_add(1) + 1;
        if (n == 1) t.first_ms = std::chrono::duration<double, std::milli>(clk::now() - t0).count();
        if (n == ops) {
          t.all_ms = std::chrono::duration<double, std::milli>(clk::now() - t0).count();
          done();
        }
      });
    }
  });
  return t;
}

double median(std::vector<double> v)
{
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
  const int ops = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int nodes = argc > 2 ? std::atoi(argv[2]) : 1;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  watchdog dog(std::chrono::seconds(600), "bench_cold_start");
  mock::cluster_options o;
  o.nodes = static_cast<std::size_t>(nodes);
  mock::cluster m(o);
  m.start();
  const credentials creds{"default", "password"};
  {
    facade_client c(m.connection_string(), creds, 1);
    std::vector<std::pair<std::string, document_value>> items;
    for (int i = 0; i < num_keys; ++i) items.emplace_back(key_of(i), binary(std::string(value_size, 'v')));
    for (auto& [k, r] : c.wait(c.bucket().upsert_multi(items), "couchkv preload"))
      if (!r) fail("couchkv preload " + k + ": " + r.ec.message());
  }
  std::vector<double> one, warm, cold_first, cold_all;
  for (int r = 0; r < rounds; ++r) {
    {
      facade_client c(m.connection_string(), creds, 1);
      one.push_back(burst(c, 1).all_ms);
    }
    facade_client c(m.connection_string(), creds, 1);
    auto cold = burst(c, ops);
    cold_first.push_back(cold.first_ms);
    cold_all.push_back(cold.all_ms);
    warm.push_back(burst(c, ops).all_ms);
  }
  m.stop();

  std::printf("burst of %d GETs against the in-process mock (%d node%s), 100-byte values, median of %d rounds; "
              "process CPUs %s\n",
              ops, nodes, nodes == 1 ? "" : "s", rounds, cpu_list().c_str());
  std::printf("  %-42s %9.2f ms\n", "one GET on a fresh bucket", median(one));
  std::printf("  %-42s %9.2f ms\n", "burst on a warm bucket, all done", median(warm));
  std::printf("  %-42s %9.2f ms\n", "burst on a fresh bucket, first done", median(cold_first));
  std::printf("  %-42s %9.2f ms   ratio to (one + warm) %.2f\n", "burst on a fresh bucket, all done", median(cold_all),
              median(cold_all) / (median(one) + median(warm)));
  return 0;
}
