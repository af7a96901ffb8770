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
         "--mock starts an embedded mock cluster (3 nodes, 1024 vBuckets, 1 replica, bucket\n"
         "\"default\", password \"password\") and connects to it.\n";
}

struct cli_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::uint64_t number(const std::string& s, const char* what)
{
  try {
    std::size_t pos = 0;
    auto v = std::stoull(s, &pos, 0);
    if (pos != s.size()) throw cli_error("");
    return v;
  } catch (...) {
    throw cli_error(std::string("expected a number for ") + what + ", got \"" + s + "\"");
  }
}

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
        if (i + 1 >= args.size()) throw cli_error(args[i] + " needs a value");
        return args[++i];
      };
      if (args[i] == "--cas") cas = number(need(), "--cas");
      else if (args[i] == "--expiry") expiry = static_cast<std::int64_t>(number(need(), "--expiry"));
      else if (args[i] == "--initial") initial = number(need(), "--initial");
      else pos.push_back(args[i]);
    }
    auto want = [&](std::size_t n) {
      if (pos.size() < n) throw cli_error(cmd + ": expected " + std::to_string(n) + " argument(s)");
    };
    try {
      if (cmd == "get") {
        want(1);
        for (const auto& k : pos) {
          auto r = bucket.get(k, {.timeout = timeout}).get();
          std::cout << k << "  " << r.value << "  flags=0x" << std::hex << r.flags << " cas=0x" << r.cas << std::dec
                    << " (" << to_string(r.format()) << ")\n";
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
        std::int64_t delta = 0;
        try {
          delta = std::stoll(pos[1]);
        } catch (...) {
          throw cli_error("counter: DELTA must be an integer");
        }
        auto r = bucket.counter(pos[0], delta, {.initial = initial, .expiry = std::chrono::seconds(expiry),
                                                .timeout = timeout}).get();
        std::cout << pos[0] << "  counter=" << r.value << " cas=0x" << std::hex << r.cas << std::dec << "\n";
      } else if (cmd == "touch") {
        want(2);
        print_mutation(cmd, bucket.touch(pos[0], std::chrono::seconds(number(pos[1], "EXPIRY")), {.timeout = timeout}).get());
      } else if (cmd == "lock") {
        want(1);
        auto secs = pos.size() > 1 ? number(pos[1], "SECONDS") : 15;
        auto r = bucket.get_and_lock(pos[0], {.lock_time = std::chrono::seconds(secs), .timeout = timeout}).get();
        std::cout << pos[0] << "  locked  " << r.value << "  lock_cas=0x" << std::hex << r.cas << std::dec << "\n";
      } else if (cmd == "unlock") {
        want(2);
        bucket.unlock(pos[0], number(pos[1], "CAS"), {.timeout = timeout}).get();
        std::cout << pos[0] << "  unlocked\n";
      } else if (cmd == "replica") {
        want(1);
        auto r = bucket.get_replica(pos[0], {.timeout = timeout}).get();
        std::cout << pos[0] << "  " << r.value << "  (from a replica) cas=0x" << std::hex << r.cas << std::dec << "\n";
      } else if (cmd == "observe") {
        want(1);
        auto r = bucket.observe(pos[0], {.timeout = timeout}).get();
        std::cout << pos[0] << "  observed on " << r.nodes.size() << " node(s)\n";
        for (const auto& n : r.nodes) {
          std::cout << "  " << (n.is_master ? "master " : "replica") << "  " << n.endpoint << "  " << state_name(n.state)
                    << "  cas=0x" << std::hex << n.cas << std::dec << "\n";
        }
      } else if (cmd == "stats") {
        auto group = pos.empty() ? std::string{} : pos[0];
        auto r = bucket.stats(group, {.timeout = timeout}).get();
        for (const auto& [endpoint, entries] : r) {
          std::cout << endpoint << "  (" << entries.size() << " statistic(s))\n";
          for (const auto& [name, value] : entries) std::cout << "  " << name << " = " << value << "\n";
        }
      } else if (cmd == "failover") {
        want(1);
#ifdef COUCHKV_WITH_MOCK
        if (!mock) throw cli_error("failover works only with --mock");
        mock->failover(static_cast<std::uint32_t>(number(pos[0], "NODE")));
        std::cout << "mock node " << pos[0] << " failed over\n";
#else
        throw cli_error("this build has no mock cluster");
#endif
      } else if (cmd == "version") {
        std::cout << "couchkv " << couchkv::version() << "\n";
      } else if (cmd == "help") {
        usage(std::cout);
      } else {
        throw cli_error("unknown command \"" + cmd + "\"");
      }
    } catch (const std::system_error& e) {
      auto ctx = bucket.last_error();
      std::cout << cmd << " " << (pos.empty() ? "" : pos[0]) << ": error: " << e.code().message();
      if (ctx.last_retry_reason != retry_reason::none) std::cout << " (last retry: " << to_string(ctx.last_retry_reason) << ")";
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
    std::cout << r.key << "  " << cmd << " ok  cas=0x" << std::hex << r.cas << std::dec;
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
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (command.empty() && a == "--connstr") connstr = need();
    else if (command.empty() && (a == "--user" || a == "-u")) user = need();
    else if (command.empty() && (a == "--password" || a == "-P")) password = need();
    else if (command.empty() && a == "--mock") use_mock = true;
    else if (command.empty() && a == "--timeout") timeout = std::chrono::milliseconds(std::stoul(need()));
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
      std::cerr << "couchkv: cannot open the bucket: " << e.code().message() << ": " << c.last_error_detail() << "\n";
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
            std::cout << "> " << line << (expect_failure ? "   (expected to fail)" : "") << "\n";
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
    std::cerr << "couchkv: " << e.code().message() << ": " << e.what() << "\n";
    status = 2;
  }
  guard.reset();
  io.stop();
  runner.join();
  return status;
}
