// Views: query encoding (exact strings), the streaming row parser, design documents.
#include <couchkv/views.hpp>

#include <couchkv/views/row_parser.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace couchkv;
using couchkv::views::view_row_parser;

namespace {

std::string path_of(const view_query& q, std::string_view bucket = "travel")
{
  auto r = q.encode(bucket);
  EXPECT_TRUE(r) << r.error.message();
  return r ? r->path : std::string{};
}

view_failure encode_error(const view_query& q)
{
  auto r = q.encode("travel");
  EXPECT_FALSE(r);
  return r.error;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Query encoding

TEST(view_query, path_without_parameters_and_name_prefixes)
{
  EXPECT_EQ(path_of(view_query("beer", "by_name")), "/travel/_design/beer/_view/by_name");
  EXPECT_EQ(path_of(view_query("beer", "by_name", true)), "/travel/_design/dev_beer/_view/by_name");
  EXPECT_EQ(path_of(view_query("dev_beer", "by_name", true)), "/travel/_design/dev_beer/_view/by_name");
  EXPECT_EQ(path_of(view_query("_design/beer", "by_name", true)), "/travel/_design/dev_beer/_view/by_name");
  EXPECT_EQ(path_of(view_query("dev_beer", "by_name", false)), "/travel/_design/dev_beer/_view/by_name");
  // Names and the bucket are percent-encoded as path segments.
  EXPECT_EQ(path_of(view_query("my ddoc", "a/b"), "my%bucket"), "/my%25bucket/_design/my%20ddoc/_view/a%2Fb");

  auto r = view_query("beer", "by_name").encode("travel");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(r->content_type, "");
}

TEST(view_query, every_parameter_in_its_fixed_order)
{
  view_query q("beer", "by_name");
  q.debug(true)
      .connection_timeout(60000)
      .full_set(true)
      .on_error(view_on_error::stop)
      .skip(5)
      .limit(10)
      .inclusive_end(false)
      .end_key_doc_id("doc 9")
      .end_key("z")
      .start_key_doc_id("doc&1")
      .start_key(json_value::array({"a", 1}))
      .group_level(2)
      .reduce(true)
      .descending(true)
      .stale(view_stale::update_after)
      .include_docs(false)
      .raw("foo", "a b+c")
      .raw("extra", "x");
  EXPECT_EQ(path_of(q), "/travel/_design/beer/_view/by_name?stale=update_after&descending=true&reduce=true"
                        "&group_level=2&startkey=%5B%22a%22%2C1%5D&startkey_docid=doc%261&endkey=%22z%22"
                        "&endkey_docid=doc%209&inclusive_end=false&limit=10&skip=5&on_error=stop&full_set=true"
                        "&connection_timeout=60000&debug=true&foo=a%20b%2Bc&extra=x");
}

TEST(view_query, enum_and_boolean_spellings)
{
  EXPECT_EQ(path_of(view_query("d", "v").stale(view_stale::ok)), "/travel/_design/d/_view/v?stale=ok");
  EXPECT_EQ(path_of(view_query("d", "v").stale(view_stale::false_)), "/travel/_design/d/_view/v?stale=false");
  EXPECT_EQ(path_of(view_query("d", "v").on_error(view_on_error::continue_)), "/travel/_design/d/_view/v?on_error=continue");
  EXPECT_EQ(path_of(view_query("d", "v").descending(false).reduce(false).full_set(false).debug(false)),
            "/travel/_design/d/_view/v?descending=false&reduce=false&full_set=false&debug=false");
  EXPECT_EQ(path_of(view_query("d", "v").group(true).limit(0)), "/travel/_design/d/_view/v?group=true&limit=0");
  // include_docs is client-side only.
  EXPECT_EQ(path_of(view_query("d", "v").include_docs(true)), "/travel/_design/d/_view/v");
  EXPECT_TRUE(view_query("d", "v").include_docs(true).include_docs());
}

TEST(view_query, string_keys_are_json_escaped_then_percent_encoded)
{
  EXPECT_EQ(path_of(view_query("d", "v").key("abc")), "/travel/_design/d/_view/v?key=%22abc%22");
  EXPECT_EQ(path_of(view_query("d", "v").key(std::string("a \"q\" & b+c/\xC3\xBC\n"))),
            "/travel/_design/d/_view/v?key=%22a%20%5C%22q%5C%22%20%26%20b%2Bc%2F%C3%BC%5Cn%22");
  EXPECT_EQ(path_of(view_query("d", "v").key(std::string("back\\slash\ttab\x01", 15))),
            "/travel/_design/d/_view/v?key=%22back%5C%5Cslash%5Cttab%5Cu0001%22");
  EXPECT_EQ(path_of(view_query("d", "v").key("~unreserved-._")), "/travel/_design/d/_view/v?key=%22~unreserved-._%22");
  EXPECT_EQ(path_of(view_query("d", "v").key("\xE2\x82\xAC \xF0\x9F\x98\x80")),
            "/travel/_design/d/_view/v?key=%22%E2%82%AC%20%F0%9F%98%80%22");
}

TEST(view_query, scalar_array_and_raw_json_keys)
{
  auto key_param = [](json_value v) {
    auto p = path_of(view_query("d", "v").key(std::move(v)));
    return p.substr(p.find('?') + 1);
  };
  EXPECT_EQ(key_param(42), "key=42");
  EXPECT_EQ(key_param(-7), "key=-7");
  EXPECT_EQ(key_param(std::uint64_t{18446744073709551615u}), "key=18446744073709551615");
  EXPECT_EQ(key_param(true), "key=true");
  EXPECT_EQ(key_param(false), "key=false");
  EXPECT_EQ(key_param(nullptr), "key=null");
  EXPECT_EQ(key_param(json_value{}), "key=null");
  EXPECT_EQ(key_param(1.5), "key=1.5");
  EXPECT_EQ(key_param(json_value::array({"beer", 2015, json_value::array({}), nullptr})),
            "key=%5B%22beer%22%2C2015%2C%5B%5D%2Cnull%5D");
  EXPECT_EQ(key_param(json_value::raw(" [\"a\", 1] \n")), "key=%5B%22a%22%2C%201%5D");
  EXPECT_EQ(key_param(json_value::raw(R"({"k":"v"})")), "key=%7B%22k%22%3A%22v%22%7D");
}

TEST(view_query, keys_in_the_query_string_below_the_threshold)
{
  auto r = view_query("d", "v").keys({"a", 2, json_value::array({"x", nullptr})}).limit(3).encode("travel");
  ASSERT_TRUE(r) << r.error.message();
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/travel/_design/d/_view/v?keys=%5B%22a%22%2C2%2C%5B%22x%22%2Cnull%5D%5D&limit=3");
  EXPECT_EQ(r->body, "");
}

TEST(view_query, keys_move_to_a_post_body_over_the_threshold)
{
  auto forced = view_query("d", "v").keys({"a", "b \"c\""}).limit(3).post_threshold(0).encode("travel");
  ASSERT_TRUE(forced) << forced.error.message();
  EXPECT_EQ(forced->method, "POST");
  EXPECT_EQ(forced->path, "/travel/_design/d/_view/v?limit=3");
  EXPECT_EQ(forced->body, R"({"keys":["a","b \"c\""]})");
  EXPECT_EQ(forced->content_type, "application/json");

