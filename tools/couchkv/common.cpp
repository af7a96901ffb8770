#include "common.hpp"

#include <charconv>
#include <limits>
#include <optional>

namespace couchkv::cli {

namespace {
// "0x1f" (any case) is hexadecimal, anything else decimal; no sign, no space, nothing after.
std::optional<std::uint64_t> whole_number(std::string_view s)
{
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  std::uint64_t v = 0;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v, base);
  if (s.empty() || ec != std::errc{} || p != end) return std::nullopt; // also out of range
  return v;
}
} // namespace

std::uint64_t parse_uint(const std::string& what, const std::string& s, std::uint64_t lo, std::uint64_t hi)
{
  auto v = whole_number(s);
  if (!v || *v < lo || *v > hi) {
    throw usage_error(what + ": expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                      ", got \"" + escape_control(s) + "\"");
  }
  return *v;
}

std::int64_t parse_int(const std::string& what, const std::string& s, std::int64_t lo, std::int64_t hi)
{
  const bool negative = !s.empty() && s[0] == '-';
  auto magnitude = whole_number(negative ? std::string_view(s).substr(1) : std::string_view(s));
  // -2^63 is the one value whose magnitude is not an int64_t.
  constexpr auto min_magnitude = std::uint64_t{1} << 63;
  bool ok = magnitude && (negative ? *magnitude <= min_magnitude : *magnitude < min_magnitude);
  std::int64_t v = 0;
  if (ok) {
    v = negative ? (*magnitude == min_magnitude ? std::numeric_limits<std::int64_t>::min()
                                                : -static_cast<std::int64_t>(*magnitude))
                 : static_cast<std::int64_t>(*magnitude);
    ok = v >= lo && v <= hi;
  }
  if (!ok) {
    throw usage_error(what + ": expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                      ", got \"" + escape_control(s) + "\"");
  }
  return v;
}

std::string escape_control(std::string_view text)
{
  static constexpr char hex[] = "0123456789abcdef";
  auto escaped = [](std::string& out, const char* prefix, unsigned c) {
    out += prefix;
    out += hex[(c >> 4) & 0xf];
    out += hex[c & 0xf];
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7f) escaped(out, "\\x", c); // ESC and the other C0 controls, DEL
          else out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // UTF-8: a well-formed sequence passes, except the C1 controls U+0080-U+009F (CSI is one);
    // a byte that is not part of one is shown as \xNN.
    std::size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool ok = len != 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (ok && len == 3) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0); // overlong; surrogates
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90); // overlong; beyond U+10FFFF
    }
    if (!ok) {
      escaped(out, "\\x", c);
      ++i;
    } else if (c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      escaped(out, "\\u00", static_cast<unsigned char>(text[i + 1]));
      i += 2;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

} // namespace couchkv::cli
