// Operation results. Plain values: they own their bytes (the connection's read buffer is reused).
#pragma once
#include <couchkv/retry_reason.hpp>
#include <couchkv/transcoder.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace couchkv {

// Identifies a mutation for durability polling (HELLO MutationSeqno negotiated).
struct mutation_token {
  std::uint16_t vbucket{0};
  std::uint64_t vbuuid{0};
  std::uint64_t seqno{0};
  friend bool operator==(const mutation_token&, const mutation_token&) = default;
};

// What a failed operation knows beyond its error_code (Boost.MySQL's "diagnostics"): the server's
// status and text, and why it was retried, so a timeout says what it was waiting for.
struct error_context {
  std::uint16_t status{0};   // wire status of the last response, 0 if none
  std::string server_message; // XERROR context / error-map description, if any
  retry_reason last_retry_reason{retry_reason::none};
  std::uint32_t retries{0};
  std::string endpoint;       // "host:port" of the last node tried
  std::uint16_t vbucket{0};   // where the key was routed (Couchbase buckets)
};

struct get_result {
  std::string key;
  std::string value;
  std::uint32_t flags{0};
  std::uint64_t cas{0};
  std::uint8_t datatype{0};
  bool is_replica{false};

  [[nodiscard]] couchkv::format format() const noexcept { return format_of(flags); }
};

struct mutation_result {
  std::string key;
  std::uint64_t cas{0};
  std::optional<mutation_token> token{};
};

struct counter_result {
  std::string key;
  std::uint64_t value{0};
  std::uint64_t cas{0};
  std::optional<mutation_token> token{};
};

enum class observe_key_state : std::uint8_t { found = 0x00, persisted = 0x01, not_found = 0x80, logically_deleted = 0x81 };

struct observe_node_result {
  std::string endpoint;
  bool is_master{false};
  observe_key_state state{observe_key_state::not_found};
  std::uint64_t cas{0};
};

struct observe_result {
  std::string key;
  std::vector<observe_node_result> nodes;
};

// Stats: endpoint -> (name -> value).
using stats_result = std::map<std::string, std::map<std::string, std::string>>;

// One key of a _multi operation: its result or its error, never both lost.
template <class Result>
struct outcome {
  std::error_code ec{};
  error_context context{};
  std::optional<Result> value{};
  [[nodiscard]] explicit operator bool() const noexcept { return !ec && value.has_value(); }
};

template <class Result>
using multi_result = std::map<std::string, outcome<Result>>;

} // namespace couchkv
