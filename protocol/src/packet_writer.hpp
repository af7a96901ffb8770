// Internal: appends one packet from its parts straight into the caller's buffer (one resize, no
// temporaries). The key may carry a prefix (the LEB128 collection id).
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/header.hpp>

#include <cstring>

namespace couchkv::protocol::detail {

struct packet_parts {
  magic magic_byte{magic::client_request};
  std::uint8_t opcode{0};
  std::uint16_t specific{0}; // vbucket (requests) or status (responses)
  std::uint32_t opaque{0};
  std::uint64_t cas{0};
  std::uint8_t datatype{0};
  bytes_view framing_extras{};
  bytes_view extras{};
  bytes_view key_prefix{};
  bytes_view key{};
  bytes_view value{};
};

inline void append_packet(byte_buffer& out, const packet_parts& p)
{
  const std::size_t key_len = p.key_prefix.size() + p.key.size();
  const std::size_t body = p.framing_extras.size() + p.extras.size() + key_len + p.value.size();
  const std::size_t start = out.size();
  out.resize(start + header_size + body);
  std::byte* w = out.data() + start;
  header h;
  h.magic_byte = p.magic_byte;
  h.opcode = p.opcode;
  h.framing_extras_len = static_cast<std::uint8_t>(p.framing_extras.size());
  h.key_len = static_cast<std::uint16_t>(key_len);
  h.extras_len = static_cast<std::uint8_t>(p.extras.size());
  h.datatype = p.datatype;
  h.specific = p.specific;
  h.body_len = static_cast<std::uint32_t>(body);
  h.opaque = p.opaque;
  h.cas = p.cas;
  encode_header(h, w);
  w += header_size;
  for (bytes_view part : {p.framing_extras, p.extras, p.key_prefix, p.key, p.value}) {
    if (!part.empty()) std::memcpy(w, part.data(), part.size());
    w += part.size();
  }
}

} // namespace couchkv::protocol::detail
