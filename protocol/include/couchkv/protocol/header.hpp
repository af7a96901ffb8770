// The 24-byte packet header, classic (0x80/0x81) and flexible-framing (0x08/0x18) forms,
// plus server-initiated requests (0x82) and the client's answers to them (0x83).
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/opcode.hpp>

#include <cstdint>
#include <optional>
#include <system_error>

namespace couchkv::protocol {

enum class magic : std::uint8_t {
  client_request = 0x80,
  client_response = 0x81,
  alt_client_request = 0x08,  // request with framing extras
  alt_client_response = 0x18, // response with framing extras
  server_request = 0x82,      // Duplex: server -> client (e.g. clustermap change notification)
  server_response = 0x83,     // client's answer to a server_request
};

constexpr std::size_t header_size = 24;

[[nodiscard]] constexpr bool is_known_magic(std::uint8_t m) noexcept
{
  return m == 0x80 || m == 0x81 || m == 0x08 || m == 0x18 || m == 0x82 || m == 0x83;
}
[[nodiscard]] constexpr bool is_flexible(magic m) noexcept
{
  return m == magic::alt_client_request || m == magic::alt_client_response;
}
[[nodiscard]] constexpr bool is_response(magic m) noexcept
{
  return m == magic::client_response || m == magic::alt_client_response || m == magic::server_response;
}

// A decoded header. `specific` is the vbucket id in requests and the status in responses.
struct header {
  magic magic_byte{magic::client_request};
  std::uint8_t opcode{0}; // raw: interpret with the opcode enum matching the magic
  std::uint8_t framing_extras_len{0};
  std::uint16_t key_len{0};
  std::uint8_t extras_len{0};
  std::uint8_t datatype{0};
  std::uint16_t specific{0};
  std::uint32_t body_len{0};
  std::uint32_t opaque{0};
  std::uint64_t cas{0};

  friend bool operator==(const header&, const header&) = default;
};

// Writes exactly 24 bytes. Precondition: key_len fits in 8 bits when the magic is flexible.
void encode_header(const header& h, std::byte* out) noexcept;

// Reads the 24 bytes at `in` (which must hold at least 24). Fails with client_errc::invalid_magic
// for an unknown magic and client_errc::invalid_header when the lengths do not add up
// (framing_extras_len + extras_len + key_len > body_len).
[[nodiscard]] std::optional<header> decode_header(const std::byte* in, std::error_code& ec) noexcept;

} // namespace couchkv::protocol
