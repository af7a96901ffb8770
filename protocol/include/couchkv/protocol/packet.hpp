// A decoded packet: a header plus views into the caller's buffer. Valid only while that buffer is.
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/header.hpp>
#include <couchkv/protocol/opcode.hpp>
#include <couchkv/protocol/status.hpp>

namespace couchkv::protocol {

struct packet_view {
  header hdr;
  bytes_view framing_extras;
  bytes_view extras;
  bytes_view key;
  bytes_view value;

  [[nodiscard]] magic magic_byte() const noexcept { return hdr.magic_byte; }
  [[nodiscard]] opcode op() const noexcept { return static_cast<opcode>(hdr.opcode); }
  [[nodiscard]] bool is_response() const noexcept { return protocol::is_response(hdr.magic_byte); }
  // Responses only.
  [[nodiscard]] protocol::status status() const noexcept { return static_cast<protocol::status>(hdr.specific); }
  // Requests only.
  [[nodiscard]] std::uint16_t vbucket() const noexcept { return hdr.specific; }
  [[nodiscard]] std::uint32_t opaque() const noexcept { return hdr.opaque; }
  [[nodiscard]] std::uint64_t cas() const noexcept { return hdr.cas; }
  [[nodiscard]] std::uint8_t datatype() const noexcept { return hdr.datatype; }
  [[nodiscard]] std::size_t size() const noexcept { return header_size + hdr.body_len; }
};

} // namespace couchkv::protocol
