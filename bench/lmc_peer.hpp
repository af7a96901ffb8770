// The libmemcached peer of the memcached benchmarks (bench_memcached, bench_matrix): a binary
// protocol handle with timeouts, the preload every run reads, and multi-get of a batch of keys.
#pragma once
#include "live_common.hpp"

#include <libmemcached/memcached.h>

namespace couchkv::bench {

// Binary protocol, TCP_NODELAY; connect and poll time out after 5 s so that a dead server fails
// the run instead of hanging it.
inline memcached_st* lmc_connect(int port)
{
  memcached_st* m = memcached_create(nullptr);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 5000);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 5000);
  memcached_server_add(m, "127.0.0.1", static_cast<in_port_t>(port));
  return m;
}

inline void lmc_check(memcached_st* m, memcached_return_t rc, const char* what)
{
  if (rc != MEMCACHED_SUCCESS) fail(std::string("libmemcached ") + what + ": " + memcached_strerror(m, rc));
}

// `ops` SETs one at a time: key_of(i), value_size bytes.
inline void lmc_sequential_set(int port, int ops)
{
  auto* m = lmc_connect(port);
  std::string value(value_size, 'v');
  for (int i = 0; i < ops; ++i) {
    const auto& k = key_of(i);
    lmc_check(m, memcached_set(m, k.data(), k.size(), value.data(), value.size(), 0, 0), "set");
  }
  memcached_free(m);
}

// The keys every run reads: key_of(0 .. num_keys-1).
inline void preload(int port) { lmc_sequential_set(port, num_keys); }

// Sends a multi-get of keys [first, first + n) on `m` without reading the answers.
// The pointer/length arrays memcached_mget takes (pointing into key_of's table); kept by the
// caller across batches, so the peer's loop allocates nothing per batch once warm.
struct lmc_keys {
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
};
inline void lmc_mget_send(memcached_st* m, int first, int n, lmc_keys& k)
{
  k.ptrs.clear();
  k.lens.clear();
  for (int j = 0; j < n; ++j) {
    const auto& key = key_of(first + j);
    k.ptrs.push_back(key.data());
    k.lens.push_back(key.size());
  }
  lmc_check(m, memcached_mget(m, k.ptrs.data(), k.lens.data(), k.ptrs.size()), "mget");
}

// Reads the answers of the last multi-get on `m`; returns how many keys came back.
inline int lmc_mget_fetch(memcached_st* m)
{
  int got = 0;
  memcached_return_t rc;
  // One result reused for every key, libmemcached's allocation-free form (with nullptr it
  // allocates and we free a result per key). It frees this one itself with the END answer.
  memcached_result_st* reuse = memcached_result_create(m, nullptr);
  if (reuse == nullptr) fail("libmemcached: memcached_result_create failed");
  while (memcached_fetch_result(m, reuse, &rc) != nullptr) ++got;
  if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) lmc_check(m, rc, "fetch");
  return got;
}

} // namespace couchkv::bench
