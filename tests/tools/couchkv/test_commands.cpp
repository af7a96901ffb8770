// The couchkv tool's grammar (tools/couchkv/commands.hpp): every command of the table parses,
// anything a command does not declare is a usage error naming the option and the command, values
// are typed and range-checked, and standard input lines split as the help says.
#include <commands.hpp>

#include <gtest/gtest.h>

#include <set>
#include <sstream>

using namespace couchkv::cli;

namespace {

std::vector<std::string> words_of(std::string_view line) { return split_line(line); }

invocation parse(std::string_view line)
{
  auto w = words_of(line);
  return parse_command(w);
}

// The usage_error parsing `line` throws ("" when none).
std::string error_of(std::string_view line)
{
  try {
    (void)parse(line);
  } catch (const usage_error& e) {
    return e.what();
  }
  return {};
}

std::string help_of(const command_spec& c)
{
  std::ostringstream out;
  print_command_help(out, c);
  return out.str();
}

// Arguments that fit a command's synopsis.
std::string sample_args(const command_spec& c)
{
  std::string line;
  for (std::size_t i = 0; i < c.min_args; ++i) line += " 1";
  return line;
}

} // namespace

TEST(cli_commands, every_command_of_the_table_parses_and_has_help)
{
  std::set<std::string_view> names;
  for (const auto& c : commands()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name << " twice";
    EXPECT_FALSE(c.summary.empty()) << c.name;
    EXPECT_LE(c.min_args, c.max_args) << c.name;
    auto inv = parse(std::string(c.name) + sample_args(c));
    EXPECT_EQ(inv.command, &c) << c.name;
    EXPECT_EQ(inv.args.size(), c.min_args) << c.name;
    // help COMMAND shows its synopsis and every option it takes, with what it takes.
    if (c.own_parser) continue;
    const auto help = help_of(c);
    EXPECT_NE(help.find("usage: couchkv " + std::string(c.name)), std::string::npos) << help;
    std::set<std::string_view> options;
    for (const auto& o : c.options) {
      EXPECT_TRUE(o.name.starts_with("--")) << o.name;
      EXPECT_TRUE(options.insert(o.name).second) << c.name << " lists " << o.name << " twice";
      EXPECT_FALSE(o.help.empty()) << o.name;
      EXPECT_NE(help.find(std::string(o.name) + (o.value.empty() ? "" : " " + std::string(o.value))), std::string::npos)
          << c.name << ": " << o.name;
    }
  }
  std::ostringstream usage;
  print_usage(usage);
  for (const auto& c : commands()) EXPECT_NE(usage.str().find("  " + std::string(c.name)), std::string::npos) << c.name;
  EXPECT_NE(usage.str().find("Exit status"), std::string::npos);
}

TEST(cli_commands, unknown_options_are_errors_naming_the_option_and_the_command)
{
  EXPECT_EQ(error_of("get k --bogus"), "get: unknown option \"--bogus\" (get takes no options)");
  EXPECT_EQ(error_of("upsert k {} --replicate-too 1"),
            "upsert: unknown option \"--replicate-too\" (upsert takes --format, --expiry, --cas, --persist-to, "
            "--replicate-to, --durability)");
  // An option of another command is not this one's.
  EXPECT_NE(error_of("get k --expiry 5").find("get: unknown option \"--expiry\""), std::string::npos);
  EXPECT_NE(error_of("insert k {} --cas 5").find("insert: unknown option \"--cas\""), std::string::npos);
  EXPECT_NE(error_of("view d v --format json").find("view: unknown option \"--format\""), std::string::npos);
  EXPECT_NE(error_of("design get d --limit 1").find("design get: unknown option \"--limit\""), std::string::npos);
  // A global option after the command says where it goes.
  EXPECT_EQ(error_of("get k --timeout 5"), "get: \"--timeout\" is a global option: give it before the command");
  // Control characters in the echoed option are escaped.
  EXPECT_EQ(error_of("get k --\x1b[2J"), "get: unknown option \"--\\x1b[2J\" (get takes no options)");
}

TEST(cli_commands, options_take_their_values_once_and_flags_none)
{
  EXPECT_EQ(error_of("remove k --cas 1 --cas 2"), "remove: \"--cas\" given twice");
  EXPECT_EQ(error_of("remove k --cas"), "--cas needs a value (N)");
  EXPECT_EQ(error_of("view d v --descending=yes"), "view: \"--descending\" takes no value");
  EXPECT_EQ(parse("remove k --cas=0x10").options.cas, 16u);
  // "--" ends the options: a key may then start with "--".
  auto inv = parse("get -- --weird-key --cas");
  EXPECT_EQ(inv.args, (std::vector<std::string>{"--weird-key", "--cas"}));
  // A negative number is an argument, not an option.
  EXPECT_EQ(parse("counter k -5").args, (std::vector<std::string>{"k", "-5"}));
  // Options may come anywhere after the command.
  EXPECT_EQ(parse("upsert --expiry 10 k {}").args, (std::vector<std::string>{"k", "{}"}));
  EXPECT_TRUE(parse("upsert --help").help);
  EXPECT_TRUE(parse("get -h").help);
}

