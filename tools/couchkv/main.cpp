// couchkv: a command-line client (like libcouchbase's cbc).
//
//   couchkv --connstr couchbase://host/bucket --user U --password P get KEY
//   couchkv --mock upsert k '{"a":1}'          # against an embedded mock cluster
//   printf 'upsert k {"a":1}\nget k\n' | couchkv --mock    # several commands, one cluster
#include "pillowfight.hpp"

#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/version.hpp>

#ifdef COUCHKV_WITH_MOCK
#include <couchkv_mock/cluster.hpp>
#endif

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace couchkv;
using namespace std::chrono_literals;

void usage(std::ostream& out)
{
  out << "usage: couchkv [--connstr S] [--user U] [--password P] [--mock] [--timeout MS] COMMAND [ARGS]\n"
         "commands:\n"
         "  get KEY...                      print value, flags, CAS\n"
         "  upsert|insert|replace KEY JSON  [--cas N] [--expiry S]\n"
         "  append|prepend KEY TEXT\n"
         "  remove KEY [--cas N]\n"
         "  counter KEY DELTA [--initial N]\n"
         "  touch KEY EXPIRY_S\n"
         "  lock KEY [SECONDS]              get-and-lock; prints the lock CAS\n"
         "  unlock KEY CAS\n"
         "  replica KEY                     read from any replica\n"
         "  observe KEY                     what the master and each replica hold of KEY\n"
         "  stats [GROUP]                   STAT from every data node\n"
         "  failover NODE                   (--mock only) fail over a mock node\n"
         "  pillowfight [OPTIONS]           load generator (pillowfight --help)\n"
         "  version\n"
         "Without COMMAND, commands are read from standard input, one per line; a line that\n"
         "starts with '!' must fail (the exit status says whether every line did as expected).\n"
         "Numbers are whole numbers (decimal, or 0x hexadecimal as the CAS values printed) in the\n"
         "range each one has; anything else is a usage error (exit status 2).\n"
         "Text from the server is printed with control characters escaped (\\x1b, \\r, \\n, ...). A\n"
         "value is printed as stored unless it holds such characters; then it is escaped (a\n"
         "backslash as \\\\) and the line ends with \"(escaped)\".\n"
         "--mock starts an embedded mock cluster (3 nodes, 1024 vBuckets, 1 replica, bucket\n"
         "\"default\", password \"password\") and connects to it.\n";
}

// A usage error: exit status 2 (as pillowfight's). Every number is parsed by cli::parse_uint /
// parse_int: range-checked, with a message naming what was wrong.
using cli_error = couchkv::cli::usage_error;
using couchkv::cli::parse_int;
using couchkv::cli::parse_uint;
constexpr std::uint64_t u64_max = ~std::uint64_t{0};
constexpr std::uint64_t u32_max = 0xffffffffu;

// Server-provided (and echoed) text, safe for the terminal: see cli::escape_control.
std::string shown(std::string_view text) { return couchkv::cli::escape_control(text); }

// A document's value: printed as it is (JSON documents normally are) unless it holds control
// characters or bytes that are not UTF-8; then escaped, and the line says "(escaped)". A value
// is never allowed to move the cursor, clear the screen or fake a line of output.
struct value_text {
  std::string text;
  bool escaped{false};
};
value_text printable_value(std::string_view v)
{
  // Backslashes alone need no escaping: printed as is they cannot do harm.
  std::string without_backslashes;
  for (char ch : v) {
    if (ch != '\\') without_backslashes += ch;
  }
  if (couchkv::cli::escape_control(without_backslashes) == without_backslashes) return {std::string(v), false};
  return {couchkv::cli::escape_control(v), true};
}
std::ostream& operator<<(std::ostream& out, const value_text& v) { return out << v.text; }
const char* escaped_note(const value_text& v) { return v.escaped ? " (escaped)" : ""; }

struct session {
  async_bucket& bucket;
  std::chrono::milliseconds timeout;
#ifdef COUCHKV_WITH_MOCK
  mock::cluster* mock{nullptr};
#endif

