// HELLO (0x1f): feature negotiation (docs/protocol.md 3.8, 5).
#pragma once
#include <couchkv/protocol/bytes.hpp>

#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace couchkv::protocol {

enum class hello_feature : std::uint16_t {
  tls = 0x02,
  tcp_nodelay = 0x03,
  mutation_seqno = 0x04,
  tcp_delay = 0x05,
  xattr = 0x06,
  xerror = 0x07,
  select_bucket = 0x08,
  snappy = 0x0a,
  json = 0x0b,
  duplex = 0x0c,
  clustermap_change_notification = 0x0d,
  unordered_execution = 0x0e,
  tracing = 0x0f,
  alt_request_support = 0x10,
  sync_replication = 0x11,
  collections = 0x12,
  snappy_everywhere = 0x13,
  preserve_ttl = 0x14,
  vattr = 0x15,
  subdoc_create_as_deleted = 0x17,
  subdoc_document_macro_support = 0x18,
  subdoc_replace_body_with_xattr = 0x19,
  report_unit_usage = 0x1a,
  non_blocking_throttling_mode = 0x1b,
  subdoc_replica_read = 0x1c,
  get_cluster_config_with_known_version = 0x1d,
  dedupe_not_my_vbucket_clustermap = 0x1e,
  clustermap_change_notification_brief = 0x1f,
};

[[nodiscard]] std::string_view to_string(hello_feature f) noexcept;

// A small set of negotiated features (codes < 64 fit a bitmask; others are ignored).
class feature_set {
public:
  feature_set() = default;
  feature_set(std::initializer_list<hello_feature> fs) noexcept
  {
    for (auto f : fs) insert(f);
  }
  void insert(hello_feature f) noexcept
  {
    if (auto c = static_cast<unsigned>(f); c < 64) bits_ |= (std::uint64_t{1} << c);
  }
  [[nodiscard]] bool contains(hello_feature f) const noexcept
  {
    auto c = static_cast<unsigned>(f);
    return c < 64 && (bits_ & (std::uint64_t{1} << c)) != 0;
  }
  [[nodiscard]] bool empty() const noexcept { return bits_ == 0; }
  // The lowest-numbered feature of this set that `granted` lacks, if any.
  [[nodiscard]] std::optional<hello_feature> first_missing_from(const feature_set& granted) const noexcept
  {
    const auto missing = bits_ & ~granted.bits_;
    if (missing == 0) return std::nullopt;
    return static_cast<hello_feature>(std::countr_zero(missing));
  }
  friend bool operator==(const feature_set&, const feature_set&) = default;

private:
  std::uint64_t bits_{0};
};

// Key = agent name (may be the JSON form {"a":..,"i":..}); value = u16 BE features.
void append_hello(byte_buffer& out, std::uint32_t opaque, std::string_view agent,
                  std::span<const hello_feature> features);

// Parses a list of u16 features (request or response value). Odd length is invalid_payload.
// Unknown codes are kept (the caller decides what to do with them).
[[nodiscard]] std::optional<std::vector<std::uint16_t>> parse_hello_features(bytes_view value, std::error_code& ec);

// Server side: the response value for the accepted features.
void append_hello_features(byte_buffer& out, std::span<const std::uint16_t> features);

} // namespace couchkv::protocol
