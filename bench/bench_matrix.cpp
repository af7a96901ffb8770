// The live matrix against memcached through the couchkv FACADE (couchkv::cluster / async_bucket on
// a memcached://127.0.0.1:PORT connection string), side by side with libmemcached and a raw socket
// in the same run, 100-byte values (issue 9). For each cell (client threads x connections):
//   raw           batches of 100 hand-built GETs; a batch is split evenly over the thread's
//                 sockets, sent on every one, then every answer read
//   libmemcached  memcached_mget of 100 keys, split the same way over the thread's memcached_st
//   couchkv       100 get() in flight per thread (a sliding window), and get_multi of 100 keys one
//                 batch at a time per thread; kv_pool_size = connections
// Each peer thread owns connections c with c % threads == t; with fewer connections than threads
// the threads share one under a lock (a libmemcached handle or a blocking socket belongs to one
// caller at a time). Every figure is printed with the CPUs the client may run on and the server's
// (BENCH_SERVER_CPUS, set by run_matrix.sh).
//
//   bench_matrix PORT [keys]                 keys per client and cell (default 200000)
//   bench_matrix PORT --only <client> OPS    one client alone, for callgrind_memcached.sh:
//                                            facade-get, facade-set (one at a time),
//                                            facade-get-future (get().get(), io on its own thread),
//                                            facade-pipe (100 in flight), facade-mget (of 100),
//                                            facade-each (get_multi_each of 100),
//                                            facade-each-borrowed (its borrowed_keys form);
//                                            each with -st: cluster_options::single_threaded
#include "facade_load.hpp"
#include "lmc_peer.hpp"

#include <memory>
#include <mutex>

using namespace couchkv;
using namespace couchkv::bench;

namespace {

constexpr int batch = 100;

std::string facade_connstr(int port, int connections)
{
  return "memcached://127.0.0.1:" + std::to_string(port) + "?kv_pool_size=" + std::to_string(connections);
}

// ---- peers: T threads over C connections, batches of 100 keys -----------------------------------
struct peer_figures {
  double keys_per_s{0};
  latency per_batch;
};

// `batch_on(mine, first_key, state)` runs one batch of 100 keys over the thread's connections.
template <class Conn, class Thread_state, class Batch>
peer_figures run_peer(std::vector<Conn>& conns, int threads, int keys, Batch batch_on)
{
  const int conns_n = static_cast<int>(conns.size());
  const bool shared = conns_n < threads;
  std::vector<std::unique_ptr<std::mutex>> locks;
  for (int c = 0; c < conns_n; ++c) locks.push_back(std::make_unique<std::mutex>());
  std::vector<latency> lats(static_cast<std::size_t>(threads));
  const int batches = keys / threads / batch;
  std::vector<std::thread> ts;
  auto t0 = clk::now();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::vector<Conn*> mine;
      if (shared) mine.push_back(&conns[static_cast<std::size_t>(t % conns_n)]);
      else
        for (int c = t; c < conns_n; c += threads) mine.push_back(&conns[static_cast<std::size_t>(c)]);
      Thread_state st;
      auto& lat = lats[static_cast<std::size_t>(t)];
      for (int b = 0; b < batches; ++b) {
        auto b0 = clk::now();
        std::unique_lock<std::mutex> lock;
        if (shared) lock = std::unique_lock(*locks[static_cast<std::size_t>(t % conns_n)]);
        batch_on(mine, t * (num_keys / 2) + b * batch, st);
        lat.add(b0);
      }
    });
  }
  for (auto& t : ts) t.join();
  peer_figures f;
  f.keys_per_s = batches * batch * threads / std::chrono::duration<double>(clk::now() - t0).count();
  for (auto& l : lats) f.per_batch.merge(l);
  return f;
}

// The share of a batch of 100 that connection i of n carries.
int share(int i, int n) { return batch / n + (i < batch % n ? 1 : 0); }

struct raw_state {
  protocol::byte_buffer req;
  std::vector<std::byte> buf = std::vector<std::byte>(256 * 1024);
};

peer_figures raw_cell(int port, int threads, int connections, int keys)
{
  std::vector<int> fds;
  for (int c = 0; c < connections; ++c) fds.push_back(raw_connect(port));
  auto f = run_peer<int, raw_state>(fds, threads, keys, [](std::vector<int*>& mine, int first, raw_state& st) {
    const int n = static_cast<int>(mine.size());
    for (int i = 0, k = first; i < n; k += share(i, n), ++i) {
      st.req.clear();
      for (int j = 0; j < share(i, n); ++j) protocol::append_get(st.req, static_cast<std::uint32_t>(j), {.key = key_of(k + j)});
      raw_send(*mine[static_cast<std::size_t>(i)], st.req);
    }
    for (int i = 0; i < n; ++i) raw_read_responses(*mine[static_cast<std::size_t>(i)], st.buf, share(i, n));
  });
  for (int fd : fds) ::close(fd);
  return f;
}

struct lmc_state {
  std::vector<lmc_keys> keys;
};

peer_figures lmc_cell(int port, int threads, int connections, int keys)
{
  std::vector<memcached_st*> ms;
  for (int c = 0; c < connections; ++c) ms.push_back(lmc_connect(port));
  auto f = run_peer<memcached_st*, lmc_state>(ms, threads, keys, [](std::vector<memcached_st**>& mine, int first, lmc_state& st) {
    const int n = static_cast<int>(mine.size());
    st.keys.resize(mine.size());
    for (int i = 0, k = first; i < n; k += share(i, n), ++i) lmc_mget_send(*mine[static_cast<std::size_t>(i)], k, share(i, n), st.keys[static_cast<std::size_t>(i)]);
    int got = 0;
    for (int i = 0; i < n; ++i) got += lmc_mget_fetch(*mine[static_cast<std::size_t>(i)]);
    if (got != batch) fail("libmemcached mget: " + std::to_string(got) + " of 100 keys came back");
  });
  for (auto* m : ms) memcached_free(m);
  return f;
}

