#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/header.hpp>

#include "header_reader.hpp"

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
  header h;
  if (int e = detail::read_header(in, h); e != 0) {
    ec = static_cast<client_errc>(e);
    return std::nullopt;
  }
  ec.clear();
  return h;
}

} // namespace couchkv::protocol
