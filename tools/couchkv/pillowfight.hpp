// `couchkv pillowfight`: a load generator in the manner of libcouchbase's cbc-pillowfight.
//
//   couchkv pillowfight --mock --threads 2 --batch-size 64 --num-items 10000 --set-pct 20 --duration 10s
//
// Each thread has its own io_context, cluster and bucket (the facade serialises one bucket on one
// strand, so a bucket per thread is what scales) and keeps --batch-size operations in flight with
// the callback completion token. Keys are populated first unless --no-population. A progress line
// goes to stderr once a second; the summary (text or --json) goes to stdout, also after Ctrl-C.
#pragma once
#include "common.hpp"

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
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

// Parses the words after "pillowfight" (connection options may appear there too). Throws
// usage_error naming the offending option.
[[nodiscard]] pillowfight_options parse_pillowfight_options(const std::vector<std::string>& args,
                                                            connection_args conn);

void pillowfight_usage(std::ostream& out);

// The whole command; returns the process exit status (0 ran, 1 could not connect, 2 bad usage).
int pillowfight_main(const std::vector<std::string>& args, connection_args conn);

} // namespace couchkv::cli