TEST(cli_commands, arguments_are_counted)
{
  EXPECT_EQ(error_of("upsert k"), "upsert: expected KEY VALUE, got 1 argument(s) (couchkv help upsert)");
  EXPECT_EQ(error_of("get"), "get: expected KEY..., got 0 argument(s) (couchkv help get)");
  EXPECT_EQ(error_of("version now"), "version: expected no arguments, got 1 argument(s) (couchkv help version)");
  EXPECT_EQ(parse("get a b c d e").args.size(), 5u);
  EXPECT_EQ(error_of("frobnicate"), "unknown command \"frobnicate\" (couchkv --help lists them)");
  EXPECT_EQ(error_of("design"), "design: expected one of list, get, upsert, remove, publish after it");
  EXPECT_EQ(error_of("design frob x"), "design: expected one of list, get, upsert, remove, publish, got \"frob\"");
  EXPECT_EQ(parse("design publish beers").command->id, command_id::design_publish);
  // pillowfight's words are its own (its parser checks them).
  EXPECT_EQ(parse("pillowfight --threads 2 --whatever").args, (std::vector<std::string>{"--threads", "2", "--whatever"}));
}

TEST(cli_commands, values_are_typed_and_range_checked)
{
  EXPECT_EQ(parse("upsert k v --format string").options.format, value_format::string);
  EXPECT_EQ(parse("upsert k v --format binary").options.format, value_format::binary);
  EXPECT_EQ(parse("upsert k {}").options.format, value_format::json);
  EXPECT_EQ(error_of("upsert k v --format xml"), "--format: expected one of json, string, binary, got \"xml\"");

  using couchkv::protocol::durability_level;
  EXPECT_EQ(parse("upsert k {} --durability majority").options.durability, durability_level::majority);
  EXPECT_EQ(parse("remove k --durability majority-persist-active").options.durability,
            durability_level::majority_and_persist_to_active);
  EXPECT_EQ(parse("counter k 1 --durability persist-majority").options.durability, durability_level::persist_to_majority);
  EXPECT_FALSE(parse("upsert k {} --durability none").options.durability);
  EXPECT_NE(error_of("upsert k {} --durability sometimes").find("--durability: expected one of none, majority"),
            std::string::npos);
  EXPECT_EQ(error_of("upsert k {} --durability majority --replicate-to 1"),
            "upsert: --durability (the server's) and --persist-to / --replicate-to (polled) exclude each other");

  // Polled durability: -1 is "all there are"; more than the bucket has is the server's to refuse.
  auto d = parse("append k x --persist-to -1 --replicate-to 4").options;
  EXPECT_EQ(d.persist_to, -1);
  EXPECT_EQ(d.replicate_to, 4);
  EXPECT_EQ(error_of("upsert k {} --persist-to -2"), "--persist-to: expected a whole number from -1 to 2147483647, got \"-2\"");
  EXPECT_EQ(error_of("upsert k {} --replicate-to 2147483648"),
            "--replicate-to: expected a whole number from -1 to 2147483647, got \"2147483648\"");

  EXPECT_EQ(parse("upsert k {} --expiry 4294967295").options.expiry, std::chrono::seconds(4294967295));
  EXPECT_EQ(error_of("upsert k {} --expiry 4294967296"),
            "--expiry: expected a whole number from 0 to 4294967295, got \"4294967296\"");
  EXPECT_EQ(parse("counter k 1 --initial 0xff").options.initial, 255u);
  EXPECT_TRUE(parse("endure k --persist-to 1 --removed").options.removed);
}

