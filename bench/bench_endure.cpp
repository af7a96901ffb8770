// Endure latency against the mock cluster's simulated replication and persistence delays (issue 7).
// For each (replication, persistence) delay pair and each durability requirement, runs N
// sequential upserts with persist_to / replicate_to and reports p50 / p99 of the whole operation
// next to the floor the mock allows (the time at which the criteria can first hold), as a ratio.
// Polls every 10 ms for the first ten, then backs off to 100 ms; a ratio near 1 means little time is lost
// between "durable" and "the client knows".
//
//   bench_endure [ops per row]        (placement: run it under taskset; the mock runs in-process)
#include <couchkv/cluster.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

using namespace couchkv;
using namespace std::chrono_literals;

int main(int argc, char** argv)
{
  const int ops = argc > 1 ? std::atoi(argv[1]) : 50;
  struct row {
    int replication_ms, persistence_ms, persist_to, replicate_to;
  };
  const row rows[] = {{0, 0, 1, 1},   {5, 20, 0, 1},  {5, 20, 1, 0},  {5, 20, 2, 1},
                      {20, 50, 0, 1}, {20, 50, 1, 0}, {20, 50, 2, 2}, {50, 100, 3, 2}};
  std::printf("endure latency through upsert(persist_to, replicate_to), %d sequential ops per row, 3 nodes, 2 replicas\n", ops);
  std::printf("%-22s %-14s %9s %9s %9s %7s\n", "mock delays (repl/pers)", "persist/repl", "floor ms", "p50 ms", "p99 ms",
              "p50/floor");
  for (const auto& r : rows) {
    mock::cluster_options o;
    o.nodes = 3;
    o.vbuckets = 64;
    o.buckets[0].replicas = 2;
    o.replication_delay = std::chrono::milliseconds(r.replication_ms);
    o.persistence_delay = std::chrono::milliseconds(r.persistence_ms);
    mock::cluster m(o);
    m.start();
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::thread t([&] { io.run(); });
    {
      cluster c(io.get_executor(), m.connection_string(), credentials{"default", "password"});
      auto b = c.open_bucket().get();
      std::vector<double> ms;
      for (int i = 0; i < ops; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto res = b.upsert("endure::" + std::to_string(i), R"({"i":1})",
                            {.durability = {.persist_to = r.persist_to, .replicate_to = r.replicate_to}}).get();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (!res.durability || !res.durability->met) {
          std::fprintf(stderr, "durability not met: %s\n", res.durability ? res.durability->detail.c_str() : "?");
          return 1;
        }
      }
      std::sort(ms.begin(), ms.end());
      // When the criteria can first hold: replicas hold it after the replication delay; the master
      // persists after the persistence delay, replicas after replication + persistence.
      double floor = 0;
      if (r.replicate_to > 0) floor = std::max<double>(floor, r.replication_ms);
      if (r.persist_to >= 1) floor = std::max<double>(floor, r.persistence_ms);
      if (r.persist_to >= 2) floor = std::max<double>(floor, r.replication_ms + r.persistence_ms);
      auto p = [&](double q) { return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1))]; };
      char delays[32], req[32];
      std::snprintf(delays, sizeof delays, "%d / %d ms", r.replication_ms, r.persistence_ms);
      std::snprintf(req, sizeof req, "%d / %d", r.persist_to, r.replicate_to);
      std::printf("%-22s %-14s %9.1f %9.2f %9.2f %7s\n", delays, req, floor, p(0.5), p(0.99),
                  floor > 0 ? std::to_string(p(0.5) / floor).substr(0, 4).c_str() : "-");
      b.close();
    }
    guard.reset();
    t.join();
    m.stop();
  }
  return 0;
}
