// The couchkv tool's command line: one table of commands (their arguments, the options each one
// accepts, their help text) and one parser for all of them. Pure: nothing here talks to a server,
// so the whole grammar is unit-tested (tests/tools/couchkv/test_commands.cpp).
//
//   couchkv [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]
//
// Options are words that start with "--" (values follow as the next word, or "--name=value");
// "--" ends the options, so that a value may start with "--". Anything a command does not declare
// is a usage_error naming the option and the command.
#pragma once
#include "common.hpp"

#include <couchkv/protocol/frame_info.hpp>
#include <couchkv/views.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv::cli {

// How a value given on the command line is stored (its common flags say which).
enum class value_format : std::uint8_t { json, string, binary };

// What the options of a command said, typed and range-checked; unset options keep these defaults.
struct command_options {
  value_format format{value_format::json};
  std::uint64_t cas{0};
  std::optional<std::chrono::seconds> expiry{};
  std::optional<std::uint64_t> initial{};
  // Durability: polled (persist_to / replicate_to, -1 = every node there is) or synchronous.
  int persist_to{0};
  int replicate_to{0};
  std::optional<protocol::durability_level> durability{};
  bool removed{false}; // endure: wait for a removal instead
  // Views. Keys are JSON texts, checked when parsed.
  std::optional<std::int64_t> limit{};
  std::optional<std::int64_t> skip{};
  std::optional<std::string> key{};
  std::optional<std::vector<std::string>> keys{};
  std::optional<std::string> start_key{};
  std::optional<std::string> end_key{};
  bool descending{false};
  std::optional<bool> reduce{};
  bool group{false};
  std::optional<std::int64_t> group_level{};
  std::optional<view_stale> stale{};
  bool include_docs{false};
};

// What the options before the command said.
struct global_options {
  std::string connstr;
  std::string user;
  std::string password;
  bool mock{false};
  std::optional<std::chrono::milliseconds> timeout{}; // unset: each kind of operation's default
  bool help{false};
};

// One option: its name, what value it takes (empty: a flag), its help line and how it lands in
// Target. `apply` throws usage_error for a value it cannot take.
template <class Target>
struct option_spec {
  std::string_view name;  // "--persist-to"
  std::string_view alias; // "-u", or empty
  std::string_view value; // "N"; empty for a flag
  std::string_view help;
  void (*apply)(Target&, const std::string& value);
};
using command_option = option_spec<command_options>;
using global_option = option_spec<global_options>;

enum class command_id : std::uint8_t {
  get, upsert, insert, replace, append, prepend, remove, counter, touch, lock, unlock, replica, observe, endure,
  stats, view, design_get, design_upsert, design_list, design_remove, design_publish, hash, failover,
  pillowfight, version, help,
};

struct command_spec {
  static constexpr std::size_t many = std::numeric_limits<std::size_t>::max();

  command_id id;
  std::string_view name;     // "get", or a family and its action: "design upsert"
  std::string_view synopsis; // the arguments: "KEY VALUE"
  std::size_t min_args;
  std::size_t max_args;      // `many`: no limit
  std::span<const command_option> options;
  std::string_view summary;  // one line, for --help
  std::string_view details;  // help COMMAND, after the synopsis
  bool needs_bucket{true};   // false: runs without a connection (help, version)
  bool own_parser{false};    // its words go to it unparsed (pillowfight)
};

// Every command, in the order --help lists them.
[[nodiscard]] std::span<const command_spec> commands() noexcept;
[[nodiscard]] std::span<const global_option> global_options_table() noexcept;

// A parsed command: which one, its positional arguments, its options.
struct invocation {
  const command_spec* command{nullptr};
  std::vector<std::string> args;
  command_options options;
  bool help{false}; // `COMMAND --help`: show its help instead of running it
};

// Parses one command (the words after the global options). Throws usage_error.
[[nodiscard]] invocation parse_command(std::span<const std::string> words);

// Parses the global options at the front of argv; returns where the command starts. Throws
// usage_error (an unknown option before the command, a bad value).
[[nodiscard]] std::size_t parse_global_options(std::span<const std::string> words, global_options& out);

// Splits a line of standard input into words: separated by white space, except that a word that
// starts with '{', '[' or '"' runs to the end of that JSON value (spaces included, kept as typed)
// and a word in single quotes is what is between them (spaces included, no escapes, as in sh).
[[nodiscard]] std::vector<std::string> split_line(std::string_view line);

// The commands a help request names: "design" gives every design action. Empty: none.
[[nodiscard]] std::vector<const command_spec*> find_help(std::span<const std::string> words);

void print_usage(std::ostream& out);                           // --help
void print_command_help(std::ostream& out, const command_spec& c); // help COMMAND

} // namespace couchkv::cli
