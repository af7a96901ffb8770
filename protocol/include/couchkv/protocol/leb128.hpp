// Unsigned LEB128, as used for collection ids in front of document keys (docs/protocol.md 3.10).
#pragma once
#include <couchkv/protocol/bytes.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <system_error>

namespace couchkv::protocol {

constexpr std::size_t max_leb128_u32_size = 5;

// Writes the shortest encoding into `out`; returns the number of bytes (1..5).
std::size_t encode_leb128(std::uint32_t value, std::byte* out) noexcept;

struct leb128_decoded {
  std::uint32_t value{0};
  std::size_t size{0}; // bytes consumed
};

// Decodes a canonical (shortest-form) u32 from the start of `in`. Truncated, overlong (more than
// 5 bytes or > 32 bits) and non-canonical encodings fail with client_errc::invalid_leb128.
[[nodiscard]] std::optional<leb128_decoded> decode_leb128(bytes_view in, std::error_code& ec) noexcept;

} // namespace couchkv::protocol
