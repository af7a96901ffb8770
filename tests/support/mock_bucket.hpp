// The facade's test fixture: a mock cluster, an io thread, a cluster handle and a bucket open on
// the mock's "default" bucket. Members are destroyed in reverse order: the bucket is closed first,
// then the io thread stops, then the mock.
//
//   couchkv::test::mock_bucket f;                                   // one node, defaults
//   couchkv::test::mock_bucket f(couchkv::test::mock_options(3, 1), "?kv_timeout=3s");
//   f.bucket.upsert("k", "{}").get();  f.mock.failover(1);
#pragma once
#include <couchkv/async_bucket.hpp>
#include <couchkv/cluster.hpp>
#include <couchkv_mock/cluster.hpp>

#include <async_test_support.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace couchkv::test {

// A mock of `nodes` nodes whose default bucket has `replicas` replicas.
inline mock::cluster_options mock_options(std::uint32_t nodes, std::uint32_t replicas = 0, std::uint32_t vbuckets = 64,
                                          std::chrono::milliseconds replication = std::chrono::milliseconds(0),
                                          std::chrono::milliseconds persistence = std::chrono::milliseconds(0))
{
  mock::cluster_options o;
  o.nodes = nodes;
  o.vbuckets = vbuckets;
  o.buckets[0].replicas = replicas;
  o.replication_delay = replication;
  o.persistence_delay = persistence;
  return o;
}

struct mock_bucket {
  // What the connection string says after the mock's address ("?kv_timeout=...&...").
  static constexpr const char* default_options = "?kv_timeout=2s&config_poll_interval=100ms";

  explicit mock_bucket(mock::cluster_options o = {}, const std::string& connection_options = default_options,
                       cluster_options co = {})
      : mock(std::move(o))
  {
    mock.start();
    c.emplace(t.io.get_executor(), mock.connection_string() + connection_options, credentials{"default", "password"}, co);
    bucket = c->open_bucket().get();
  }
  ~mock_bucket() { bucket.close(); }
  mock_bucket(const mock_bucket&) = delete;
  mock_bucket& operator=(const mock_bucket&) = delete;

  mock::cluster mock;
  io_thread t;
  std::optional<cluster> c;
  async_bucket bucket;
};

} // namespace couchkv::test
