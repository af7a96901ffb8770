// Key -> node routing: CRC32 vBuckets for Couchbase buckets, ketama for memcached buckets.
#pragma once
#include <couchkv/topology/config.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv::topology {

// CRC-32 (IEEE 802.3, reflected, as zlib) of the key bytes.
[[nodiscard]] std::uint32_t crc32(std::string_view bytes) noexcept;

// ((crc32(key) >> 16) & 0x7fff) % num_vbuckets (docs/protocol.md 7.1).
[[nodiscard]] std::uint16_t vbucket_of(std::string_view key, std::size_t num_vbuckets) noexcept;

// Node index (into bucket_config::nodes) of a vBucket's master (replica 0) or replica i (1..n),
// -1 when none. `forward` selects the forward map during a rebalance (falls back to the current map).
[[nodiscard]] int node_for_vbucket(const vbucket_map& map, std::uint16_t vb, std::size_t replica = 0,
                                   bool forward = false) noexcept;

// The ketama continuum of a memcached bucket, exactly as libcouchbase builds it (docs/protocol.md 7.3):
// servers sorted by "host:kvport", 40 MD5 digests per server, 4 points per digest.
class ketama_router {
public:
  struct point {
    std::uint32_t value;
    std::uint32_t node; // index into bucket_config::nodes
  };

  ketama_router() = default;
  explicit ketama_router(const bucket_config& cfg);
  // From explicit (authority, node index) pairs, e.g. for memcached:// connection strings.
  explicit ketama_router(std::vector<std::pair<std::string, std::uint32_t>> servers);

  [[nodiscard]] bool empty() const noexcept { return points_.empty(); }
  [[nodiscard]] std::uint32_t node_for(std::string_view key) const noexcept;
  [[nodiscard]] static std::uint32_t hash(std::string_view key) noexcept;
  [[nodiscard]] const std::vector<point>& continuum() const noexcept { return points_; }

private:
  std::vector<point> points_;
  bool one_node_{false}; // a single server owns the whole continuum
};

} // namespace couchkv::topology
