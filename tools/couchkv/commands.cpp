#include "commands.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <initializer_list>
#include <ostream>
#include <utility>

namespace couchkv::cli {

namespace {

constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t i64_max = std::numeric_limits<std::int64_t>::max();

std::string in_quotes(std::string_view s) { return "\"" + escape_control(s) + "\""; }

// One of a fixed set of words.
template <class T>
T one_of(std::string_view option, const std::string& value, std::initializer_list<std::pair<std::string_view, T>> words)
{
  for (const auto& [word, v] : words) {
    if (value == word) return v;
  }
  std::string expected;
  for (const auto& [word, v] : words) expected += (expected.empty() ? "" : ", ") + std::string(word);
  throw usage_error(std::string(option) + ": expected one of " + expected + ", got " + in_quotes(value));
}

// A JSON text (a view key), checked here and sent as given: "abc" needs its quotes.
std::string json_argument(std::string_view option, const std::string& value)
{
  if (!nlohmann::json::accept(value)) {
    throw usage_error(std::string(option) + ": expected a JSON value (a string with its quotes: '\"abc\"'), got " +
                      in_quotes(value));
  }
  return value;
}

// A JSON array of keys: each element, re-encoded compactly.
std::vector<std::string> json_array_argument(std::string_view option, const std::string& value)
{
  try {
    auto parsed = nlohmann::json::parse(value);
    if (parsed.is_array()) {
      std::vector<std::string> out;
      for (const auto& element : parsed) out.push_back(element.dump());
      return out;
    }
  } catch (const nlohmann::json::exception&) {
  }
  throw usage_error(std::string(option) + ": expected a JSON array of keys, such as '[\"a\",2]', got " + in_quotes(value));
}

int durability_count(std::string_view option, const std::string& value)
{
  return static_cast<int>(parse_int(std::string(option), value, -1, std::numeric_limits<int>::max()));
}

std::int64_t view_count(std::string_view option, const std::string& value)
{
  return static_cast<std::int64_t>(parse_uint(std::string(option), value, 0, i64_max));
}

// ---- the options --------------------------------------------------------------------------------
// Each is defined once; a command lists the ones it takes.

constexpr command_option format_opt{
    "--format", "", "json|string|binary",
    "how VALUE is stored, and the common flags that say so: json (the default; VALUE must be JSON), "
    "string (UTF-8 text) or binary (the bytes as given)",
    [](command_options& o, const std::string& v) {
      o.format = one_of<value_format>("--format", v, {{"json", value_format::json},
                                                      {"string", value_format::string},
                                                      {"binary", value_format::binary}});
    }};
constexpr command_option expiry_opt{
    "--expiry", "", "S", "expire after S seconds (up to 30 days; longer: now + S); 0: never (the default)",
    [](command_options& o, const std::string& v) { o.expiry = std::chrono::seconds(parse_uint("--expiry", v, 0, u32_max)); }};
constexpr command_option cas_opt{
    "--cas", "", "N", "only if the document's CAS is still N (as printed, e.g. 0x17a4...)",
    [](command_options& o, const std::string& v) { o.cas = parse_uint("--cas", v, 0, u64_max); }};
constexpr command_option endure_cas_opt{
    "--cas", "", "N", "the version to wait for (as printed); without it, whatever version is there",
    [](command_options& o, const std::string& v) { o.cas = parse_uint("--cas", v, 0, u64_max); }};
constexpr command_option persist_to_opt{
    "--persist-to", "", "N",
    "wait until N nodes (the master included) have persisted it; -1: every node there is",
    [](command_options& o, const std::string& v) { o.persist_to = durability_count("--persist-to", v); }};
constexpr command_option replicate_to_opt{
    "--replicate-to", "", "N", "wait until N replicas hold it; -1: every replica there is",
    [](command_options& o, const std::string& v) { o.replicate_to = durability_count("--replicate-to", v); }};
constexpr command_option durability_opt{
    "--durability", "", "LEVEL",
    "synchronous durability, enforced by the server (6.5+): none, majority, majority-persist-active or "
    "persist-majority; not with --persist-to / --replicate-to",
    [](command_options& o, const std::string& v) {
      using protocol::durability_level;
      auto level = one_of<durability_level>("--durability", v,
                                            {{"none", durability_level::none},
                                             {"majority", durability_level::majority},
                                             {"majority-persist-active", durability_level::majority_and_persist_to_active},
                                             {"persist-majority", durability_level::persist_to_majority}});
      o.durability = level == durability_level::none ? std::nullopt : std::optional(level);
    }};
constexpr command_option initial_opt{
    "--initial", "", "N", "create a missing counter with the value N (without it a missing counter is an error)",
    [](command_options& o, const std::string& v) { o.initial = parse_uint("--initial", v, 0, u64_max); }};
constexpr command_option removed_opt{
    "--removed", "", "", "wait until the removal of KEY is durable instead",
    [](command_options& o, const std::string&) { o.removed = true; }};

constexpr command_option limit_opt{"--limit", "", "N", "at most N rows",
                                   [](command_options& o, const std::string& v) { o.limit = view_count("--limit", v); }};
constexpr command_option skip_opt{"--skip", "", "N", "skip the first N rows",
                                  [](command_options& o, const std::string& v) { o.skip = view_count("--skip", v); }};
constexpr command_option key_opt{"--key", "", "JSON", "only rows with this key (JSON: a string with its quotes)",
                                 [](command_options& o, const std::string& v) { o.key = json_argument("--key", v); }};
constexpr command_option keys_opt{"--keys", "", "JSON-ARRAY", "only rows with one of these keys",
                                  [](command_options& o, const std::string& v) { o.keys = json_array_argument("--keys", v); }};
constexpr command_option startkey_opt{
    "--startkey", "", "JSON", "rows from this key on",
    [](command_options& o, const std::string& v) { o.start_key = json_argument("--startkey", v); }};
constexpr command_option endkey_opt{
    "--endkey", "", "JSON", "rows up to this key (included)",
    [](command_options& o, const std::string& v) { o.end_key = json_argument("--endkey", v); }};
constexpr command_option descending_opt{"--descending", "", "", "rows in descending key order",
                                        [](command_options& o, const std::string&) { o.descending = true; }};
constexpr command_option reduce_opt{
    "--reduce", "", "true|false", "run the view's reduce function (the server's default: when it has one)",
    [](command_options& o, const std::string& v) { o.reduce = one_of<bool>("--reduce", v, {{"true", true}, {"false", false}}); }};
constexpr command_option group_opt{"--group", "", "", "reduce per distinct key",
                                   [](command_options& o, const std::string&) { o.group = true; }};
constexpr command_option group_level_opt{
    "--group-level", "", "N", "reduce per the first N elements of array keys",
    [](command_options& o, const std::string& v) { o.group_level = view_count("--group-level", v); }};
constexpr command_option stale_opt{
    "--stale", "", "ok|false|update_after",
    "use the index as it is (ok), update it first (false) or after answering (update_after)",
    [](command_options& o, const std::string& v) {
      o.stale = one_of<view_stale>("--stale", v, {{"ok", view_stale::ok},
                                                  {"false", view_stale::false_},
                                                  {"update_after", view_stale::update_after}});
    }};
constexpr command_option include_docs_opt{"--include-docs", "", "", "print each row's document too (read by KV)",
                                          [](command_options& o, const std::string&) { o.include_docs = true; }};

constexpr command_option store_opts[] = {format_opt, expiry_opt, cas_opt, persist_to_opt, replicate_to_opt,
                                             durability_opt};
constexpr command_option insert_opts[] = {format_opt, expiry_opt, persist_to_opt, replicate_to_opt, durability_opt};
constexpr command_option concat_opts[] = {cas_opt, persist_to_opt, replicate_to_opt, durability_opt};
constexpr command_option counter_opts[] = {initial_opt, expiry_opt, persist_to_opt, replicate_to_opt, durability_opt};
constexpr command_option endure_opts[] = {endure_cas_opt, persist_to_opt, replicate_to_opt, removed_opt};
constexpr command_option view_opts[] = {limit_opt,    skip_opt,       key_opt,   keys_opt,        startkey_opt,
                                           endkey_opt,   descending_opt, reduce_opt, group_opt,      group_level_opt,
                                           stale_opt,    include_docs_opt};

// ---- the commands -------------------------------------------------------------------------------

using enum command_id;
constexpr auto many = command_spec::many;

constexpr command_spec command_table[] = {
    {get, "get", "KEY...", 1, many, {}, "print each key's value, flags and CAS, or its own error",
     "Every key is read at once; each one prints its value or its error, in the order given.\n"
     "The exit status is 0 only if every key was read."},
    {upsert, "upsert", "KEY VALUE", 2, 2, store_opts, "store VALUE under KEY, whatever is there",
     "Prints the new CAS and the mutation token. With --persist-to / --replicate-to it then waits for\n"
     "that durability (up to the --timeout); asking for more than the bucket has fails at once\n"
     "(durability impossible) and nothing is stored."},
    {insert, "insert", "KEY VALUE", 2, 2, insert_opts, "store VALUE under KEY if there is nothing there",
     "Fails with \"document exists\" if KEY exists. Durability as for upsert."},
    {replace, "replace", "KEY VALUE", 2, 2, store_opts, "store VALUE under KEY if KEY exists",
     "Fails with \"document not found\" if it does not. Durability as for upsert."},
    {append, "append", "KEY BYTES", 2, 2, concat_opts, "add BYTES at the end of KEY's value",
     "The document keeps its flags (its format). Durability as for upsert."},
    {prepend, "prepend", "KEY BYTES", 2, 2, concat_opts, "add BYTES at the start of KEY's value",
     "The document keeps its flags (its format). Durability as for upsert."},
    {remove, "remove", "KEY", 1, 1, concat_opts, "remove KEY", "Durability as for upsert."},
    {counter, "counter", "KEY DELTA", 2, 2, counter_opts, "add DELTA (negative: subtract, down to 0) to a counter",
     "Prints the counter's new value. DELTA is a whole number from -2^63 to 2^63-1."},
    {touch, "touch", "KEY EXPIRY_S", 2, 2, {}, "set KEY's expiry, in seconds (0: never)", ""},
    {lock, "lock", "KEY [SECONDS]", 1, 2, {}, "get and lock KEY (15 s unless SECONDS); prints the lock CAS",
     "Until it is unlocked (unlock KEY CAS) or the lock expires, changes without that CAS fail."},
    {unlock, "unlock", "KEY CAS", 2, 2, {}, "unlock KEY with the CAS lock printed", ""},
    {replica, "replica", "KEY", 1, 1, {}, "read KEY from any replica", ""},
    {observe, "observe", "KEY", 1, 1, {}, "what the master and each replica hold of KEY", ""},
    {endure, "endure", "KEY", 1, 1, endure_opts, "wait until KEY is persisted / replicated as asked",
     "Polls the master and the replicas (OBSERVE) until KEY's current version (or --cas N) is\n"
     "persisted on --persist-to nodes and held by --replicate-to replicas, or the --timeout passes.\n"
     "Give --persist-to or --replicate-to (or both)."},
    {stats, "stats", "[GROUP]", 0, 1, {}, "STAT from every data node", ""},
    {view, "view", "DDOC VIEW", 2, 2, view_opts, "query a view; one JSON row per line",
     "Prints each row as {\"id\":...,\"key\":...,\"value\":...} (and \"doc\" with --include-docs), then\n"
     "the number of rows. A development design document is named with its dev_ prefix."},
    {design_list, "design list", "", 0, 0, {}, "list the bucket's design documents and their views", ""},
    {design_get, "design get", "NAME", 1, 1, {}, "print a design document", ""},
    {design_upsert, "design upsert", "NAME DOCUMENT", 2, 2, {}, "create or replace a design document",
     "DOCUMENT is its JSON: {\"views\":{\"VIEW\":{\"map\":\"function (doc, meta) {...}\",\"reduce\":\"_count\"}}}.\n"
     "Name development documents dev_NAME; publish copies them to production."},
    {design_remove, "design remove", "NAME", 1, 1, {}, "remove a design document", ""},
    {design_publish, "design publish", "NAME", 1, 1, {},
     "copy the development document dev_NAME to NAME (production) and remove dev_NAME", ""},
    {hash, "hash", "KEY...", 1, many, {}, "where each key routes: its vBucket, master and replica nodes",
     "From the cluster map the client holds (nothing is sent): the vBucket, and the node index and KV\n"
     "endpoint of the master and of each replica (\"none\": no node holds that copy now). A memcached\n"
     "bucket has no vBuckets: its one server is printed."},
    {failover, "failover", "NODE", 1, 1, {}, "(--mock only) fail a mock node over", ""},
    {pillowfight, "pillowfight", "[OPTIONS]", 0, many, {}, "load generator (couchkv help pillowfight)", "", false, true},
    {version, "version", "", 0, 0, {}, "print couchkv's version", "", false},
    {help, "help", "[COMMAND]", 0, 2, {}, "this text, or COMMAND's options", "", false},
};

// ---- the global options -------------------------------------------------------------------------

constexpr global_option global_table[] = {
    {"--connstr", "", "S", "the cluster: couchbase://host[,host...]/bucket[?options] (or couchbases://, memcached://)",
     [](global_options& o, const std::string& v) { o.connstr = v; }},
    {"--user", "-u", "U", "user name (with --mock: default)", [](global_options& o, const std::string& v) { o.user = v; }},
    {"--password", "-P", "P", "password (with --mock: password)",
     [](global_options& o, const std::string& v) { o.password = v; }},
    {"--mock", "", "",
     "start an embedded mock cluster (3 nodes, 1024 vBuckets, 1 replica, bucket \"default\") and use it",
     [](global_options& o, const std::string&) { o.mock = true; }},
    {"--timeout", "", "MS",
     "each operation's timeout, 1 to 3600000 ms (default: 2500 for KV, 5000 for durability polling, 75000 for "
     "views and design documents)",
     [](global_options& o, const std::string& v) { o.timeout = std::chrono::milliseconds(parse_uint("--timeout", v, 1, 3'600'000)); }},
    {"--help", "-h", "", "this text", [](global_options& o, const std::string&) { o.help = true; }},
};

template <class Target>
const option_spec<Target>* find_option(std::span<const option_spec<Target>> table, std::string_view word)
{
  auto it = std::ranges::find_if(table, [&](const auto& o) { return o.name == word || (!o.alias.empty() && o.alias == word); });
  return it == table.end() ? nullptr : &*it;
}

// An option as written: "--name", "--name=value", or an alias ("-u").
struct option_word {
  std::string name;
  std::optional<std::string> inline_value;
};

option_word split_option(const std::string& word)
{
  const auto equals = word.starts_with("--") ? word.find('=') : std::string::npos;
  if (equals == std::string::npos) return {word, std::nullopt};
  return {word.substr(0, equals), word.substr(equals + 1)};
}

// Applies `o`, written as `w` at words[i]: its value is after '=' or the next word (i then moves
// past it); a flag takes none. `context` ("get: ") starts the errors about the option's form.
template <class Target>
void apply_option(const option_spec<Target>& o, const option_word& w, std::span<const std::string> words,
                  std::size_t& i, std::string_view context, Target& target)
{
  std::string value;
  if (o.value.empty()) {
    if (w.inline_value) throw usage_error(std::string(context) + in_quotes(w.name) + " takes no value");
  } else if (w.inline_value) {
    value = *w.inline_value;
  } else if (i + 1 < words.size()) {
    value = words[++i];
  } else {
    throw usage_error(w.name + " needs a value (" + std::string(o.value) + ")");
  }
  o.apply(target, value);
}

std::pair<std::string_view, std::string_view> family_and_action(std::string_view name)
{
  auto space = name.find(' ');
  if (space == std::string_view::npos) return {name, {}};
  return {name.substr(0, space), name.substr(space + 1)};
}

// The command the first words name (a family, such as "design", takes its action from the second);
// `used`: how many words that took.
const command_spec& find_command(std::span<const std::string> words, std::size_t& used)
{
  std::string actions;
  for (const auto& c : command_table) {
    auto [family, action] = family_and_action(c.name);
    if (family != words[0]) continue;
    if (action.empty()) {
      used = 1;
      return c;
    }
    if (words.size() > 1 && words[1] == action) {
      used = 2;
      return c;
    }
    actions += (actions.empty() ? "" : ", ") + std::string(action);
  }
  if (actions.empty()) throw usage_error("unknown command " + in_quotes(words[0]) + " (couchkv --help lists them)");
  throw usage_error(words[0] + ": expected one of " + actions +
                    (words.size() > 1 ? ", got " + in_quotes(words[1]) : std::string(" after it")));
}

std::string options_of(const command_spec& c)
{
  if (c.options.empty()) return std::string(c.name) + " takes no options";
  std::string names;
  for (const auto& o : c.options) names += (names.empty() ? "" : ", ") + std::string(o.name);
  return std::string(c.name) + " takes " + names;
}

// "  LEFT      help text", the help wrapped at `width` and aligned under its first line.
void print_row(std::ostream& out, std::string_view left, std::string_view help)
{
  constexpr std::size_t column = 32;
  constexpr std::size_t width = 100;
  out << "  " << left;
  const std::size_t used = 2 + left.size();
  if (used + 2 > column) {
    out << "\n" << std::string(column, ' ');
  } else {
    out << std::string(column - used, ' ');
  }
  std::size_t at = column;
  bool line_start = true;
  while (!help.empty()) {
    const auto space = help.find(' ');
    const auto word = help.substr(0, space);
    help = space == std::string_view::npos ? std::string_view{} : help.substr(space + 1);
    if (!line_start && at + 1 + word.size() > width) {
      out << "\n" << std::string(column, ' ');
      at = column;
      line_start = true;
    }
    if (!line_start) {
      out << ' ';
      ++at;
    }
    out << word;
    at += word.size();
    line_start = false;
  }
  out << "\n";
}

template <class Target>
std::string option_label(const option_spec<Target>& o)
{
  std::string label = o.alias.empty() ? std::string(o.name) : std::string(o.alias) + ", " + std::string(o.name);
  if (!o.value.empty()) label += " " + std::string(o.value);
  return label;
}

std::string command_line(const command_spec& c)
{
  std::string line(c.name);
  if (!c.synopsis.empty()) line += " " + std::string(c.synopsis);
  return line;
}

// The length of the JSON value that starts `s` ('{', '[' or '"'), or npos when it does not end.
std::size_t json_extent(std::string_view s)
{
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

constexpr std::string_view blanks = " \t\r\n\v\f";

} // namespace

std::span<const command_spec> commands() noexcept { return command_table; }
std::span<const global_option> global_options_table() noexcept { return global_table; }

invocation parse_command(std::span<const std::string> words)
{
  if (words.empty()) throw usage_error("no command given (couchkv --help lists them)");
  std::size_t used = 0;
  const auto& c = find_command(words, used);
  invocation inv{&c, {}, {}, false};
  const auto rest = words.subspan(used);
  if (c.own_parser) {
    inv.args.assign(rest.begin(), rest.end());
    return inv;
  }
  const std::string context = std::string(c.name) + ": ";
  std::vector<std::string_view> given; // option names, to refuse one given twice
  std::size_t i = 0;
  auto parse_option = [&](const std::string& word) {
    const auto w = split_option(word);
    const auto* o = find_option(c.options, w.name);
    if (o == nullptr) {
      if (find_option(global_options_table(), w.name) != nullptr) {
        throw usage_error(context + in_quotes(w.name) + " is a global option: give it before the command");
      }
      throw usage_error(context + "unknown option " + in_quotes(w.name) + " (" + options_of(c) + ")");
    }
    if (std::ranges::find(given, o->name) != given.end()) throw usage_error(context + in_quotes(w.name) + " given twice");
    given.push_back(o->name);
    apply_option(*o, w, rest, i, context, inv.options);
  };
  bool options_end = false;
  for (; i < rest.size(); ++i) {
    const auto& word = rest[i];
    if (!options_end && word == "--") {
      options_end = true;
    } else if (!options_end && (word == "--help" || word == "-h")) {
      inv.help = true;
    } else if (options_end || !word.starts_with("--")) {
      inv.args.push_back(word); // "-5" too: a negative number is an argument
    } else {
      parse_option(word);
    }
  }
  if (inv.help) return inv;
  if (inv.args.size() < c.min_args || inv.args.size() > c.max_args) {
    throw usage_error(context + "expected " + (c.synopsis.empty() ? std::string("no arguments") : std::string(c.synopsis)) +
                      ", got " + std::to_string(inv.args.size()) + " argument(s) (couchkv help " + std::string(c.name) + ")");
  }
  const auto& o = inv.options;
  if (o.durability && (o.persist_to != 0 || o.replicate_to != 0)) {
    throw usage_error(context + "--durability (the server's) and --persist-to / --replicate-to (polled) exclude each other");
  }
  return inv;
}

std::size_t parse_global_options(std::span<const std::string> words, global_options& out)
{
  std::size_t i = 0;
  for (; i < words.size(); ++i) {
    const auto& word = words[i];
    if (word.size() < 2 || word[0] != '-') break; // the command
    const auto w = split_option(word);
    const auto* o = find_option(global_options_table(), w.name);
    if (o == nullptr) throw usage_error("unknown option " + in_quotes(w.name) + " (couchkv --help lists them)");
    apply_option(*o, w, words, i, "", out);
  }
  return i;
}

std::vector<std::string> split_line(std::string_view line)
{
  std::vector<std::string> words;
  std::size_t i = line.find_first_not_of(blanks);
  while (i != std::string_view::npos) {
    const auto rest = line.substr(i);
    std::size_t end = rest.find_first_of(blanks); // npos: to the end of the line
    if (rest[0] == '\'') {
      if (auto close = rest.find('\'', 1); close != std::string_view::npos) {
        const auto after = rest.find_first_of(blanks, close + 1);
        std::string word(rest.substr(1, close - 1));
        word += rest.substr(close + 1, after == std::string_view::npos ? std::string_view::npos : after - close - 1);
        words.push_back(std::move(word));
        end = after;
        i = end == std::string_view::npos ? end : line.find_first_not_of(blanks, i + end);
        continue;
      }
    } else if (rest[0] == '{' || rest[0] == '[' || rest[0] == '"') {
      if (auto extent = json_extent(rest); extent != std::string_view::npos) end = rest.find_first_of(blanks, extent);
    }
    words.emplace_back(rest.substr(0, end));
    i = end == std::string_view::npos ? end : line.find_first_not_of(blanks, i + end);
  }
  return words;
}

std::vector<const command_spec*> find_help(std::span<const std::string> words)
{
  std::vector<const command_spec*> found;
  if (words.empty()) return found;
  std::string name = words[0];
  for (std::size_t i = 1; i < words.size(); ++i) name += " " + words[i];
  for (const auto& c : command_table) {
    if (c.name == name) return {&c};
    if (words.size() == 1 && family_and_action(c.name).first == name) found.push_back(&c);
  }
  return found;
}

void print_usage(std::ostream& out)
{
  out << "usage: couchkv [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]\n"
         "global options (before the command):\n";
  for (const auto& o : global_table) print_row(out, option_label(o), o.help);
  out << "commands (couchkv help COMMAND, or COMMAND --help, shows a command's options):\n";
  for (const auto& c : command_table) print_row(out, command_line(c), c.summary);
  out << "Without COMMAND, commands are read from standard input, one per line; a line that\n"
         "starts with '!' must fail, '#' starts a comment. On such a line a JSON value ({...}, [...]\n"
         "or \"...\") is one word even with spaces in it, and so is text in single quotes.\n"
         "Options follow the command's arguments; \"--\" ends them (a value may then start with \"--\").\n"
         "Numbers are whole numbers (decimal, or 0x hexadecimal as the CAS values printed) in the\n"
         "range each one has.\n"
         "Text from the server is printed with control characters escaped (\\x1b, \\r, \\n, ...). A\n"
         "value is printed as stored unless it holds such characters; then it is escaped (a\n"
         "backslash as \\\\) and the line ends with \"(escaped)\".\n"
         "Exit status: 0 every command did what it was asked; 1 an operation failed (or a line of\n"
         "standard input did not do what it expected), or the bucket could not be opened; 2 a usage\n"
         "error: an unknown command or option, a missing or bad argument (nothing was sent).\n";
}

void print_command_help(std::ostream& out, const command_spec& c)
{
  out << "usage: couchkv " << command_line(c) << (c.options.empty() ? "" : " [OPTIONS]") << "\n"
      << "  " << c.summary << "\n";
  if (!c.details.empty()) {
    std::string_view details = c.details;
    while (!details.empty()) {
      auto nl = details.find('\n');
      out << "  " << details.substr(0, nl) << "\n";
      details = nl == std::string_view::npos ? std::string_view{} : details.substr(nl + 1);
    }
  }
  if (!c.options.empty()) {
    out << "options:\n";
    for (const auto& o : c.options) print_row(out, option_label(o), o.help);
  }
}

} // namespace couchkv::cli
