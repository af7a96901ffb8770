#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/header.hpp>

namespace couchkv::protocol {

void encode_header(const header& h, std::byte* out) noexcept
{
  out[0] = static_cast<std::byte>(h.magic_byte);
  out[1] = static_cast<std::byte>(h.opcode);
  if (is_flexible(h.magic_byte)) {
    out[2] = static_cast<std::byte>(h.framing_extras_len);
    out[3] = static_cast<std::byte>(h.key_len);
  } else {
    store_be16(out + 2, h.key_len);
  }
  out[4] = static_cast<std::byte>(h.extras_len);
  out[5] = static_cast<std::byte>(h.datatype);
  store_be16(out + 6, h.specific);
  store_be32(out + 8, h.body_len);
  // The opaque is echoed verbatim by the server, so byte order does not matter to matching; we
  // write it big-endian like every other field so packet dumps read naturally.
  store_be32(out + 12, h.opaque);
  store_be64(out + 16, h.cas);
}

std::optional<header> decode_header(const std::byte* in, std::error_code& ec) noexcept
{
  auto m = std::to_integer<std::uint8_t>(in[0]);
  if (!is_known_magic(m)) {
    ec = client_errc::invalid_magic;
    return std::nullopt;
  }
  header h;
  h.magic_byte = static_cast<magic>(m);
  h.opcode = std::to_integer<std::uint8_t>(in[1]);
  if (is_flexible(h.magic_byte)) {
    h.framing_extras_len = std::to_integer<std::uint8_t>(in[2]);
    h.key_len = std::to_integer<std::uint8_t>(in[3]);
  } else {
    h.key_len = load_be16(in + 2);
  }
  h.extras_len = std::to_integer<std::uint8_t>(in[4]);
  h.datatype = std::to_integer<std::uint8_t>(in[5]);
  h.specific = load_be16(in + 6);
  h.body_len = load_be32(in + 8);
  h.opaque = load_be32(in + 12);
  h.cas = load_be64(in + 16);
  std::uint64_t parts = std::uint64_t{h.framing_extras_len} + h.extras_len + h.key_len;
  if (parts > h.body_len) {
    ec = client_errc::invalid_header;
    return std::nullopt;
  }
  ec.clear();
  return h;
}

} // namespace couchkv::protocol
