#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/errors.hpp>

#include "header_reader.hpp"

namespace couchkv::protocol {

decode_result decode_packet(bytes_view input, const decoder_limits& limits) noexcept
{
  decode_result r;
  if (input.size() < header_size) {
    // Even a partial header can already be rejected: a bad magic byte never becomes valid.
    if (!input.empty() && !is_known_magic(std::to_integer<std::uint8_t>(input[0]))) {
      r.state = decode_state::error;
      r.ec = client_errc::invalid_magic;
      return r;
    }
    r.state = decode_state::need_more;
    return r;
  }
  header& h = r.packet.hdr; // parsed in place: the view is only valid when complete anyway
  if (int e = detail::read_header(input.data(), h); e != 0) {
    r.state = decode_state::error;
    r.ec = static_cast<client_errc>(e);
    return r;
  }
  if (h.body_len > limits.max_body_len) {
    r.state = decode_state::error;
    r.ec = client_errc::body_too_large;
    return r;
  }
  const std::size_t total = header_size + std::size_t{h.body_len};
  if (input.size() < total) {
    r.state = decode_state::need_more;
    r.needed = total;
    return r;
  }
  const std::byte* p = input.data() + header_size;
  packet_view& v = r.packet;
  v.framing_extras = {p, h.framing_extras_len};
  p += h.framing_extras_len;
  v.extras = {p, h.extras_len};
  p += h.extras_len;
  v.key = {p, h.key_len};
  p += h.key_len;
  v.value = {p, h.body_len - h.framing_extras_len - h.extras_len - h.key_len};
  r.state = decode_state::complete;
  r.consumed = total;
  r.needed = total;
  return r;
}

} // namespace couchkv::protocol