  std::vector<json_value> many;
  for (int i = 0; i < 200; ++i) many.emplace_back("key::" + std::to_string(i));
  auto big = view_query("d", "v").keys(many).encode("travel");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->method, "POST");
  EXPECT_EQ(big->path, "/travel/_design/d/_view/v");
  EXPECT_TRUE(big->body.starts_with(R"({"keys":["key::0","key::1",)"));
  EXPECT_TRUE(big->body.ends_with(R"("key::199"]})"));

  // The boundary: exactly the threshold stays GET, one byte less moves to POST.
  auto get = view_query("d", "v").keys({"a"}).encode("travel");
  ASSERT_TRUE(get);
  const auto qs_len = get->path.size() - get->path.find('?') - 1;
  EXPECT_EQ(view_query("d", "v").keys({"a"}).post_threshold(qs_len).encode("travel")->method, "GET");
  EXPECT_EQ(view_query("d", "v").keys({"a"}).post_threshold(qs_len - 1).encode("travel")->method, "POST");

  // Empty keys list is still a keys parameter.
  EXPECT_EQ(path_of(view_query("d", "v").keys({})), "/travel/_design/d/_view/v?keys=%5B%5D");
}

TEST(view_query, validation_errors_name_the_problem)
{
  struct bad {
    view_query query;
    std::string_view detail;
  };
  const std::vector<bad> cases{
      {view_query("", "v"), "design document name is empty"},
      {view_query("d", ""), "view name is empty"},
      {view_query("d", "v").limit(-1), "limit must not be negative (-1)"},
      {view_query("d", "v").skip(-2), "skip must not be negative (-2)"},
      {view_query("d", "v").group_level(-1), "group_level must not be negative"},
      {view_query("d", "v").connection_timeout(-5), "connection_timeout must not be negative"},
      {view_query("d", "v").reduce(false).group_level(1), "group_level needs reduce"},
      {view_query("d", "v").reduce(false).group(true), "group=true needs reduce"},
      {view_query("d", "v").group(true).group_level(1), "group and group_level are mutually exclusive"},
      {view_query("d", "v").key("a").keys({"b"}), "key and keys are mutually exclusive"},
      {view_query("d", "v").include_docs(true).reduce(true), "include_docs"},
      {view_query("d", "v").key(std::string("\xFF")), "key: string is not valid UTF-8"},
      {view_query("d", "v").start_key(std::string("\xC3")), "start_key: string is not valid UTF-8"},
      {view_query("d", "v").end_key(std::numeric_limits<double>::quiet_NaN()), "end_key: number is not finite"},
      {view_query("d", "v").key(json_value::raw("[1,")), "key: not valid JSON"},
      {view_query("d", "v").key(json_value::raw("1 2")), "key: not valid JSON"},
      {view_query("d", "v").key(json_value::raw("  ")), "key: empty JSON text"},
      {view_query("d", "v").keys({"a", json_value::raw("{")}), "keys[1]: not valid JSON"},
      {view_query("d", "v").key(json_value::array({1, std::string("\xFF")})), "key: element 1: string is not valid UTF-8"},
      {view_query("d", "v").raw("limit", "1"), "raw parameter \"limit\" duplicates a typed setter"},
      {view_query("d", "v").raw("startkey_docid", "x"), "duplicates a typed setter"},
      {view_query("d", "v").raw("", "x"), "raw parameter with an empty name"},
  };
  for (const auto& c : cases) {
    auto err = encode_error(c.query);
    EXPECT_EQ(err.ec, view_errc::invalid_argument) << c.detail;
    EXPECT_NE(err.detail.find(c.detail), std::string::npos) << err.detail << " / expected: " << c.detail;
  }
  auto no_bucket = view_query("d", "v").encode("");
  ASSERT_FALSE(no_bucket);
  EXPECT_EQ(no_bucket.error.detail, "bucket name is empty");
  EXPECT_EQ(no_bucket.error.message(), "invalid view query: bucket name is empty");
}

