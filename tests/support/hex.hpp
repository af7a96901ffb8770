// Test helpers for byte vectors written as hex strings.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv::test {

inline std::vector<std::byte> from_hex(std::string_view hex)
{
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  std::vector<std::byte> out;
  int hi = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '_') continue;
    if (hi < 0) {
      hi = nibble(c);
    } else {
      out.push_back(static_cast<std::byte>((hi << 4) | nibble(c)));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

template <class Bytes>
std::string to_hex(const Bytes& bytes)
{
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    auto v = static_cast<unsigned char>(b);
    out.push_back(digits[v >> 4]);
    out.push_back(digits[v & 0xf]);
  }
  return out;
}

inline std::vector<std::byte> bytes_of(std::string_view s)
{
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

} // namespace couchkv::test
