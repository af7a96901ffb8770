// couchkv: a command-line client (like libcouchbase's cbc).
//
//   couchkv --connstr couchbase://host/bucket --user U --password P get KEY
//   couchkv --mock upsert k '{"a":1}'          # against an embedded mock cluster
//   printf 'upsert k {"a":1}\nget k\n' | couchkv --mock    # several commands, one cluster
//
// The grammar (every command, its options, its help) is commands.hpp's table; running a command is
// session.hpp's. Exit status: 0 all went as asked, 1 an operation failed (or the bucket could not
// be opened), 2 a usage error.
#include "commands.hpp"
#include "pillowfight.hpp"
#include "session.hpp"

#include <couchkv/cluster.hpp>

#ifdef COUCHKV_WITH_MOCK
#include <couchkv_mock/cluster.hpp>
#endif

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace couchkv;
using namespace couchkv::cli;

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

std::string shown(std::string_view text) { return escape_control(text); }

// One command from the command line.
int run_one(session& s, const invocation& command)
{
  try {
    return s.run(command) ? exit_ok : exit_failed;
  } catch (const usage_error& e) {
    std::cerr << "couchkv: " << e.what() << "\n";
    return exit_usage;
  }
}

// Commands from standard input, one per line. A line that starts with '!' must fail (an operation
// error or a usage error); any other must succeed. Every line runs; the status is the worst seen:
// a usage error on a line that was to succeed is 2, any other surprise 1.
int run_script(session& s, std::istream& in)
{
  int status = exit_ok;
  std::string line;
  while (std::getline(in, line)) {
    const auto start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    line.erase(0, start);
    const bool expect_failure = line[0] == '!';
    if (expect_failure) line.erase(0, 1);
    std::cout << "> " << shown(line) << (expect_failure ? "   (expected to fail)" : "") << "\n";
    bool ok = false;
    bool usage = false;
    try {
      ok = s.run(parse_command(split_line(line)));
    } catch (const usage_error& e) {
      std::cout << "  usage error: " << e.what() << "\n";
      usage = true;
    }
    if (ok == expect_failure) {
      std::cout << "  ^ unexpected " << (ok ? "success" : "failure") << "\n";
      status = std::max(status, usage ? exit_usage : exit_failed);
    }
  }
  return status;
}

timeouts timeouts_from(const global_options& g)
{
  timeouts t;
  if (g.timeout) t.kv = t.durability = t.views = *g.timeout;
  return t;
}

} // namespace

int main(int argc, char** argv)
{
  const std::vector<std::string> words(argv + 1, argv + argc);
  global_options g;
  std::optional<invocation> command;
  try {
    const auto at = parse_global_options(words, g);
    if (g.help) {
      print_usage(std::cout);
      return exit_ok;
    }
    if (at < words.size()) command = parse_command(std::span(words).subspan(at));
  } catch (const usage_error& e) {
    std::cerr << "couchkv: " << e.what() << "\n";
    return exit_usage;
  }
  if (command && command->command->own_parser) { // pillowfight: its own options, clusters and exit statuses
    return pillowfight_main(command->args, {g.connstr, g.user, g.password, g.mock, g.timeout.value_or(timeouts{}.kv)});
  }
  if (command && (command->help || !command->command->needs_bucket)) {
    session offline({}, timeouts_from(g));
    return run_one(offline, *command);
  }

#ifdef COUCHKV_WITH_MOCK
  std::unique_ptr<mock::cluster> mock_cluster;
  if (g.mock) {
    if (!g.connstr.empty()) {
      std::cerr << "couchkv: give --connstr or --mock, not both\n";
      return exit_usage;
    }
    mock_cluster = std::make_unique<mock::cluster>();
    mock_cluster->start();
    g.connstr = mock_cluster->connection_string();
    if (g.user.empty()) g.user = "default";
    if (g.password.empty()) g.password = "password";
    std::cerr << "embedded mock cluster: " << g.connstr << "\n";
  }
#else
  if (g.mock) {
    std::cerr << "couchkv: this build has no mock cluster (configure with COUCHKV_BUILD_MOCK=ON)\n";
    return exit_usage;
  }
#endif
  if (g.connstr.empty()) {
    std::cerr << "couchkv: give --connstr or --mock\n";
    print_usage(std::cerr);
    return exit_usage;
  }

  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  int status = exit_ok;
  try {
    cluster c(io.get_executor(), g.connstr, {g.user, g.password});
    async_bucket bucket;
    try {
      bucket = c.open_bucket().get();
    } catch (const std::system_error& e) {
      std::cerr << "couchkv: cannot open the bucket: " << shown(e.code().message()) << ": " << shown(c.last_error_detail())
                << "\n";
      status = exit_failed;
    }
    if (status == exit_ok) {
      std::function<void(std::uint32_t)> fail_over;
#ifdef COUCHKV_WITH_MOCK
      if (mock_cluster) fail_over = [m = mock_cluster.get()](std::uint32_t node) { m->failover(node); };
#endif
      session s(bucket, timeouts_from(g), std::move(fail_over));
      status = command ? run_one(s, *command) : run_script(s, std::cin);
      bucket.close();
    }
  } catch (const std::system_error& e) {
    // A connection string the cluster cannot use: it says which part.
    std::cerr << "couchkv: " << shown(e.what()) << "\n";
    status = exit_usage;
  }
  guard.reset();
  io.stop();
  runner.join();
  return status;
}
