// OBSERVE (0x92) and OBSERVE_SEQNO (0x91) bodies (docs/protocol.md 3.6, 3.7).
#pragma once
#include <couchkv/protocol/bytes.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace couchkv::protocol {

enum class observe_keystate : std::uint8_t {
  found = 0x00,             // in memory, not persisted
  persisted = 0x01,
  not_found = 0x80,
  logically_deleted = 0x81, // deleted, not yet purged
};

struct observe_key {
  std::uint16_t vbucket{0};
  std::string_view key{}; // including the LEB128 collection prefix on a collections connection
};

// One OBSERVE request for several keys (all on the node it is sent to). Header vbucket is 0.
void append_observe(byte_buffer& out, std::uint32_t opaque, std::span<const observe_key> keys);

struct observe_entry {
  std::uint16_t vbucket{0};
  std::string_view key{}; // view into the response
  observe_keystate state{observe_keystate::not_found};
  std::uint64_t cas{0};
};

// Parses the whole response value; any truncation or unknown keystate is invalid_payload.
[[nodiscard]] std::optional<std::vector<observe_entry>> parse_observe_response(bytes_view value, std::error_code& ec);
// Parses the request value (the mock server's side).
[[nodiscard]] std::optional<std::vector<observe_key>> parse_observe_request(bytes_view value, std::error_code& ec);
// Server side: appends one response entry.
void append_observe_entry(byte_buffer& out, const observe_entry& e);

struct observe_seqno_result {
  bool failed_over{false}; // format 1
  std::uint16_t vbucket{0};
  std::uint64_t vbuuid{0};              // the current vbucket UUID
  std::uint64_t last_persisted_seqno{0};
  std::uint64_t current_seqno{0};
  // Format 1 only: the UUID the client sent and the last seqno the node had under it.
  std::uint64_t old_vbuuid{0};
  std::uint64_t old_seqno{0};
};

[[nodiscard]] std::optional<observe_seqno_result> parse_observe_seqno_response(bytes_view value, std::error_code& ec) noexcept;
// Server side: appends the 27- or 43-byte body.
void append_observe_seqno_body(byte_buffer& out, const observe_seqno_result& r);

} // namespace couchkv::protocol