  // Runs one command; returns false if it failed (the error is printed).
  bool run(std::vector<std::string> args)
  {
    if (args.empty()) return true;
    auto cmd = args[0];
    args.erase(args.begin());
    std::uint64_t cas = 0;
    std::int64_t expiry = 0;
    std::optional<std::uint64_t> initial;
    std::vector<std::string> pos;
    for (std::size_t i = 0; i < args.size(); ++i) {
      auto need = [&]() -> std::string {
        if (i + 1 >= args.size()) throw cli_error(shown(args[i]) + " needs a value");
        return args[++i];
      };
      // --expiry: seconds (relative up to 30 days, then from now; see expiry_time); the facade
      // refuses what cannot be sent (past 2106).
      if (args[i] == "--cas") cas = parse_uint("--cas", need(), 0, u64_max);
      else if (args[i] == "--expiry") expiry = static_cast<std::int64_t>(parse_uint("--expiry", need(), 0, u32_max));
      else if (args[i] == "--initial") initial = parse_uint("--initial", need(), 0, u64_max);
      else pos.push_back(args[i]);
    }
    auto want = [&](std::size_t n) {
      if (pos.size() < n) throw cli_error(shown(cmd) + ": expected " + std::to_string(n) + " argument(s)");
    };
    try {
      if (cmd == "get") {
        want(1);
        for (const auto& k : pos) {
          auto r = bucket.get(k, {.timeout = timeout}).get();
          auto v = printable_value(r.value);
          std::cout << shown(k) << "  " << v << "  flags=0x" << std::hex << r.flags << " cas=0x" << r.cas << std::dec
                    << " (" << to_string(r.format()) << ")" << escaped_note(v) << "\n";
        }
      } else if (cmd == "upsert" || cmd == "insert" || cmd == "replace") {
        want(2);
        mutation_options o{.cas = cas, .expiry = std::chrono::seconds(expiry), .timeout = timeout};
        auto r = cmd == "upsert" ? bucket.upsert(pos[0], pos[1], o).get()
                 : cmd == "insert" ? bucket.insert(pos[0], pos[1], o).get()
                                   : bucket.replace(pos[0], pos[1], o).get();
        print_mutation(cmd, r);
      } else if (cmd == "append" || cmd == "prepend") {
        want(2);
        mutation_options o{.cas = cas, .timeout = timeout};
        auto r = cmd == "append" ? bucket.append(pos[0], pos[1], o).get() : bucket.prepend(pos[0], pos[1], o).get();
        print_mutation(cmd, r);
      } else if (cmd == "remove") {
        want(1);
        print_mutation(cmd, bucket.remove(pos[0], {.cas = cas, .timeout = timeout}).get());
      } else if (cmd == "counter") {
        want(2);
        auto delta = parse_int("counter: DELTA", pos[1], std::numeric_limits<std::int64_t>::min(),
                               std::numeric_limits<std::int64_t>::max());
        auto r = bucket.counter(pos[0], delta, {.initial = initial, .expiry = std::chrono::seconds(expiry),
                                                .timeout = timeout}).get();
        std::cout << shown(pos[0]) << "  counter=" << r.value << " cas=0x" << std::hex << r.cas << std::dec << "\n";
      } else if (cmd == "touch") {
        want(2);
        print_mutation(cmd, bucket.touch(pos[0], std::chrono::seconds(parse_uint("touch: EXPIRY_S", pos[1], 0, u32_max)),
                                             {.timeout = timeout}).get());
      } else if (cmd == "lock") {
        want(1);
        // The wire's 32 bits; the server applies its own maximum (30 s on Couchbase Server).
        auto secs = pos.size() > 1 ? parse_uint("lock: SECONDS", pos[1], 0, u32_max) : 15;
        auto r = bucket.get_and_lock(pos[0], {.lock_time = std::chrono::seconds(secs), .timeout = timeout}).get();
        auto v = printable_value(r.value);
        std::cout << shown(pos[0]) << "  locked  " << v << "  lock_cas=0x" << std::hex << r.cas << std::dec
                  << escaped_note(v) << "\n";
      } else if (cmd == "unlock") {
        want(2);
        bucket.unlock(pos[0], parse_uint("unlock: CAS", pos[1], 0, u64_max), {.timeout = timeout}).get();
        std::cout << shown(pos[0]) << "  unlocked\n";
      } else if (cmd == "replica") {
        want(1);
        auto r = bucket.get_replica(pos[0], {.timeout = timeout}).get();
        auto v = printable_value(r.value);
        std::cout << shown(pos[0]) << "  " << v << "  (from a replica) cas=0x" << std::hex << r.cas << std::dec
                  << escaped_note(v) << "\n";
      } else if (cmd == "observe") {
        want(1);
        auto r = bucket.observe(pos[0], {.timeout = timeout}).get();
        std::cout << shown(pos[0]) << "  observed on " << r.nodes.size() << " node(s)\n";
        for (const auto& n : r.nodes) {
          std::cout << "  " << (n.is_master ? "master " : "replica") << "  " << shown(n.endpoint) << "  " << state_name(n.state)
                    << "  cas=0x" << std::hex << n.cas << std::dec << "\n";
        }
      } else if (cmd == "stats") {
        auto group = pos.empty() ? std::string{} : pos[0];
        auto r = bucket.stats(group, {.timeout = timeout}).get();
        for (const auto& [endpoint, entries] : r) {
          std::cout << shown(endpoint) << "  (" << entries.size() << " statistic(s))\n";
          for (const auto& [name, value] : entries) std::cout << "  " << shown(name) << " = " << shown(value) << "\n";
        }
      } else if (cmd == "failover") {
        want(1);
#ifdef COUCHKV_WITH_MOCK
        if (!mock) throw cli_error("failover works only with --mock");
        auto node = parse_uint("failover: NODE", pos[0], 0, u32_max);
        mock->failover(static_cast<std::uint32_t>(node));
        std::cout << "mock node " << node << " failed over\n";
#else
        throw cli_error("this build has no mock cluster");
#endif
      } else if (cmd == "version") {
        std::cout << "couchkv " << couchkv::version() << "\n";
      } else if (cmd == "help") {
        usage(std::cout);
      } else {
        throw cli_error("unknown command \"" + shown(cmd) + "\"");
      }
    } catch (const std::system_error& e) {
      // The failed operation's own context (operation_error), when it has one.
      const auto* op_error = dynamic_cast<const operation_error*>(&e);
      const error_context ctx = op_error != nullptr ? op_error->context() : error_context{};
      std::cout << shown(cmd) << " " << (pos.empty() ? "" : shown(pos[0])) << ": error: " << shown(e.code().message());
      if (ctx.last_retry_reason != retry_reason::none) std::cout << " (last retry: " << to_string(ctx.last_retry_reason) << ")";
      // The server's own words (XERROR context), as they came but escaped.
      if (!ctx.server_message.empty()) std::cout << " (server: " << shown(ctx.server_message) << ")";
      std::cout << "\n";
      return false;
    }
    return true;
  }