TEST(view_query, allowed_combinations_are_not_errors)
{
  EXPECT_TRUE(view_query("d", "v").reduce(true).group_level(0).encode("b"));
  EXPECT_TRUE(view_query("d", "v").reduce(false).group(false).encode("b"));
  EXPECT_TRUE(view_query("d", "v").include_docs(true).reduce(false).encode("b"));
  EXPECT_TRUE(view_query("d", "v").key(json_value::raw("\"\\ud83d\\ude00\"")).encode("b"));
}

// ---------------------------------------------------------------------------------------------
// Row parser

namespace {

struct parsed {
  std::error_code ec;
  std::string detail;
  std::vector<view_row> rows;
  std::optional<std::uint64_t> total_rows;
  std::vector<view_error> errors;
  std::optional<std::string> debug_info;
  std::optional<view_server_error> server_error;
};

parsed parse_in_pieces(std::string_view body, const std::vector<std::size_t>& cuts,
                       std::size_t max_row = view_row_parser::default_max_row_bytes)
{
  view_row_parser p(max_row);
  parsed out;
  std::size_t at = 0;
  auto drain = [&] {
    while (auto row = p.next()) out.rows.push_back(std::move(*row));
  };
  for (std::size_t cut : cuts) {
    if (cut < at || cut > body.size()) continue;
    out.ec = p.feed(body.substr(at, cut - at));
    drain();
    at = cut;
    if (out.ec) break;
  }
  if (!out.ec) out.ec = p.feed(body.substr(at));
  drain();
  if (!out.ec) out.ec = p.finish();
  out.detail = p.error().detail;
  out.total_rows = p.meta().total_rows;
  out.errors = p.meta().errors;
  out.debug_info = p.meta().debug_info;
  out.server_error = p.server_error();
  return out;
}

parsed parse_whole(std::string_view body) { return parse_in_pieces(body, {}); }

parsed parse_bytewise(std::string_view body)
{
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  return parse_in_pieces(body, cuts);
}

void expect_same(const parsed& a, const parsed& b)
{
  EXPECT_EQ(a.ec, b.ec);
  EXPECT_EQ(a.detail, b.detail);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.total_rows, b.total_rows);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_EQ(a.debug_info, b.debug_info);
  EXPECT_EQ(a.server_error, b.server_error);
}

