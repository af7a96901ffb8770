// What every part of the couchkv tool shares: the usage error (exit status 2), the range-checked
// number parsers and the escaping of text for the terminal.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace couchkv::cli {

// A command line (or stdin line) that cannot be run as given; the message names what is wrong.
struct usage_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Every number on the command line (couchkv and pillowfight) goes through these: a whole number
// in decimal or 0x-hexadecimal, no sign (parse_int: an optional '-'), nothing before or after,
// within [lo, hi]. Otherwise usage_error "<what>: expected a whole number from lo to hi, got ...".
[[nodiscard]] std::uint64_t parse_uint(const std::string& what, const std::string& s, std::uint64_t lo, std::uint64_t hi);
[[nodiscard]] std::int64_t parse_int(const std::string& what, const std::string& s, std::int64_t lo, std::int64_t hi);

// Text from a server or the user, made safe to print on a terminal: control characters become
// visible escapes (ESC -> \x1b, CR -> \r, LF -> \n, tab -> \t, DEL -> \x7f, the C1 controls
// U+0080-U+009F -> \u0080..\u009f), bytes that are not UTF-8 -> \xNN, and a backslash -> \\ so
// that an escape in the output is never ambiguous. Well-formed UTF-8 text passes unchanged.
[[nodiscard]] std::string escape_control(std::string_view text);

} // namespace couchkv::cli
