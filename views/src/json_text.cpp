#include <couchkv/views/json_text.hpp>

namespace couchkv::views {
namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";

int hex_value(char c) noexcept
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::uint32_t> read_hex4(std::string_view s, std::size_t at) noexcept
{
  if (at + 4 > s.size()) return std::nullopt;
  std::uint32_t v = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    int h = hex_value(s[i]);
    if (h < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint32_t>(h);
  }
  return v;
}

void append_utf8(std::string& out, std::uint32_t cp)
{
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

} // namespace

bool is_valid_utf8(std::string_view s) noexcept
{
  utf8_validator v;
  for (char c : s) {
    if (!v.step(static_cast<unsigned char>(c))) return false;
  }
  return v.complete();
}

void append_json_string(std::string& out, std::string_view s)
{
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += hex_digits[(static_cast<unsigned char>(c) >> 4) & 0xF];
          out += hex_digits[static_cast<unsigned char>(c) & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::optional<std::string> decode_json_string(std::string_view literal)
{
  if (literal.size() < 2 || literal.front() != '"' || literal.back() != '"') return std::nullopt;
  std::string out;
  out.reserve(literal.size() - 2);
  utf8_validator utf8;
  const std::size_t end = literal.size() - 1;
  for (std::size_t i = 1; i < end; ++i) {
    const char c = literal[i];
    if (c == '"' || static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    if (c != '\\') {
      if (!utf8.step(static_cast<unsigned char>(c))) return std::nullopt;
      out += c;
      continue;
    }
    if (!utf8.complete() || ++i >= end) return std::nullopt;
    switch (literal[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        auto unit = read_hex4(literal.substr(0, end), i + 1);
        if (!unit) return std::nullopt;
        i += 4;
        std::uint32_t cp = *unit;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return std::nullopt; // lone low surrogate
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i + 2 >= end || literal[i + 1] != '\\' || literal[i + 2] != 'u') return std::nullopt;
          auto low = read_hex4(literal.substr(0, end), i + 3);
          if (!low || *low < 0xDC00 || *low > 0xDFFF) return std::nullopt;
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00);
        }
        append_utf8(out, cp);
        break;
      }
      default: return std::nullopt;
    }
  }
  if (!utf8.complete()) return std::nullopt;
  return out;
}

void append_percent_encoded(std::string& out, std::string_view s)
{
  for (char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += hex_digits[(static_cast<unsigned char>(c) >> 4) & 0xF];
      out += hex_digits[static_cast<unsigned char>(c) & 0xF];
    }
  }
}

} // namespace couchkv::views