// ---- one cell, printed -------------------------------------------------------------------------
void cell(int port, int threads, int connections, int keys, const std::string& placement)
{
  auto raw = raw_cell(port, threads, connections, keys);
  auto lmc = lmc_cell(port, threads, connections, keys);
  double window_t = 0, window_st = 0;
  latency multi;
  double multi_t = 0;
  {
    facade_client c(facade_connstr(port, connections), {}, threads);
    facade_windows(c, threads, batch, 2000, facade_op::get); // warm-up: every connection open and used
    window_t = facade_windows(c, threads, batch, keys, facade_op::get);
    multi_t = facade_multi_gets(c, threads, batch, keys, multi);
  }
  if (threads == 1) { // one io thread: the bucket may run without its strand
    facade_client c(facade_connstr(port, connections), {}, threads, true);
    facade_windows(c, threads, batch, 2000, facade_op::get);
    window_st = facade_windows(c, threads, batch, keys, facade_op::get);
  }
  std::printf("## %d client thread%s, %d connection%s; %s\n", threads, threads > 1 ? "s" : "", connections,
              connections > 1 ? "s" : "", placement.c_str());
  std::printf("  %-34s %9s %9s %9s   %s\n", "", "keys/s", "p50 us", "p99 us", "couchkv / raw, / libmemcached");
  std::printf("  %-34s %9.0f %9.1f %9.1f\n", "raw: batches of 100 GETs", raw.keys_per_s, raw.per_batch.pct(0.5),
              raw.per_batch.pct(0.99));
  std::printf("  %-34s %9.0f %9.1f %9.1f\n", "libmemcached: mget of 100", lmc.keys_per_s, lmc.per_batch.pct(0.5),
              lmc.per_batch.pct(0.99));
  std::printf("  %-34s %9.0f %9s %9s   keys/s %.2f, %.2f\n", "couchkv: 100 get() in flight", window_t, "-", "-",
              window_t / raw.keys_per_s, window_t / lmc.keys_per_s);
  if (threads == 1) {
    std::printf("  %-34s %9.0f %9s %9s   keys/s %.2f, %.2f\n", "couchkv: the same, single_threaded", window_st,
                "-", "-", window_st / raw.keys_per_s, window_st / lmc.keys_per_s);
  }
  std::printf("  %-34s %9.0f %9.1f %9.1f   keys/s %.2f, %.2f; p50 %.2f, %.2f\n", "couchkv: get_multi of 100", multi_t,
              multi.pct(0.5), multi.pct(0.99), multi_t / raw.keys_per_s, multi_t / lmc.keys_per_s,
              multi.pct(0.5) / raw.per_batch.pct(0.5), multi.pct(0.5) / lmc.per_batch.pct(0.5));
  std::fflush(stdout);
}

int only(int port, const std::string& which, int ops)
{
  const bool st = which.ends_with("-st");
  const auto base = st ? which.substr(0, which.size() - 3) : which;
  if (base != "facade-get" && base != "facade-get-future" && base != "facade-set" && base != "facade-pipe" &&
      base != "facade-mget" && base != "facade-each" && base != "facade-each-borrowed") {
    std::fprintf(stderr, "unknown client %s\n", which.c_str());
    return 2;
  }
  facade_client c(facade_connstr(port, 1), {}, 1, st);
  if (base == "facade-get") facade_windows(c, 1, 1, ops, facade_op::get);
  else if (base == "facade-get-future") {
    // The default token: each get() returns a std::future, waited for here while the io_context
    // runs on its own thread.
    c.run_beside([&] {
      std::size_t bytes = 0;
      for (int i = 0; i < ops; ++i) bytes += c.bucket().get(key_of(i % num_keys)).get().value.size();
      if (bytes != static_cast<std::size_t>(ops) * value_size) fail("couchkv get (future): value sizes");
    });
  }
  else if (base == "facade-set") facade_windows(c, 1, 1, ops, facade_op::upsert);
  else if (base == "facade-pipe") facade_windows(c, 1, batch, ops, facade_op::get);
  else if (base == "facade-each") facade_multi_gets_each(c, batch, ops);
  else if (base == "facade-each-borrowed") facade_multi_gets_each(c, batch, ops, true);
  else {
    latency l;
    facade_multi_gets(c, 1, batch, ops, l);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_matrix PORT [keys] | bench_matrix PORT --only <client> OPS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  if (argc == 5 && std::string(argv[2]) == "--only") return only(port, argv[3], std::atoi(argv[4]));
  const int keys = argc > 2 ? std::atoi(argv[2]) : 200000;
  watchdog dog(std::chrono::seconds(900), "bench_matrix");
  preload(port);
  const char* server = std::getenv("BENCH_SERVER_CPUS");
  const std::string placement = "client CPUs " + cpu_list() + ", server CPUs " + (server ? server : "unknown");
  std::printf("keys/s over the whole run; p50/p99 = latency of one batch of 100 keys; %d keys per row, 100-byte values\n",
              keys);
  for (int threads : {1, 2})
    for (int connections : {1, 4}) cell(port, threads, connections, keys, placement);
  return 0;
}
