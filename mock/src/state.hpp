// The mock's data model: plain values, touched only on the mock's thread.
#pragma once
#include <couchkv_mock/cluster.hpp>

#include <couchkv/protocol/scram.hpp>

#ifdef COUCHKV_MOCK_HAVE_VIEWS
#include <couchkv_mock/view_engine.hpp>
#endif

#include <memory>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace couchkv::mock {

struct document {
  std::string value;
  std::uint32_t flags{0};
  std::uint8_t datatype{0};
  std::uint64_t cas{0};
  std::int64_t expiry{0};     // absolute mock seconds; 0 = never
  std::uint64_t lock_cas{0};
  std::int64_t lock_until{0}; // absolute mock seconds
  std::uint64_t seqno{0};
  bool deleted{false};        // tombstone (logically deleted until purged)
};

using doc_map = std::unordered_map<std::string, document>;

struct replica_copy {
  doc_map docs;
  std::uint64_t seqno{0};     // highest seqno received
  std::uint64_t persisted{0}; // highest seqno persisted on this node
};

struct vbucket_state {
  int active{-1};
  std::vector<int> replicas;  // node indexes, -1 = none
  std::uint64_t uuid{0};
  std::uint64_t high_seqno{0};
  std::uint64_t persisted{0};
  doc_map docs;               // the active copy
  std::map<int, replica_copy> copies; // by node
  std::vector<std::pair<std::uint64_t, std::uint64_t>> failover_log; // (uuid, seqno), newest first
};

struct bucket_state {
  bucket_options opts;
  std::vector<vbucket_state> vbs;       // couchbase buckets
  std::vector<doc_map> node_docs;       // memcached buckets: one store per node
  std::map<protocol::scram::hash, protocol::scram::credentials> scram;
  // The serialized config of (epoch, rev): NOT_MY_VBUCKET carries it, and thousands of those in
  // a row after a failover must not each build it again (Couchbase Server keeps it too).
  mutable std::string config_text;
  mutable std::int64_t config_epoch{-1};
  mutable std::int64_t config_rev{-1};
#ifdef COUCHKV_MOCK_HAVE_VIEWS
  std::unique_ptr<views::engine> views; // couchbase buckets only: memcached buckets have no views
#endif
};

} // namespace couchkv::mock
