#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/frame_info.hpp>

#include <cmath>

namespace couchkv::protocol {

void append_frame_info(byte_buffer& out, std::uint16_t id, bytes_view payload)
{
  // Nibble 15 escapes: the real value minus 15 follows in an extra byte, id escape first.
  const auto len = payload.size();
  std::uint8_t id_nibble = id < 15 ? static_cast<std::uint8_t>(id) : 15;
  std::uint8_t len_nibble = len < 15 ? static_cast<std::uint8_t>(len) : 15;
  out.push_back(static_cast<std::byte>((id_nibble << 4) | len_nibble));
  if (id >= 15) out.push_back(static_cast<std::byte>(id - 15));
  if (len >= 15) out.push_back(static_cast<std::byte>(len - 15));
  out.insert(out.end(), payload.begin(), payload.end());
}

void append_durability_frame(byte_buffer& out, const durability_requirement& req)
{
  std::byte payload[3]{static_cast<std::byte>(req.level)};
  std::size_t n = 1;
  if (req.timeout_ms) {
    store_be16(payload + 1, *req.timeout_ms);
    n = 3;
  }
  append_frame_info(out, static_cast<std::uint16_t>(request_frame_id::durability_requirement), {payload, n});
}

void append_preserve_ttl_frame(byte_buffer& out)
{
  append_frame_info(out, static_cast<std::uint16_t>(request_frame_id::preserve_ttl), {});
}

std::optional<frame_info> frame_info_reader::next() noexcept
{
  if (rest_.empty() || ec_) return std::nullopt;
  std::size_t pos = 0;
  auto first = std::to_integer<std::uint8_t>(rest_[pos++]);
  std::uint16_t id = first >> 4;
  std::size_t len = first & 0x0f;
  if (id == 15) {
    if (pos >= rest_.size()) {
      ec_ = client_errc::invalid_frame_info;
      return std::nullopt;
    }
    id = static_cast<std::uint16_t>(15 + std::to_integer<std::uint8_t>(rest_[pos++]));
  }
  if (len == 15) {
    if (pos >= rest_.size()) {
      ec_ = client_errc::invalid_frame_info;
      return std::nullopt;
    }
    len = 15 + std::to_integer<std::uint8_t>(rest_[pos++]);
  }
  if (rest_.size() - pos < len) {
    ec_ = client_errc::invalid_frame_info;
    return std::nullopt;
  }
  frame_info f{id, rest_.subspan(pos, len)};
  rest_ = rest_.subspan(pos + len);
  return f;
}

std::uint16_t encode_server_duration(std::chrono::microseconds us) noexcept
{
  if (us.count() <= 0) return 0;
  double enc = std::pow(static_cast<double>(us.count()) * 2.0, 1.0 / 1.74);
  if (enc >= 65535.0) return 65535;
  return static_cast<std::uint16_t>(enc);
}

std::chrono::microseconds decode_server_duration(std::uint16_t encoded) noexcept
{
  return std::chrono::microseconds{static_cast<std::int64_t>(std::llround(std::pow(encoded, 1.74) / 2.0))};
}

std::optional<durability_requirement> parse_durability_frame(bytes_view payload, std::error_code& ec) noexcept
{
  if (payload.size() != 1 && payload.size() != 3) {
    ec = client_errc::invalid_frame_info;
    return std::nullopt;
  }
  auto level = std::to_integer<std::uint8_t>(payload[0]);
  if (level < 1 || level > 3) {
    ec = client_errc::invalid_frame_info;
    return std::nullopt;
  }
  durability_requirement req{static_cast<durability_level>(level), std::nullopt};
  if (payload.size() == 3) {
    auto t = load_be16(payload.data() + 1);
    if (t == 0 || t == 0xffff) { // reserved values
      ec = client_errc::invalid_frame_info;
      return std::nullopt;
    }
    req.timeout_ms = t;
  }
  ec.clear();
  return req;
}

} // namespace couchkv::protocol