  static const char* state_name(observe_key_state s)
  {
    switch (s) {
      case observe_key_state::found: return "in memory (not persisted)";
      case observe_key_state::persisted: return "persisted";
      case observe_key_state::not_found: return "not found";
      case observe_key_state::logically_deleted: return "deleted (not persisted)";
    }
    return "unknown";
  }

  static void print_mutation(const std::string& cmd, const mutation_result& r)
  {
    std::cout << shown(r.key) << "  " << cmd << " ok  cas=0x" << std::hex << r.cas << std::dec;
    if (r.token) std::cout << " vb=" << r.token->vbucket << " seqno=" << r.token->seqno;
    std::cout << "\n";
  }
};

std::vector<std::string> split_line(const std::string& line)
{
  // Whitespace-separated; a JSON value may contain spaces if it is the last argument of upsert.
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    if (!out.empty() && (out[0] == "upsert" || out[0] == "insert" || out[0] == "replace") && out.size() == 2) {
      std::string rest;
      std::getline(in, rest);
      out.push_back(word + rest);
      break;
    }
    out.push_back(word);
  }
  return out;
}

} // namespace

int main(int argc, char** argv)
{
  std::string connstr, user, password;
  bool use_mock = false;
  std::chrono::milliseconds timeout{2500};
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto need = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "couchkv: " << shown(a) << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (command.empty() && a == "--connstr") connstr = need();
    else if (command.empty() && (a == "--user" || a == "-u")) user = need();
    else if (command.empty() && (a == "--password" || a == "-P")) password = need();
    else if (command.empty() && a == "--mock") use_mock = true;
    else if (command.empty() && a == "--timeout") {
      // As pillowfight's --timeout: 1 ms to an hour.
      try {
        timeout = std::chrono::milliseconds(parse_uint("--timeout", need(), 1, 3'600'000));
      } catch (const cli_error& e) {
        std::cerr << "couchkv: " << e.what() << "\n";
        return 2;
      }
    }
    else if (command.empty() && (a == "-h" || a == "--help")) {
      usage(std::cout);
      return 0;
    } else command.push_back(a);
  }
  if (!command.empty() && command[0] == "pillowfight") {
    return couchkv::cli::pillowfight_main({command.begin() + 1, command.end()}, {connstr, user, password, use_mock, timeout});
  }
