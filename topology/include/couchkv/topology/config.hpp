// The terse bucket configuration (docs/protocol.md 7) as a plain value, parsed from JSON.
#pragma once
#include <couchkv/topology/errors.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv::topology {

struct service_ports {
  std::uint16_t kv{0};
  std::uint16_t mgmt{0};
  std::uint16_t views{0}; // "capi"
  friend bool operator==(const service_ports&, const service_ports&) = default;
};

struct node {
  std::string hostname; // IPv6 without brackets
  service_ports plain{};
  service_ports tls{};
  bool this_node{false};

  [[nodiscard]] bool has_kv() const noexcept { return plain.kv != 0 || tls.kv != 0; }
  [[nodiscard]] bool has_views() const noexcept { return plain.views != 0 || tls.views != 0; }
  // "host:port" ("[v6]:port"); identity of the node across configs is its plain KV authority.
  [[nodiscard]] std::string authority(std::uint16_t port) const;
  [[nodiscard]] std::string kv_authority(bool use_tls = false) const { return authority(use_tls ? tls.kv : plain.kv); }
  friend bool operator==(const node&, const node&) = default;
};

enum class node_locator { vbucket, ketama };

// vBucket -> server table, rows of (1 + replicas) node indexes; -1 = no server.
struct vbucket_map {
  std::uint32_t num_replicas{0};
  std::vector<std::vector<std::int16_t>> rows;
  std::vector<std::vector<std::int16_t>> forward; // empty unless a rebalance is in progress

  [[nodiscard]] std::size_t num_vbuckets() const noexcept { return rows.size(); }
  friend bool operator==(const vbucket_map&, const vbucket_map&) = default;
};

struct bucket_config {
  std::int64_t rev{-1};       // -1: absent
  std::int64_t rev_epoch{-1}; // -1: absent
  std::string name;
  std::string uuid;
  node_locator locator{node_locator::vbucket};
  std::vector<node> nodes;
  // For vbucket buckets the map's server indexes are indexes into `nodes` (resolved from the
  // serverList at parse time, so routing never needs strings).
  std::optional<vbucket_map> vbmap;
  std::vector<std::string> bucket_capabilities;

  [[nodiscard]] bool has_capability(std::string_view cap) const noexcept;
  [[nodiscard]] std::size_t num_replicas() const noexcept { return vbmap ? vbmap->num_replicas : 0; }
  // Indexes of nodes that serve KV, in config order.
  [[nodiscard]] std::vector<std::size_t> data_nodes() const;
  [[nodiscard]] std::vector<std::size_t> view_nodes() const;
  [[nodiscard]] int find_node(std::string_view hostname, std::uint16_t kv_port) const noexcept;
};

// Parses a terse (or verbose) bucket config. `origin_host` replaces "$HOST" and fills nodes
// without a hostname: the address the config came from. Returns nullopt with `err` set (and never
// UB or an exception) when the JSON or its contents make no sense.
[[nodiscard]] std::optional<bucket_config> parse_config(std::string_view json, std::string_view origin_host,
                                                        config_error& err);

// (epoch, rev) strictly newer; a config without rev is never newer than one with.
[[nodiscard]] bool is_newer(const bucket_config& candidate, const bucket_config& current) noexcept;

} // namespace couchkv::topology
