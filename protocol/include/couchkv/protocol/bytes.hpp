// Big-endian load/store over std::byte buffers. Every multi-byte field on the wire is big-endian.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace couchkv::protocol {

using bytes_view = std::span<const std::byte>;
using byte_buffer = std::vector<std::byte>;

inline std::uint16_t load_be16(const std::byte* p) noexcept
{
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}
inline std::uint32_t load_be32(const std::byte* p) noexcept
{
  return (std::uint32_t{std::to_integer<std::uint8_t>(p[0])} << 24) |
         (std::uint32_t{std::to_integer<std::uint8_t>(p[1])} << 16) |
         (std::uint32_t{std::to_integer<std::uint8_t>(p[2])} << 8) |
         std::uint32_t{std::to_integer<std::uint8_t>(p[3])};
}
inline std::uint64_t load_be64(const std::byte* p) noexcept
{
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline void store_be16(std::byte* p, std::uint16_t v) noexcept
{
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v);
}
inline void store_be32(std::byte* p, std::uint32_t v) noexcept
{
  p[0] = static_cast<std::byte>(v >> 24);
  p[1] = static_cast<std::byte>(v >> 16);
  p[2] = static_cast<std::byte>(v >> 8);
  p[3] = static_cast<std::byte>(v);
}
inline void store_be64(std::byte* p, std::uint64_t v) noexcept
{
  store_be32(p, static_cast<std::uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<std::uint32_t>(v));
}

inline bytes_view as_bytes(std::string_view s) noexcept
{
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string_view(bytes_view b) noexcept
{
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

} // namespace couchkv::protocol
