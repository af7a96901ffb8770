// The server's error map (GET_ERROR_MAP, docs/protocol.md 3.12): what an unknown status means and
// whether to retry it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace couchkv::protocol {

enum class error_attribute : std::uint8_t {
  success,
  item_deleted,
  item_locked,
  item_only,
  invalid_input,
  fetch_config,
  conn_state_invalidated,
  auth,
  special_handling,
  support,
  temp,
  internal,
  retry_now,
  retry_later,
  no_retry,
  subdoc,
  dcp,
  rate_limit,
  system_constraint,
  auto_retry, // retry per the entry's "retry" specification (sdk-rfcs 0013)
};

[[nodiscard]] std::optional<error_attribute> parse_error_attribute(std::string_view name) noexcept;

struct retry_spec {
  std::string strategy; // "constant", "linear", "exponential"
  std::uint32_t interval_ms{0};
  std::uint32_t after_ms{0};
  std::uint32_t ceil_ms{0};
  std::uint32_t max_duration_ms{0};
};

struct error_info {
  std::string name;
  std::string description;
  std::uint32_t attributes{0}; // bit per error_attribute
  std::optional<retry_spec> retry{};

  [[nodiscard]] bool has(error_attribute a) const noexcept
  {
    return (attributes & (1u << static_cast<unsigned>(a))) != 0;
  }
  // The server says this status is worth retrying.
  [[nodiscard]] bool retryable() const noexcept
  {
    return !has(error_attribute::no_retry) &&
           (has(error_attribute::retry_now) || has(error_attribute::retry_later) || has(error_attribute::temp));
  }
};

struct error_map {
  std::uint32_t version{0};
  std::uint32_t revision{0};
  std::map<std::uint16_t, error_info> errors;

  [[nodiscard]] const error_info* find(std::uint16_t status) const noexcept
  {
    auto it = errors.find(status);
    return it == errors.end() ? nullptr : &it->second;
  }
};

// Parses the JSON; malformed JSON, a missing "errors" object, a bad hex code, or a text beyond the
// bounds checked before parsing (4 MiB, 16 levels, 200,000 values; json_bounds.hpp) is
// invalid_payload. Unknown attributes and members are ignored. Never throws.
[[nodiscard]] std::optional<error_map> parse_error_map(std::string_view json, std::error_code& ec);

} // namespace couchkv::protocol
