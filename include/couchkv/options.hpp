// Per-operation options. Every field has the default a user expects; designated initialisers read
// well at the call site: bucket.upsert("k", v, {.expiry = 60s, .persist_to = 1}).
#pragma once
#include <couchkv/protocol/frame_info.hpp>
#include <couchkv/transcoder.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

namespace couchkv {

// Expiry as the server takes it: 0 = never; up to 30 days = relative; beyond = absolute Unix time.
// A std::chrono::seconds duration is converted (relative when <= 30 days, else absolute from now).
using expiry_duration = std::chrono::seconds;

// Client-side durability (observe polling), as persist_to / replicate_to in the Python SDK 2.x.
// -1 means "as many as the bucket has" (the Python SDK's negative values).
struct observe_durability {
  int persist_to{0};
  int replicate_to{0};
};

struct common_options {
  std::optional<std::chrono::milliseconds> timeout{}; // default: the cluster's kv_timeout
};

struct get_options {
  std::optional<std::chrono::milliseconds> timeout{};
};

struct get_and_touch_options {
  expiry_duration expiry{0};
  std::optional<std::chrono::milliseconds> timeout{};
};

struct get_and_lock_options {
  std::chrono::seconds lock_time{15}; // 0 = server default
  std::optional<std::chrono::milliseconds> timeout{};
};

struct mutation_options {
  std::uint64_t cas{0};         // replace/remove/append/prepend: fail on CAS mismatch when set
  expiry_duration expiry{0};
  std::optional<std::uint32_t> flags{}; // override the transcoder's flags (rarely right)
  int persist_to{0};
  int replicate_to{0};
  std::optional<protocol::durability_level> durability_level{}; // synchronous durability
  std::optional<std::chrono::milliseconds> timeout{};
  std::chrono::milliseconds durability_timeout{5000}; // persist_to / replicate_to polling
};

struct remove_options {
  std::uint64_t cas{0};
  int persist_to{0};
  int replicate_to{0};
  std::optional<protocol::durability_level> durability_level{};
  std::optional<std::chrono::milliseconds> timeout{};
  std::chrono::milliseconds durability_timeout{5000};
};

struct counter_options {
  // Created with this value when missing; without it a missing counter is document_not_found.
  std::optional<std::uint64_t> initial{};
  expiry_duration expiry{0};
  int persist_to{0};
  int replicate_to{0};
  std::optional<protocol::durability_level> durability_level{};
  std::optional<std::chrono::milliseconds> timeout{};
  std::chrono::milliseconds durability_timeout{5000};
};

struct touch_options {
  std::optional<std::chrono::milliseconds> timeout{};
};

enum class replica_mode : std::uint8_t { any, all, index };
struct replica_options {
  replica_mode mode{replica_mode::any};
  std::uint16_t index{0}; // with replica_mode::index: 0 = first replica
  std::optional<std::chrono::milliseconds> timeout{};
};

// endure(): wait until a mutation (identified by its mutation_result: token, else CAS) is
// persisted on persist_to nodes (master included) and held by replicate_to replicas. Negative
// counts mean "as many as the vBucket has". Python SDK 2.x defaults: 5 s timeout, 10 ms interval
// (after ten polls the interval backs off, doubling up to 100 ms).
struct endure_options {
  int persist_to{0};
  int replicate_to{0};
  bool check_removed{false}; // wait for the removal to be durable instead (CAS mode)
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds interval{10};
};

// Views (HTTP, the CAPI port). The SDKs' default view timeout is 75 s.
struct view_options {
  std::chrono::milliseconds timeout{75000};
};

} // namespace couchkv
