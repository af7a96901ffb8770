// Internal: the header parse shared by decode_header() and decode_packet(), inline so the decoder's
// per-packet path has no call and no error_code to build unless the header is bad.
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/header.hpp>

namespace couchkv::protocol::detail {

// Fills `h` from the 24 bytes at `in`; returns 0 or the client_errc that rejects them.
inline int read_header(const std::byte* in, header& h) noexcept
{
  auto m = std::to_integer<std::uint8_t>(in[0]);
  if (!is_known_magic(m)) return static_cast<int>(client_errc::invalid_magic);
  h.magic_byte = static_cast<magic>(m);
  h.opcode = std::to_integer<std::uint8_t>(in[1]);
  if (is_flexible(h.magic_byte)) {
    h.framing_extras_len = std::to_integer<std::uint8_t>(in[2]);
    h.key_len = std::to_integer<std::uint8_t>(in[3]);
  } else {
    h.framing_extras_len = 0;
    h.key_len = load_be16(in + 2);
  }
  h.extras_len = std::to_integer<std::uint8_t>(in[4]);
  h.datatype = std::to_integer<std::uint8_t>(in[5]);
  h.specific = load_be16(in + 6);
  h.body_len = load_be32(in + 8);
  h.opaque = load_be32(in + 12);
  h.cas = load_be64(in + 16);
  std::uint64_t parts = std::uint64_t{h.framing_extras_len} + h.extras_len + h.key_len;
  if (parts > h.body_len) return static_cast<int>(client_errc::invalid_header);
  return 0;
}

} // namespace couchkv::protocol::detail
