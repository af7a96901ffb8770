// Runs parsed commands (commands.hpp) against an open bucket and prints what they did: a line per
// result on standard output, each failure as "COMMAND KEY: error: ..." there too.
#pragma once
#include "commands.hpp"

#include <couchkv/async_bucket.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

namespace couchkv::cli {

// Each kind of operation's timeout (the global --timeout sets them all).
struct timeouts {
  std::chrono::milliseconds kv{2500};
  std::chrono::milliseconds durability{5000}; // polling for --persist-to / --replicate-to, endure
  std::chrono::milliseconds views{75000};     // view queries and design documents (the SDKs' default)
};

class session {
public:
  // `bucket` may be empty for the commands that need none (help, version). `fail_over` fails a
  // node over (the embedded mock's control); empty without --mock.
  session(async_bucket bucket, timeouts t, std::function<void(std::uint32_t)> fail_over = {})
      : bucket_(std::move(bucket)), timeouts_(t), fail_over_(std::move(fail_over))
  {
  }

  // Runs one command. Returns false when an operation failed (each failure is printed). Throws
  // usage_error for an argument it cannot use, before anything of that command is sent.
  bool run(const invocation& command);

private:
  bool get(const std::vector<std::string>& keys);
  bool store(const invocation& c);
  bool remove(const invocation& c);
  bool counter(const invocation& c);
  bool endure(const invocation& c);
  bool view(const invocation& c);
  bool design(const invocation& c);
  bool hash(const std::vector<std::string>& keys);
  bool basic(const invocation& c); // the commands without options
  [[nodiscard]] durability_options durability_of(const command_options& o) const;

  async_bucket bucket_;
  timeouts timeouts_;
  std::function<void(std::uint32_t)> fail_over_;
};

// help [COMMAND...]: the usage, or each named command's help. Throws usage_error for a name
// that is no command.
void print_help(std::ostream& out, std::span<const std::string> names);

} // namespace couchkv::cli
