#include "packet_writer.hpp"

#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/observe.hpp>
#include <couchkv/protocol/opcode.hpp>

namespace couchkv::protocol {
namespace {
bool valid_keystate(std::uint8_t s) noexcept { return s == 0x00 || s == 0x01 || s == 0x80 || s == 0x81; }
} // namespace

void append_observe(byte_buffer& out, std::uint32_t opaque, std::span<const observe_key> keys)
{
  byte_buffer value;
  for (const auto& k : keys) {
    std::byte head[4];
    store_be16(head, k.vbucket);
    store_be16(head + 2, static_cast<std::uint16_t>(k.key.size()));
    value.insert(value.end(), head, head + 4);
    auto kb = as_bytes(k.key);
    value.insert(value.end(), kb.begin(), kb.end());
  }
  detail::append_packet(out, {.magic_byte = magic::client_request,
                              .opcode = static_cast<std::uint8_t>(opcode::observe),
                              .opaque = opaque,
                              .value = value});
}

std::optional<std::vector<observe_entry>> parse_observe_response(bytes_view value, std::error_code& ec)
{
  std::vector<observe_entry> out;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value.size() - pos < 4) break;
    observe_entry e;
    e.vbucket = load_be16(value.data() + pos);
    std::size_t klen = load_be16(value.data() + pos + 2);
    if (value.size() - pos - 4 < klen + 9) break; // pos only moves past whole entries
    e.key = as_string_view(value.subspan(pos + 4, klen));
    auto state = std::to_integer<std::uint8_t>(value[pos + 4 + klen]);
    if (!valid_keystate(state)) break;
    e.state = static_cast<observe_keystate>(state);
    e.cas = load_be64(value.data() + pos + 5 + klen);
    pos += 4 + klen + 9;
    out.push_back(e);
  }
  if (pos != value.size()) {
    ec = client_errc::invalid_payload;
    return std::nullopt;
  }
  ec.clear();
  return out;
}

std::optional<std::vector<observe_key>> parse_observe_request(bytes_view value, std::error_code& ec)
{
  std::vector<observe_key> out;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value.size() - pos < 4) break;
    observe_key k;
    k.vbucket = load_be16(value.data() + pos);
    std::size_t klen = load_be16(value.data() + pos + 2);
    if (value.size() - pos - 4 < klen) break; // pos only moves past whole entries
    k.key = as_string_view(value.subspan(pos + 4, klen));
    pos += 4 + klen;
    out.push_back(k);
  }
  if (pos != value.size() || out.empty()) {
    ec = client_errc::invalid_payload;
    return std::nullopt;
  }
  ec.clear();
  return out;
}

void append_observe_entry(byte_buffer& out, const observe_entry& e)
{
  std::byte head[4];
  store_be16(head, e.vbucket);
  store_be16(head + 2, static_cast<std::uint16_t>(e.key.size()));
  out.insert(out.end(), head, head + 4);
  auto kb = as_bytes(e.key);
  out.insert(out.end(), kb.begin(), kb.end());
  std::byte tail[9];
  tail[0] = static_cast<std::byte>(e.state);
  store_be64(tail + 1, e.cas);
  out.insert(out.end(), tail, tail + 9);
}

std::optional<observe_seqno_result> parse_observe_seqno_response(bytes_view value, std::error_code& ec) noexcept
{
  if (value.size() != 27 && value.size() != 43) {
    ec = client_errc::invalid_payload;
    return std::nullopt;
  }
  auto format = std::to_integer<std::uint8_t>(value[0]);
  if ((format == 0 && value.size() != 27) || (format == 1 && value.size() != 43) || format > 1) {
    ec = client_errc::invalid_payload;
    return std::nullopt;
  }
  const std::byte* p = value.data();
  observe_seqno_result r;
  r.failed_over = format == 1;
  r.vbucket = load_be16(p + 1);
  r.vbuuid = load_be64(p + 3);
  r.last_persisted_seqno = load_be64(p + 11);
  r.current_seqno = load_be64(p + 19);
  if (r.failed_over) {
    r.old_vbuuid = load_be64(p + 27);
    r.old_seqno = load_be64(p + 35);
  }
  ec.clear();
  return r;
}

void append_observe_seqno_body(byte_buffer& out, const observe_seqno_result& r)
{
  std::byte b[43];
  b[0] = static_cast<std::byte>(r.failed_over ? 1 : 0);
  store_be16(b + 1, r.vbucket);
  store_be64(b + 3, r.vbuuid);
  store_be64(b + 11, r.last_persisted_seqno);
  store_be64(b + 19, r.current_seqno);
  std::size_t n = 27;
  if (r.failed_over) {
    store_be64(b + 27, r.old_vbuuid);
    store_be64(b + 35, r.old_seqno);
    n = 43;
  }
  out.insert(out.end(), b, b + n);
}

} // namespace couchkv::protocol
