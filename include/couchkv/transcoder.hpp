// Document formats and the 32-bit flags that say which one a stored value is.
//
// The flags follow the Couchbase "common flags" convention shared by the SDKs (format in the top
// byte) together with the Python SDK 2.x legacy bits in the low byte, exactly as that SDK writes
// them, so documents written here read back correctly there and in the other SDKs:
//   JSON   = 0x02000000   (legacy 0x00)
//   binary = 0x03000002   (legacy 0x02)
//   UTF-8  = 0x04000004   (legacy 0x04)
// Reading accepts common flags first and falls back to the legacy low bits for values written by
// old clients (flags 0 is JSON, as it was for the Python SDK 2.x).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <nlohmann/json_fwd.hpp>

namespace couchkv {

enum class format : std::uint8_t { json, utf8, binary, pickle, unknown };

namespace flags {
constexpr std::uint32_t common_mask = 0xff000000u;
constexpr std::uint32_t legacy_mask = 0x00000007u;
constexpr std::uint32_t json = 0x02000000u;
constexpr std::uint32_t binary = 0x03000002u;
constexpr std::uint32_t utf8 = 0x04000004u;
constexpr std::uint32_t pickle = 0x01000001u; // recognised when reading, never written
} // namespace flags

// Which format stored flags describe.
[[nodiscard]] format format_of(std::uint32_t stored_flags) noexcept;
[[nodiscard]] std::uint32_t flags_for(format f) noexcept;
[[nodiscard]] std::string_view to_string(format f) noexcept;

// A value ready to be stored: its bytes, the flags describing it, the datatype byte for the wire
// (JSON bit only when the connection negotiated the JSON feature; the io layer clears it otherwise).
struct encoded_value {
  std::string data;
  std::uint32_t flags{flags::json};
  std::uint8_t datatype{0};
};

// JSON text (not validated beyond a cheap check: the server and other SDKs treat the JSON flag as a
// promise, so json_text() validates and fails on malformed text).
[[nodiscard]] encoded_value json_text(std::string_view text, std::error_code& ec);
[[nodiscard]] encoded_value json_document(const nlohmann::json& value);
[[nodiscard]] encoded_value utf8_text(std::string_view text, std::error_code& ec); // validates UTF-8
[[nodiscard]] encoded_value binary(std::span<const std::byte> bytes);
[[nodiscard]] encoded_value binary(std::string_view bytes);

// Decoders check that the stored flags say the asked-for format (a JSON document read as binary is
// fine: binary reads any bytes).
[[nodiscard]] std::optional<nlohmann::json> decode_json(std::string_view data, std::uint32_t stored_flags,
                                                        std::error_code& ec);
[[nodiscard]] std::optional<std::string> decode_utf8(std::string_view data, std::uint32_t stored_flags,
                                                     std::error_code& ec);

[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

} // namespace couchkv
