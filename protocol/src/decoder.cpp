#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/errors.hpp>

#include "header_reader.hpp"

namespace couchkv::protocol {

decode_result decode_packet(bytes_view input, const decoder_limits& limits) noexcept
{
  auto fail = [](client_errc e) {
    decode_result r;
    r.state = decode_state::error;
    r.ec = e;
    return r;
  };
  if (input.size() < header_size) {
    // Even a partial header can already be rejected: a bad magic byte never becomes valid.
    if (!input.empty() && !is_known_magic(std::to_integer<std::uint8_t>(input[0]))) return fail(client_errc::invalid_magic);
    return {};
  }
  header h;
  if (int e = detail::read_header(input.data(), h); e != 0) return fail(static_cast<client_errc>(e));
  if (h.body_len > limits.max_body_len) return fail(client_errc::body_too_large);
  const std::size_t total = header_size + std::size_t{h.body_len};
  if (input.size() < total) return {.state = decode_state::need_more, .needed = total};
  // One aggregate, each field written once: filling in a default-constructed result zeroed the
  // whole packet view first (~14 more instructions per packet).
  const std::byte* p = input.data() + header_size;
  const std::byte* extras = p + h.framing_extras_len;
  const std::byte* key = extras + h.extras_len;
  const std::byte* value = key + h.key_len;
  return {.state = decode_state::complete,
          .consumed = total,
          .needed = total,
          .packet = {.hdr = h,
                     .framing_extras = {p, h.framing_extras_len},
                     .extras = {extras, h.extras_len},
                     .key = {key, h.key_len},
                     .value = {value, h.body_len - h.framing_extras_len - h.extras_len - h.key_len}}};
}

bool looks_like_http(bytes_view input) noexcept { return as_string_view(input).starts_with("HTTP/"); }

} // namespace couchkv::protocol