// Whole, byte by byte and in 200 random splittings: the same outcome every time.
parsed parse_every_way(std::string_view body)
{
  parsed whole = parse_whole(body);
  expect_same(whole, parse_bytewise(body));
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::size_t> cuts;
    std::uniform_int_distribution<std::size_t> pos(0, body.size());
    const int n = static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) cuts.push_back(pos(rng));
    std::sort(cuts.begin(), cuts.end());
    expect_same(whole, parse_in_pieces(body, cuts));
  }
  return whole;
}

const std::string sample_body = "{\"total_rows\":7,\"rows\":[\n"
                                "{\"id\":\"beer::1\",\"key\":\"A \\\"quoted\\\" \\u00e9 key\",\"value\":null},\n"
                                "{\"id\":\"beer::2\",\"key\":[\"nested\",{\"a\":[1,2.5e-3,true]}],\"value\":{\"x\":-0.5}},\n"
                                "{ \"id\" : \"caf\\u00e9 \\ud83d\\ude00\" , \"key\" : 1E+2 , \"value\" : \"\xE2\x82\xAC\" }\r\n"
                                "]\n}\n";

} // namespace

TEST(view_row_parser, rows_come_out_identical_however_the_body_is_split)
{
  auto r = parse_every_way(sample_body);
  ASSERT_FALSE(r.ec) << r.detail;
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0], (view_row{"beer::1", R"("A \"quoted\" \u00e9 key")", "null", std::nullopt}));
  EXPECT_EQ(r.rows[1], (view_row{"beer::2", R"(["nested",{"a":[1,2.5e-3,true]}])", R"({"x":-0.5})", std::nullopt}));
  EXPECT_EQ(r.rows[2], (view_row{"caf\xC3\xA9 \xF0\x9F\x98\x80", "1E+2", "\"\xE2\x82\xAC\"", std::nullopt}));
  EXPECT_EQ(r.total_rows, 7u);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_FALSE(r.server_error);
}

TEST(view_row_parser, rows_are_available_as_soon_as_each_row_closes)
{
  view_row_parser p;
  ASSERT_FALSE(p.feed(R"({"total_rows":2,"rows":[{"id":"a","key":1,"value":1})"));
  auto first = p.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, "a");
  EXPECT_FALSE(p.next());
  ASSERT_FALSE(p.feed(R"(,{"id":"b","key":2,"value")"));
  EXPECT_FALSE(p.next());
  ASSERT_FALSE(p.feed(":2}"));
  EXPECT_EQ(p.next()->id, "b");
  EXPECT_FALSE(p.complete());
  ASSERT_FALSE(p.feed("]}"));
  EXPECT_TRUE(p.complete());
  EXPECT_FALSE(p.finish());
  EXPECT_EQ(p.rows_seen(), 2u);
}

TEST(view_row_parser, total_rows_after_rows_and_empty_rows)
{
  auto after = parse_every_way(R"({"rows":[{"id":"x","key":null,"value":0}],"total_rows":18446744073709551615})");
  ASSERT_FALSE(after.ec) << after.detail;
  EXPECT_EQ(after.rows.size(), 1u);
  EXPECT_EQ(after.total_rows, 18446744073709551615u);

  auto empty = parse_every_way(" {\"total_rows\":0,\"rows\":[ ]} ");
  ASSERT_FALSE(empty.ec) << empty.detail;
  EXPECT_TRUE(empty.rows.empty());
  EXPECT_EQ(empty.total_rows, 0u);

  auto none = parse_every_way(R"({"rows":[]})");
  ASSERT_FALSE(none.ec);
  EXPECT_FALSE(none.total_rows);
}