#ifdef COUCHKV_WITH_MOCK
  std::unique_ptr<mock::cluster> mock_cluster;
  if (use_mock) {
    mock_cluster = std::make_unique<mock::cluster>();
    mock_cluster->start();
    connstr = mock_cluster->connection_string();
    if (user.empty()) user = "default";
    if (password.empty()) password = "password";
    std::cerr << "embedded mock cluster: " << connstr << "\n";
  }
#else
  if (use_mock) {
    std::cerr << "this build has no mock cluster (configure with COUCHKV_BUILD_MOCK=ON)\n";
    return 2;
  }
#endif
  if (connstr.empty()) {
    std::cerr << "couchkv: give --connstr or --mock\n";
    usage(std::cerr);
    return 2;
  }
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  int status = 0;
  try {
    cluster c(io.get_executor(), connstr, {user, password});
    async_bucket bucket;
    try {
      bucket = c.open_bucket().get();
    } catch (const std::system_error& e) {
      std::cerr << "couchkv: cannot open the bucket: " << shown(e.code().message()) << ": " << shown(c.last_error_detail())
                << "\n";
      status = 1;
    }
    if (status == 0) {
      session s{bucket, timeout};
#ifdef COUCHKV_WITH_MOCK
      s.mock = mock_cluster.get();
#endif
      try {
        if (!command.empty()) {
          status = s.run(command) ? 0 : 1;
        } else {
          std::string line;
          while (std::getline(std::cin, line)) {
            if (line.empty() || line[0] == '#') continue;
            // "!command": the command is expected to fail (scripts that check error paths).
            bool expect_failure = line[0] == '!';
            if (expect_failure) line.erase(0, 1);
            std::cout << "> " << shown(line) << (expect_failure ? "   (expected to fail)" : "") << "\n";
            bool ok = s.run(split_line(line));
            if (ok == expect_failure) {
              std::cout << "  ^ unexpected " << (ok ? "success" : "failure") << "\n";
              status = 1;
            }
          }
        }
      } catch (const cli_error& e) {
        std::cerr << "couchkv: " << e.what() << "\n";
        status = 2;
      }
      bucket.close();
    }
  } catch (const std::system_error& e) {
    std::cerr << "couchkv: " << shown(e.code().message()) << ": " << shown(e.what()) << "\n";
    status = 2;
  }
  guard.reset();
  io.stop();
  runner.join();
  return status;
}
