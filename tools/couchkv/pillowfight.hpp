// `couchkv pillowfight`: a load generator in the manner of libcouchbase's cbc-pillowfight.
//
//   couchkv pillowfight --mock --threads 2 --batch-size 64 --num-items 10000 --set-pct 20 --duration 10s
//
// Each thread has its own io_context, cluster and bucket (the facade serialises one bucket on one
// strand, so a bucket per thread is what scales) and keeps --batch-size operations in flight with
// the callback completion token. Keys are populated first unless --no-population. A progress line
// goes to stderr once a second; the summary (text or --json) goes to stdout, also after Ctrl-C.
#pragma once
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv::cli {

// What the main `couchkv` options said before the word "pillowfight".
struct connection_args {
  std::string connstr;
  std::string user;
  std::string password;
  bool mock{false};
  std::chrono::milliseconds timeout{2500};
};

struct pillowfight_options {
  connection_args conn;
  unsigned threads{1};
  unsigned batch_size{100};      // operations in flight per thread
  std::uint64_t num_items{1000}; // key space
  std::size_t min_size{50};      // value sizes, bytes
  std::size_t max_size{5120};
  unsigned set_pct{33};
  std::optional<std::uint64_t> num_ops{};                  // neither this nor duration: until Ctrl-C
  std::optional<std::chrono::milliseconds> duration{};
  int persist_to{0};
  int replicate_to{0};
  std::string key_prefix{};
  bool populate_only{false};
  bool no_population{false};
  bool json{false};
  bool progress{true};
  std::uint64_t seed{0};
};

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

// Parses the words after "pillowfight" (connection options may appear there too). Throws
// usage_error naming the offending option.
[[nodiscard]] pillowfight_options parse_pillowfight_options(const std::vector<std::string>& args,
                                                            connection_args conn);

void pillowfight_usage(std::ostream& out);

// The whole command; returns the process exit status (0 ran, 1 could not connect, 2 bad usage).
int pillowfight_main(const std::vector<std::string>& args, connection_args conn);

} // namespace couchkv::cli