TEST(view_row_parser, reduce_and_group_rows_have_no_id)
{
  auto reduced = parse_every_way(R"({"rows":[{"key":null,"value":42}]})");
  ASSERT_FALSE(reduced.ec) << reduced.detail;
  ASSERT_EQ(reduced.rows.size(), 1u);
  EXPECT_EQ(reduced.rows[0], (view_row{"", "null", "42", std::nullopt}));

  auto grouped = parse_every_way(R"({"rows":[{"key":["a",1],"value":{"sum":3,"count":2,"min":1,"max":2,"sumsqr":5}},)"
                                 R"({"key":["b",2],"value":7}]})");
  ASSERT_FALSE(grouped.ec) << grouped.detail;
  ASSERT_EQ(grouped.rows.size(), 2u);
  EXPECT_EQ(grouped.rows[0].key, R"(["a",1])");
  EXPECT_EQ(grouped.rows[0].value, R"({"sum":3,"count":2,"min":1,"max":2,"sumsqr":5})");
  EXPECT_EQ(grouped.rows[1].id, "");
}

TEST(view_row_parser, errors_array_debug_info_and_extra_members)
{
  auto r = parse_every_way(R"({"debug_info":{"local":{"a":[1,{"b":"}"}]}},"total_rows":1,)"
                           R"("rows":[{"id":"d","key":"k","value":"v","partition":3,"node":"local","doc":{"n":1}}],)"
                           R"("errors":[{"from":"http://10.0.0.2:8092/b","reason":"timeout \"x\""},)"
                           R"({"from":"local","reason":{"code":1}}],"unknown":[{"rows":[1]}]})");
  ASSERT_FALSE(r.ec) << r.detail;
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0], (view_row{"d", R"("k")", R"("v")", std::optional<std::string>(R"({"n":1})")}));
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0], (view_error{"http://10.0.0.2:8092/b", "timeout \"x\""}));
  EXPECT_EQ(r.errors[1], (view_error{"local", R"({"code":1})"}));
  EXPECT_EQ(r.debug_info, R"({"local":{"a":[1,{"b":"}"}]}})");

  auto stop = parse_every_way(R"({"total_rows":0,"rows":[],"errors":[{"from":"n1","reason":"boom"}]})");
  ASSERT_FALSE(stop.ec);
  ASSERT_EQ(stop.errors.size(), 1u);
  EXPECT_EQ(stop.errors[0].reason, "boom");
}

TEST(view_row_parser, error_bodies_expose_error_and_reason)
{
  auto r = parse_every_way(R"({"error":"not_found","reason":"missing"})");
  ASSERT_FALSE(r.ec) << r.detail;
  ASSERT_TRUE(r.server_error);
  EXPECT_EQ(r.server_error->error, "not_found");
  EXPECT_EQ(r.server_error->reason, "missing");
  EXPECT_TRUE(r.rows.empty());

  auto whole = parse_view_response(R"({"error":"not_found","reason":"missing"})");
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error.ec, view_errc::design_document_not_found);
  EXPECT_EQ(whole.error.detail, "not_found: missing");

  auto bad_query = parse_view_response(R"({"error":"query_parse_error","reason":"Invalid value for \"limit\""})");
  ASSERT_FALSE(bad_query);
  EXPECT_EQ(bad_query.error.ec, view_errc::query_rejected);
  EXPECT_EQ(bad_query.error.detail, "query_parse_error: Invalid value for \"limit\"");

  auto ok = parse_view_response(sample_body);
  ASSERT_TRUE(ok) << ok.error.message();
  EXPECT_EQ(ok->rows.size(), 3u);
  EXPECT_EQ(ok->meta.total_rows, 7u);
}

TEST(view_row_parser, classify_view_error_by_status_and_body)
{
  view_server_error missing_view{"not_found", "missing_named_view"};
  view_server_error missing_ddoc{"not_found", "missing"};
  view_server_error parse{"query_parse_error", "bad"};
  view_server_error other{"error", "boom"};
  EXPECT_FALSE(classify_view_error(200, nullptr));
  EXPECT_EQ(classify_view_error(404, &missing_view), view_errc::view_not_found);
  EXPECT_EQ(classify_view_error(404, &missing_ddoc), view_errc::design_document_not_found);
  EXPECT_EQ(classify_view_error(404, nullptr), view_errc::design_document_not_found);
  EXPECT_EQ(classify_view_error(400, &parse), view_errc::query_rejected);
  EXPECT_EQ(classify_view_error(400, nullptr), view_errc::query_rejected);
  EXPECT_EQ(classify_view_error(500, &other), view_errc::server_error);
  EXPECT_EQ(classify_view_error(503, nullptr), view_errc::server_error);
  EXPECT_EQ(classify_view_error(200, &other), view_errc::server_error);
}

