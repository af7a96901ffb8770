// Mutation token from the 16-byte extras of a successful mutation (HELLO MutationSeqno):
// vbucket UUID then sequence number, both big-endian (docs/protocol.md 3.3).
#pragma once
#include <couchkv/protocol/bytes.hpp>

#include <cstdint>
#include <optional>

namespace couchkv::protocol {

struct mutation_token {
  std::uint16_t vbucket{0};
  std::uint64_t vbuuid{0};
  std::uint64_t seqno{0};
  friend bool operator==(const mutation_token&, const mutation_token&) = default;
};

// nullopt unless the extras are exactly 16 bytes (servers without MutationSeqno send none).
[[nodiscard]] inline std::optional<mutation_token> parse_mutation_token(bytes_view extras, std::uint16_t vbucket) noexcept
{
  if (extras.size() != 16) return std::nullopt;
  return mutation_token{vbucket, load_be64(extras.data()), load_be64(extras.data() + 8)};
}

inline void write_mutation_token_extras(std::byte* out16, std::uint64_t vbuuid, std::uint64_t seqno) noexcept
{
  store_be64(out16, vbuuid);
  store_be64(out16 + 8, seqno);
}

} // namespace couchkv::protocol