TEST(cli_commands, view_options_are_checked_as_json)
{
  auto o = parse(R"(view dd v --limit 10 --skip 2 --key "a b" --startkey [1,"x"] --endkey {"z": 1} --descending)"
                 R"( --reduce false --group --group-level 3 --stale update_after --include-docs)")
               .options;
  EXPECT_EQ(o.limit, 10);
  EXPECT_EQ(o.skip, 2);
  EXPECT_EQ(o.key, R"("a b")");
  EXPECT_EQ(o.start_key, R"([1,"x"])");
  EXPECT_EQ(o.end_key, R"({"z": 1})"); // as given
  EXPECT_TRUE(o.descending);
  EXPECT_EQ(o.reduce, false);
  EXPECT_TRUE(o.group);
  EXPECT_EQ(o.group_level, 3);
  EXPECT_EQ(o.stale, couchkv::view_stale::update_after);
  EXPECT_TRUE(o.include_docs);
  EXPECT_EQ(parse(R"(view dd v --keys ["a", 2, [3]])").options.keys, (std::vector<std::string>{R"("a")", "2", "[3]"}));
  EXPECT_EQ(error_of("view dd v --key abc"),
            "--key: expected a JSON value (a string with its quotes: '\"abc\"'), got \"abc\"");
  EXPECT_NE(error_of(R"(view dd v --keys "a")").find("--keys: expected a JSON array"), std::string::npos);
  EXPECT_NE(error_of("view dd v --stale maybe").find("--stale: expected one of ok, false, update_after"), std::string::npos);
  EXPECT_NE(error_of("view dd v --reduce no").find("--reduce: expected one of true, false"), std::string::npos);
  EXPECT_NE(error_of("view dd v --limit -1").find("--limit: expected a whole number"), std::string::npos);
}

TEST(cli_commands, global_options_stop_at_the_command)
{
  const std::vector<std::string> argv{"-u", "me", "--password=secret", "--mock", "--timeout", "0x10", "get", "--cas", "k"};
  global_options g;
  EXPECT_EQ(parse_global_options(argv, g), 6u);
  EXPECT_EQ(g.user, "me");
  EXPECT_EQ(g.password, "secret");
  EXPECT_TRUE(g.mock);
  EXPECT_EQ(g.timeout, std::chrono::milliseconds(16));

  auto error = [](std::vector<std::string> words) -> std::string {
    global_options ignored;
    try {
      (void)parse_global_options(words, ignored);
    } catch (const usage_error& e) {
      return e.what();
    }
    return {};
  };
  EXPECT_EQ(error({"--bogus", "version"}), "unknown option \"--bogus\" (couchkv --help lists them)");
  EXPECT_EQ(error({"--timeout", "0"}), "--timeout: expected a whole number from 1 to 3600000, got \"0\"");
  EXPECT_EQ(error({"--connstr"}), "--connstr needs a value (S)");
  EXPECT_EQ(error({"--mock=yes"}), "\"--mock\" takes no value");
}

TEST(cli_commands, stdin_lines_split_into_words_json_and_quoted_text)
{
  EXPECT_EQ(words_of("  get a\tb  "), (std::vector<std::string>{"get", "a", "b"}));
  EXPECT_EQ(words_of(R"(upsert k {"a": [1, "x }"], "b": "\" ]"} --expiry 5)"),
            (std::vector<std::string>{"upsert", "k", R"({"a": [1, "x }"], "b": "\" ]"})", "--expiry", "5"}));
  EXPECT_EQ(words_of(R"(upsert k "two words" --format json)"),
            (std::vector<std::string>{"upsert", "k", R"("two words")", "--format", "json"}));
  EXPECT_EQ(words_of("upsert k 'hello world' --format string"),
            (std::vector<std::string>{"upsert", "k", "hello world", "--format", "string"}));
  EXPECT_EQ(words_of("view d v --keys [\"a\", \"b\"]"), (std::vector<std::string>{"view", "d", "v", "--keys", "[\"a\", \"b\"]"}));
  // Unbalanced: an ordinary word, as is anything glued after a JSON value.
  EXPECT_EQ(words_of("get {abc def"), (std::vector<std::string>{"get", "{abc", "def"}));
  EXPECT_EQ(words_of("get {}x y"), (std::vector<std::string>{"get", "{}x", "y"}));
  EXPECT_EQ(words_of("get 'open"), (std::vector<std::string>{"get", "'open"}));
  EXPECT_EQ(words_of("get ''"), (std::vector<std::string>{"get", ""}));
  EXPECT_TRUE(words_of("   ").empty());
  // Control characters are bytes like any other: no word splits on them.
  EXPECT_EQ(words_of("get \x1b]0;t\x07"), (std::vector<std::string>{"get", "\x1b]0;t\x07"}));
}

TEST(cli_commands, help_finds_a_command_or_a_family)
{
  const std::vector<std::string> design{"design"};
  EXPECT_EQ(find_help(design).size(), 5u);
  const std::vector<std::string> design_get{"design", "get"};
  ASSERT_EQ(find_help(design_get).size(), 1u);
  EXPECT_EQ(find_help(design_get)[0]->id, command_id::design_get);
  const std::vector<std::string> nothing{"nothing"};
  EXPECT_TRUE(find_help(nothing).empty());
}