TEST(view_row_parser, every_truncation_is_detected_at_finish)
{
  for (std::size_t len = 0; len < sample_body.size(); ++len) {
    const std::string_view prefix = std::string_view(sample_body).substr(0, len);
    // The body is complete once the root object closes; only trailing whitespace may be cut.
    if (prefix.find_last_of('}') == sample_body.find_last_of('}')) continue;
    auto r = parse_whole(prefix);
    EXPECT_EQ(r.ec, view_errc::truncated_response) << "prefix length " << len << ": " << r.detail;
  }
  auto empty = parse_whole("");
  EXPECT_EQ(empty.ec, view_errc::truncated_response);
  EXPECT_EQ(empty.detail, "offset 0: the body is empty");
  EXPECT_EQ(parse_whole(" \n").ec, view_errc::truncated_response);
  auto in_row = parse_whole(R"({"rows":[{"id":"a","key":1,"value":1},{"id":"b")");
  EXPECT_EQ(in_row.detail, "offset 47: the body ends inside rows[1]");
  EXPECT_EQ(in_row.rows.size(), 1u);
  EXPECT_EQ(parse_whole(R"({"total_rows":12)").detail, "offset 16: the body ends inside a value 1 level(s) deep");
  EXPECT_EQ(parse_whole(R"({"rows":[],"x":"abc)").detail, "offset 19: the body ends inside a string");
}

TEST(view_row_parser, malformed_bodies_give_the_offset_and_what_was_expected)
{
  struct bad {
    std::string body;
    std::string detail;
  };
  const std::vector<bad> cases{
      {R"([1])", "offset 0: expected '{' (a view response is a JSON object), got '['"},
      {R"(x)", "offset 0: expected a JSON value, got 'x'"},
      {R"("rows")", "offset 0: expected '{' (a view response is a JSON object), got '\"'"},
      {R"({"rows":[{"id":"a","key":1,"value":2},]})", "offset 38: expected a JSON value, got ']'"},
      {R"({"rows":[{"id":"a" "key":1}]})", "offset 19: expected ',' or '}', got '\"'"},
      {R"({"rows" [])", "offset 8: expected ':' after a member name, got '['"},
      {R"({,})", "offset 1: expected a member name or '}', got ','"},
      {R"({"a":1,})", "offset 7: expected a member name after ',', got '}'"},
      {R"({"a":[1}])", "offset 7: expected ',' or ']', got '}'"},
      {R"({"total_rows":01})", "offset 15: a number has a leading zero"},
      {R"({"a":-})", "offset 6: expected a digit after '-', got '}'"},
      {R"({"a":1.})", "offset 7: expected a digit after the decimal point, got '}'"},
      {R"({"a":1e})", "offset 7: expected a digit in the exponent, got '}'"},
      {R"({"a":1.5.2})", "offset 8: expected a digit or the end of the number, got '.'"},
      {R"({"a":tru})", "offset 8: expected true, false or null, got '}'"},
      {R"({"a":nul1})", "offset 8: expected true, false or null, got '1'"},
      {"{\"a\":\"x\x01\"}", "offset 7: unescaped control character byte 0x01 in a string"},
      {"{\"a\":\"\xFF\"}", "offset 6: invalid UTF-8 in a string (byte 0xff)"},
      {"{\"a\":\"\xC0\xAF\"}", "offset 6: invalid UTF-8 in a string (byte 0xc0)"},
      {"{\"a\":\"\xED\xA0\x80\"}", "offset 7: invalid UTF-8 in a string (byte 0xa0)"},
      {"{\"a\":\"\xE2\x82\"}", "offset 8: incomplete UTF-8 sequence in a string"},
      {"{\"a\":\"\xE2\\n\"}", "offset 7: incomplete UTF-8 sequence in a string"},
      {R"({"a":"\q"})", "offset 7: invalid escape \\q in a string"},
      {R"({"a":"\u12G4"})", "offset 10: expected a hex digit in a \\u escape, got 'G'"},
      {R"({"a":"\ud800"})", "offset 12: expected the \\u escape of a low surrogate, got '\"'"},
      {R"({"a":"\ud800\u0041"})", "offset 17: a high surrogate escape is not followed by a low one"},
      {R"({"a":"\udc00"})", "offset 11: a low surrogate escape without a high one"},
      {R"({"a":1} x)", "offset 8: expected nothing after the end of the response object, got 'x'"},
      {R"({"a":1}{})", "offset 7: expected nothing after the end of the response object, got '{'"},
      {R"({"rows":{}})", "offset 8: \"rows\" is not an array"},
      {R"({"errors":"x"})", "offset 10: \"errors\" is not an array"},
      {R"({"rows":[1]})", "offset 9: rows[0] is not an object"},
      {R"({"rows":[{"key":1,"value":1},"x"]})", "offset 29: rows[1] is not an object"},
      {R"({"rows":[{"key":1}]})", "offset 17: rows[0] has no \"value\""},
      {R"({"rows":[{"id":"a","value":1}]})", "offset 28: rows[0] has no \"key\""},
      {R"({"rows":[{"id":5,"key":1,"value":1}]})", "offset 34: rows[0].id is not a string"},
      {R"({"total_rows":-1})", "offset 16: \"total_rows\" is not a non-negative integer: -1"},
      {R"({"total_rows":1.5})", "offset 17: \"total_rows\" is not a non-negative integer: 1.5"},
      {R"({"total_rows":99999999999999999999})", "offset 34: \"total_rows\" is not a non-negative integer: 99999999999999999999"},
      {R"({"total_rows":"1"})", "offset 14: \"total_rows\" is not a number"},
      {R"({"error":404})", "offset 9: \"error\" is not a string"},
      {std::string(R"({"a":)") + std::string(600, '['), "offset 516: nesting deeper than 512"},
  };
  for (const auto& c : cases) {
    auto whole = parse_whole(c.body);
    EXPECT_EQ(whole.ec, view_errc::malformed_response) << c.body;
    EXPECT_EQ(whole.detail, c.detail) << c.body;
    auto bytewise = parse_bytewise(c.body);
    EXPECT_EQ(bytewise.ec, whole.ec) << c.body;
    EXPECT_EQ(bytewise.detail, whole.detail) << c.body;
  }
}

TEST(view_row_parser, errors_are_sticky)
{
  view_row_parser p;
  auto ec = p.feed("{\"rows\":[}");
  ASSERT_EQ(ec, view_errc::malformed_response);
  const auto detail = p.error().detail;
  EXPECT_EQ(p.feed("]}"), ec);
  EXPECT_EQ(p.finish(), ec);
  EXPECT_EQ(p.error().detail, detail);
  EXPECT_FALSE(p.next());
}

TEST(view_row_parser, a_row_over_the_cap_is_an_error)
{
  const std::string small = R"({"rows":[{"id":"a","key":1,"value":")" + std::string(50, 'x') + R"("}]})";
  const std::string large = R"({"rows":[{"id":"a","key":1,"value":")" + std::string(200, 'x') + R"("}]})";
  auto ok = parse_in_pieces(small, {10, 20}, 100);
  EXPECT_FALSE(ok.ec) << ok.detail;
  EXPECT_EQ(ok.rows.size(), 1u);
  auto too_big = parse_in_pieces(large, {10, 20}, 100);
  EXPECT_EQ(too_big.ec, view_errc::row_too_large);
  EXPECT_EQ(too_big.detail, "offset 109: a value kept by the parser exceeds 100 bytes");
  // The cap also bounds debug_info and unknown members are never kept at all.
  EXPECT_EQ(parse_in_pieces(R"({"debug_info":")" + std::string(200, 'd') + R"("})", {}, 100).ec, view_errc::row_too_large);
  EXPECT_FALSE(parse_in_pieces(R"({"other":")" + std::string(200, 'd') + R"(","rows":[]})", {}, 100).ec);
}

TEST(view_row_parser, million_rows_in_64k_chunks_with_bounded_memory)
{
  constexpr std::uint64_t total = 1'000'000;
  constexpr std::size_t chunk = 64 * 1024;
  view_row_parser p;
  std::string pending = R"({"total_rows":1000000,"rows":[)";
  std::uint64_t produced = 0;
  std::uint64_t consumed = 0;
  std::size_t max_before_drain = 0;
  std::size_t max_after_drain = 0;
  std::uint64_t bytes = 0;
  bool in_order = true;
  auto feed = [&](std::string_view piece) {
    ASSERT_FALSE(p.feed(piece)) << p.error().message();
    bytes += piece.size();
    max_before_drain = std::max(max_before_drain, p.buffered_bytes());
    while (auto row = p.next()) {
      in_order = in_order && row->id == "doc" + std::to_string(consumed) && row->key == std::to_string(consumed);
      ++consumed;
    }
    max_after_drain = std::max(max_after_drain, p.buffered_bytes());
  };
  while (produced < total || !pending.empty()) {
    while (pending.size() < chunk && produced < total) {
      pending += R"({"id":"doc)" + std::to_string(produced) + R"(","key":)" + std::to_string(produced) +
                 R"(,"value":{"n":[1,2,"three"]}})";
      pending += ++produced == total ? "]}\n" : ",\n";
    }
    const std::size_t n = std::min(chunk, pending.size());
    feed(std::string_view(pending).substr(0, n));
    pending.erase(0, n);
  }
  ASSERT_FALSE(p.finish()) << p.error().message();
  EXPECT_EQ(consumed, total);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(p.meta().total_rows, total);
  EXPECT_GT(bytes, 50'000'000u);
  // Rows of one 64 KiB chunk at most wait for next(); once taken, only a partial row remains.
  EXPECT_LT(max_before_drain, 2 * chunk);
  EXPECT_LT(max_after_drain, 1024u);
}

// ---------------------------------------------------------------------------------------------
// Design documents

TEST(design_document, to_json_and_back)
{
  design_document d{"dev_beer",
                    {{"by_name", {"function (doc, meta) { emit(doc.name, null); }", std::nullopt}},
                     {"count", {"function (doc) { emit(doc.type, 1); }", "_count"}}}};
  EXPECT_EQ(d.to_json(), R"({"views":{"by_name":{"map":"function (doc, meta) { emit(doc.name, null); }"},)"
                         R"("count":{"map":"function (doc) { emit(doc.type, 1); }","reduce":"_count"}}})");
  auto back = parse_design_document(d.to_json(), "dev_beer");
  ASSERT_TRUE(back) << back.error.message();
  EXPECT_EQ(*back, d);
  EXPECT_EQ((design_document{"x", {}}).to_json(), R"({"views":{}})");
}

TEST(design_document, parse_server_bodies)
{
  auto with_id = parse_design_document(R"({"_id":"_design/beer","_rev":"1-abc","language":"javascript",)"
                                       R"("views":{"v":{"map":"function(d){}","reduce":null}},"spatial":{}})");
  ASSERT_TRUE(with_id) << with_id.error.message();
  EXPECT_EQ(with_id->name, "beer");
  ASSERT_EQ(with_id->views.size(), 1u);
  EXPECT_EQ(with_id->views.at("v"), (view_definition{"function(d){}", std::nullopt}));

  auto no_views = parse_design_document("{}", "_design/empty");
  ASSERT_TRUE(no_views);
  EXPECT_EQ(no_views->name, "empty");
  EXPECT_TRUE(no_views->views.empty());
}

TEST(design_document, invalid_bodies_are_clear_errors)
{
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{", "the body is not valid JSON"},
      {"[]", "the body is not a JSON object"},
      {R"({"views":{}})", "no design document name (no \"_id\" and none given)"},
      {R"({"_id":5,"views":{}})", "\"_id\" is not a string"},
      {R"({"_id":"beer","views":{}})", "\"_id\" does not start with \"_design/\""},
      {R"({"_id":"_design/d","views":[]})", "\"views\" is not an object"},
      {R"({"_id":"_design/d","views":{"v":1}})", "view \"v\" is not an object"},
      {R"({"_id":"_design/d","views":{"v":{"reduce":"_sum"}}})", "view \"v\" has no map function"},
      {R"({"_id":"_design/d","views":{"v":{"map":1}}})", "view \"v\": \"map\" is not a string"},
      {R"({"_id":"_design/d","views":{"v":{"map":"f","reduce":[]}}})", "view \"v\": \"reduce\" is not a string"},
  };
  for (const auto& [body, detail] : cases) {
    auto r = parse_design_document(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error.ec, view_errc::invalid_design_document);
    EXPECT_EQ(r.error.detail, detail) << body;
  }
}
