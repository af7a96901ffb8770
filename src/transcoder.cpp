#include <couchkv/errors.hpp>
#include <couchkv/transcoder.hpp>

#include <nlohmann/json.hpp>

namespace couchkv {
namespace {
constexpr std::uint8_t datatype_json = 0x01;

format from_common(std::uint32_t f) noexcept
{
  switch (f >> 24) {
    case 0x01: return format::pickle;
    case 0x02: return format::json;
    case 0x03: return format::binary;
    case 0x04: return format::utf8;
    default: return format::unknown;
  }
}
} // namespace

format format_of(std::uint32_t stored_flags) noexcept
{
  if ((stored_flags & flags::common_mask) != 0) return from_common(stored_flags);
  // Legacy (pre common-flags) Python SDK 2.x values: the low bits alone.
  switch (stored_flags & flags::legacy_mask) {
    case 0x00: return format::json;
    case 0x01: return format::pickle;
    case 0x02: return format::binary;
    case 0x04: return format::utf8;
    default: return format::unknown;
  }
}

std::uint32_t flags_for(format f) noexcept
{
  switch (f) {
    case format::json: return flags::json;
    case format::utf8: return flags::utf8;
    case format::binary: return flags::binary;
    case format::pickle: return flags::pickle;
    case format::unknown: break;
  }
  return flags::binary;
}

std::string_view to_string(format f) noexcept
{
  switch (f) {
    case format::json: return "json";
    case format::utf8: return "utf8";
    case format::binary: return "binary";
    case format::pickle: return "pickle";
    case format::unknown: break;
  }
  return "unknown";
}

bool is_valid_utf8(std::string_view text) noexcept
{
  auto p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    for (std::size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t min_for_len[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += n + 1;
  }
  return true;
}

encoded_value json_text(std::string_view text, std::error_code& ec)
{
  if (!nlohmann::json::accept(text)) {
    ec = make_error_code(protocol::client_errc::invalid_argument);
    return {};
  }
  ec.clear();
  return {std::string(text), flags::json, datatype_json};
}

encoded_value json_document(const nlohmann::json& value)
{
  return {value.dump(), flags::json, datatype_json};
}

encoded_value utf8_text(std::string_view text, std::error_code& ec)
{
  if (!is_valid_utf8(text)) {
    ec = make_error_code(protocol::client_errc::invalid_argument);
    return {};
  }
  ec.clear();
  return {std::string(text), flags::utf8, 0};
}

encoded_value binary(std::span<const std::byte> bytes)
{
  return {std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), flags::binary, 0};
}

encoded_value binary(std::string_view bytes) { return {std::string(bytes), flags::binary, 0}; }

std::optional<nlohmann::json> decode_json(std::string_view data, std::uint32_t stored_flags, std::error_code& ec)
{
  if (format_of(stored_flags) != format::json) {
    ec = make_error_code(protocol::client_errc::invalid_payload);
    return std::nullopt;
  }
  auto value = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    ec = make_error_code(protocol::client_errc::invalid_payload);
    return std::nullopt;
  }
  ec.clear();
  return value;
}

std::optional<std::string> decode_utf8(std::string_view data, std::uint32_t stored_flags, std::error_code& ec)
{
  auto f = format_of(stored_flags);
  // JSON text is UTF-8 too; reading a JSON document as a string is what users expect.
  if ((f != format::utf8 && f != format::json) || !is_valid_utf8(data)) {
    ec = make_error_code(protocol::client_errc::invalid_payload);
    return std::nullopt;
  }
  ec.clear();
  return std::string(data);
}

} // namespace couchkv
