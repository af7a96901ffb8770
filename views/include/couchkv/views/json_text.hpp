// Small JSON text helpers shared by the query encoder and the row parser: string escaping,
// incremental UTF-8 validation, decoding of an already validated JSON string, percent-encoding.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace couchkv::views {

// Incremental UTF-8 validator (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
class utf8_validator {
public:
  // False when c cannot continue a valid sequence.
  bool step(unsigned char c) noexcept
  {
    if (need_ == 0) {
      if (c < 0x80) return true;
      lo_ = 0x80;
      hi_ = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        need_ = 1;
      } else if (c == 0xE0) {
        need_ = 2;
        lo_ = 0xA0;
      } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need_ = 2;
      } else if (c == 0xED) {
        need_ = 2;
        hi_ = 0x9F; // U+D800..U+DFFF are not characters
      } else if (c == 0xF0) {
        need_ = 3;
        lo_ = 0x90;
      } else if (c >= 0xF1 && c <= 0xF3) {
        need_ = 3;
      } else if (c == 0xF4) {
        need_ = 3;
        hi_ = 0x8F;
      } else {
        return false;
      }
      return true;
    }
    if (c < lo_ || c > hi_) return false;
    lo_ = 0x80;
    hi_ = 0xBF;
    --need_;
    return true;
  }
  [[nodiscard]] bool complete() const noexcept { return need_ == 0; }

private:
  std::uint8_t need_{0};
  std::uint8_t lo_{0x80};
  std::uint8_t hi_{0xBF};
};

[[nodiscard]] bool is_valid_utf8(std::string_view s) noexcept;

// Appends s as a JSON string literal (quotes included). Escapes '"', '\\' and control
// characters; other bytes are copied (the caller checks UTF-8).
void append_json_string(std::string& out, std::string_view s);

// Decodes a JSON string literal (quotes included) into UTF-8; nullopt if it is not a valid one.
[[nodiscard]] std::optional<std::string> decode_json_string(std::string_view literal);

// RFC 3986 percent-encoding: A-Z a-z 0-9 - . _ ~ kept, every other byte as %XX (upper case).
void append_percent_encoded(std::string& out, std::string_view s);

} // namespace couchkv::views
