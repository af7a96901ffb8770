#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/leb128.hpp>

namespace couchkv::protocol {

std::size_t encode_leb128(std::uint32_t value, std::byte* out) noexcept
{
  std::size_t n = 0;
  do {
    auto b = static_cast<std::uint8_t>(value & 0x7f);
    value >>= 7;
    if (value != 0) b |= 0x80;
    out[n++] = static_cast<std::byte>(b);
  } while (value != 0);
  return n;
}

std::optional<leb128_decoded> decode_leb128(bytes_view in, std::error_code& ec) noexcept
{
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size() && i < max_leb128_u32_size; ++i) {
    auto b = std::to_integer<std::uint8_t>(in[i]);
    value |= std::uint64_t{b & 0x7fu} << (7 * i);
    if ((b & 0x80) == 0) {
      // A last byte of 0 after the first means a longer-than-needed encoding.
      if ((i > 0 && b == 0) || value > 0xffffffffull) break;
      ec.clear();
      return leb128_decoded{static_cast<std::uint32_t>(value), i + 1};
    }
  }
  ec = client_errc::invalid_leb128;
  return std::nullopt;
}

} // namespace couchkv::protocol
