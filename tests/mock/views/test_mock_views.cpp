// The mock's views engine against what Couchbase Server (CouchDB set views) answers.
#include <couchkv_mock/view_engine.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace {

using couchkv::mock::views::doc_ref;
using couchkv::mock::views::doc_source;
using couchkv::mock::views::engine;
using couchkv::mock::views::engine_options;
using couchkv::mock::views::http_result;
using json = nlohmann::ordered_json;
using params = std::multimap<std::string, std::string>;

struct stored_doc {
  std::string value;
  bool is_json{true};
  std::uint64_t cas{1};
  std::uint32_t flags{0};
  std::uint32_t expiration{0};
};

class ViewEngine : public ::testing::Test {
protected:
  explicit ViewEngine(engine_options opts = {}) : e(opts) {}

  engine e;
  std::map<std::string, stored_doc> docs;
  int visits = 0;

  doc_source source()
  {
    return [this](const std::function<void(const doc_ref&)>& visit) {
      ++visits;
      for (const auto& [id, d] : docs) visit(doc_ref{id, d.value, d.is_json, d.cas, d.flags, d.expiration});
    };
  }

  void put_doc(const std::string& id, const json& v) { docs[id] = stored_doc{v.dump()}; }

  void put_ddoc(const std::string& name, const json& views)
  {
    auto r = e.put_design_doc(name, json{{"views", views}}.dump());
    ASSERT_EQ(r.status, 201) << r.body;
  }

  http_result raw(const std::string& view, const params& p = {}, std::optional<std::string> post = std::nullopt,
                  const std::string& ddoc = "d")
  {
    return e.query(ddoc, view, p, post ? std::optional<std::string_view>(*post) : std::nullopt, source());
  }

  json query(const std::string& view, const params& p = {}, std::optional<std::string> post = std::nullopt)
  {
    auto r = raw(view, p, std::move(post));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }

  static std::vector<json> keys_of(const json& res)
  {
    std::vector<json> out;
    for (const auto& row : res["rows"]) out.push_back(row["key"]);
    return out;
  }
  static std::vector<std::string> ids_of(const json& res)
  {
    std::vector<std::string> out;
    for (const auto& row : res["rows"]) out.push_back(row["id"].get<std::string>());
    return out;
  }
  static void expect_error(const http_result& r, int status, const std::string& error, const std::string& reason_part = "")
  {
    EXPECT_EQ(r.status, status) << r.body;
    auto body = json::parse(r.body);
    EXPECT_EQ(body["error"], error) << r.body;
    if (!reason_part.empty()) {
      EXPECT_NE(body["reason"].get<std::string>().find(reason_part), std::string::npos) << r.body;
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Design documents

TEST_F(ViewEngine, DesignDocumentCrud)
{
  const std::string body = R"({"views":{"by_name":{"map":"function (doc, meta) { emit(doc.name, null); }"}}})";
  auto put = e.put_design_doc("beer", body);
  EXPECT_EQ(put.status, 201);
  EXPECT_EQ(json::parse(put.body), json::parse(R"({"ok":true,"id":"_design/beer"})"));

  auto get = e.get_design_doc("beer");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(json::parse(get.body), json::parse(body));

  auto list = json::parse(e.list_design_docs());
  ASSERT_EQ(list["rows"].size(), 1u);
  EXPECT_EQ(list["rows"][0]["doc"]["meta"]["id"], "_design/beer");
  EXPECT_TRUE(list["rows"][0]["doc"]["meta"]["rev"].get<std::string>().starts_with("1-"));
  EXPECT_EQ(list["rows"][0]["doc"]["json"], json::parse(body));

  // Replacing bumps the revision.
  ASSERT_EQ(e.put_design_doc("beer", body).status, 201);
  list = json::parse(e.list_design_docs());
  EXPECT_TRUE(list["rows"][0]["doc"]["meta"]["rev"].get<std::string>().starts_with("2-"));

  auto del = e.delete_design_doc("beer");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(json::parse(del.body)["ok"], true);
  expect_error(e.get_design_doc("beer"), 404, "not_found", "missing");
  expect_error(e.delete_design_doc("beer"), 404, "not_found", "missing");
  EXPECT_EQ(json::parse(e.list_design_docs())["rows"].size(), 0u);
  expect_error(raw("by_name", {}, std::nullopt, "beer"), 404, "not_found", "missing");
}

TEST_F(ViewEngine, InvalidDesignDocumentsAreRefused)
{
  const std::vector<std::string> bad = {
    "not json",
    "[1,2]",
    R"({"views":[]})",
    R"({"views":{"v":"function(doc){}"}})",
    R"({"views":{"v":{"reduce":"_count"}}})",
    R"({"views":{"v":{"map":42}}})",
    R"({"views":{"v":{"map":"function (doc) { emit(doc.x "}}})",
    R"({"views":{"v":{"map":"1 + 1"}}})",
    R"({"views":{"v":{"map":""}}})",
    R"({"views":{"v":{"map":"function(doc){emit(1,1)}","reduce":"_median"}}})",
    R"({"views":{"v":{"map":"function(doc){emit(1,1)}","reduce":"function (k, v) { return"}}})",
    R"({"views":{"v":{"map":"function(doc){emit(1,1)}","reduce":7}}})",
    std::string(100000, '[') + std::string(100000, ']'),
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.substr(0, 80));
    auto r = e.put_design_doc("x", b);
    expect_error(r, 400, "invalid_design_document");
    EXPECT_FALSE(json::parse(r.body)["reason"].get<std::string>().empty());
  }
  expect_error(e.get_design_doc("x"), 404, "not_found");
  // A failed PUT leaves an existing design document alone.
  put_ddoc("x", {{"v", {{"map", "function(doc){emit(1,1)}"}}}});
  EXPECT_EQ(e.put_design_doc("x", bad[6]).status, 400);
  EXPECT_EQ(e.get_design_doc("x").status, 200);
  // Every accepted reduce form.
  for (const std::string red : {"_count", "_sum", "_stats", "function (keys, values, rereduce) { return 1; }"})
    EXPECT_EQ(e.put_design_doc("ok", json{{"views", {{"v", {{"map", "function(d){}"}, {"reduce", red}}}}}}.dump()).status, 201) << red;
}

TEST_F(ViewEngine, UnknownDesignDocumentAndView)
{
  put_ddoc("d", {{"v", {{"map", "function(doc){emit(1,1)}"}}}});
  expect_error(raw("v", {}, std::nullopt, "nope"), 404, "not_found", "missing");
  auto r = raw("nope");
  expect_error(r, 404, "not_found");
  EXPECT_EQ(json::parse(r.body)["reason"], "missing_named_view");
}

// ---------------------------------------------------------------------------------------------
// Map execution

TEST_F(ViewEngine, MapSeesDocAndMetaAndValueDefaultsToNull)
{
  put_ddoc("d", {{"meta", {{"map", "function (doc, meta) { emit(meta.id, meta); }"}}},
                 {"names", {{"map", "function (doc, meta) { if (doc.name) emit(doc.name); }"}}}});
  docs["u1"] = stored_doc{R"({"name":"ada"})", true, 0x1234, 0x02000006, 0};
  docs["u2"] = stored_doc{R"({"name":"bob"})", true, 7, 0, 1700000000};
  docs["u3"] = stored_doc{R"({"other":1})"};

  auto m = query("meta");
  EXPECT_EQ(m["total_rows"], 3);
  ASSERT_EQ(m["rows"].size(), 3u);
  const auto& meta = m["rows"][0]["value"];
  EXPECT_EQ(m["rows"][0]["id"], "u1");
  EXPECT_EQ(meta["id"], "u1");
  EXPECT_EQ(meta["type"], "json");
  EXPECT_EQ(meta["flags"], 0x02000006);
  EXPECT_EQ(meta["expiration"], 0);
  EXPECT_TRUE(meta["rev"].get<std::string>().starts_with("1-0000000000001234")) << meta["rev"];
  EXPECT_EQ(m["rows"][1]["value"]["expiration"], 1700000000);

  auto n = query("names");
  EXPECT_EQ(n["total_rows"], 2);
  EXPECT_EQ(n["rows"][0], json::parse(R"({"id":"u1","key":"ada","value":null})"));
  EXPECT_EQ(n["rows"][1], json::parse(R"({"id":"u2","key":"bob","value":null})"));
}

TEST_F(ViewEngine, NonJsonDocumentsArriveAsBase64)
{
  put_ddoc("d", {{"v", {{"map", "function (doc, meta) { emit(meta.id, [meta.type, doc, "
                                "meta.type == 'base64' ? decodeBase64(doc) : null]); }"}}}});
  docs["bin"] = stored_doc{"hello\x01", false};
  docs["broken"] = stored_doc{"{not json", true}; // flagged JSON but unparsable: served as binary
  docs["json"] = stored_doc{"[1,2]", true};
  auto r = query("v");
  ASSERT_EQ(r["rows"].size(), 3u);
  EXPECT_EQ(r["rows"][0]["value"], json::parse(R"(["base64","aGVsbG8B","hello\u0001"])"));
  EXPECT_EQ(r["rows"][1]["value"], json::parse(R"(["base64","e25vdCBqc29u","{not json"])"));
  EXPECT_EQ(r["rows"][2]["value"], json::parse(R"(["json",[1,2],null])"));
}

TEST_F(ViewEngine, DesignDocumentsInTheBucketAreNotIndexed)
{
  put_ddoc("d", {{"v", {{"map", "function (doc, meta) { emit(meta.id, null); }"}}}});
  put_doc("_design/foo", {{"views", json::object()}});
  put_doc("a", 1);
  EXPECT_EQ(ids_of(query("v")), (std::vector<std::string>{"a"}));
}

TEST_F(ViewEngine, HelpersAndUnicodeSurviveTheRoundTrip)
{
  put_ddoc("d", {{"dates", {{"map", "function (doc) { emit(dateToArray(doc.t), sum([1, 2, 3])); }"}}},
                 {"text", {{"map", "function (doc) { emit(doc.s, doc.s.length); }"}}}});
  put_doc("a", {{"t", "2013-04-05T06:07:08Z"}, {"s", "\xf0\x9f\x98\x80 caf\xc3\xa9"}});
  docs["b"] = stored_doc{R"({"t":0,"s":"\ud83d\ude00"})"};
  auto d = query("dates");
  EXPECT_EQ(d["rows"][0]["key"], json::parse("[1970,1,1,0,0,0]"));
  EXPECT_EQ(d["rows"][1]["key"], json::parse("[2013,4,5,6,7,8]"));
  EXPECT_EQ(d["rows"][1]["value"], 6);
  auto t = query("text");
  ASSERT_EQ(t["rows"].size(), 2u);
  EXPECT_EQ(t["rows"][0]["key"], "\xf0\x9f\x98\x80");
  EXPECT_EQ(t["rows"][1]["key"], "\xf0\x9f\x98\x80 caf\xc3\xa9");
}

// ---------------------------------------------------------------------------------------------
// Collation

TEST_F(ViewEngine, RowsFollowCouchDbCollationAcrossTypes)
{
  const std::vector<json> expected = {
    nullptr, false, true, -5, 0, 1, 1.5, 2, 10,
    "", " ", "_", "-", "~", "$", "0", "10", "9", "a", "A", "\xc3\xa1" /* á: accents weigh less than letters */, "aa", "b", "B", "ba", "z",
    "\xe4\xb8\xad" /* a CJK character: after Latin letters */,
    json::array(), json::array({nullptr}), json::array({1}), json::array({1, 2}), json::array({1, "a"}),
    json::array({"a"}), json::array({json::array()}),
    json::object(), json{{"a", 1}}, json{{"a", 1}, {"b", 1}}, json{{"a", 2}}, json{{"b", 0}},
  };
  // Doc ids in reverse of the key order, so id order cannot be what sorts the rows.
  for (std::size_t i = 0; i < expected.size(); ++i)
    put_doc("doc" + std::to_string(1000 - i), {{"k", expected[i]}});
  put_ddoc("d", {{"v", {{"map", "function (doc) { emit(doc.k, null); }"}}}});
  auto r = query("v");
  EXPECT_EQ(keys_of(r), expected);
}

TEST_F(ViewEngine, EqualKeysAreOrderedByDocId)
{
  for (const char* id : {"c", "a", "B", "b"}) put_doc(id, {{"k", 1}});
  put_doc("z", {{"k", 0}});
  put_ddoc("d", {{"v", {{"map", "function (doc) { emit(doc.k, null); }"}}}});
  // Raw (byte) order for ids: "B" < "a".
  EXPECT_EQ(ids_of(query("v")), (std::vector<std::string>{"z", "B", "a", "b", "c"}));
  EXPECT_EQ(ids_of(query("v", {{"descending", "true"}})), (std::vector<std::string>{"c", "b", "a", "B", "z"}));
}

// ---------------------------------------------------------------------------------------------
// Query parameters

class ViewQueries : public ViewEngine {
protected:
  void SetUp() override
  {
    // Keys 1..9, two docs per key: "k<key>a" and "k<key>b".
    for (int k = 1; k <= 9; ++k) {
      put_doc("k" + std::to_string(k) + "a", {{"n", k}});
      put_doc("k" + std::to_string(k) + "b", {{"n", k}});
    }
    put_ddoc("d", {{"v", {{"map", "function (doc) { emit(doc.n, doc.n * 10); }"}}},
                   {"count", {{"map", "function (doc) { emit(doc.n, doc.n); }"}, {"reduce", "_count"}}}});
  }
};

TEST_F(ViewQueries, KeyAndKeys)
{
  EXPECT_EQ(ids_of(query("v", {{"key", "3"}})), (std::vector<std::string>{"k3a", "k3b"}));
  EXPECT_EQ(query("v", {{"key", "3"}})["total_rows"], 18);
  EXPECT_EQ(query("v", {{"key", "\"3\""}})["rows"].size(), 0u);
  // keys: in the order given, duplicates repeated, misses skipped.
  EXPECT_EQ(ids_of(query("v", {{"keys", "[5,1,42,5]"}})), (std::vector<std::string>{"k5a", "k5b", "k1a", "k1b", "k5a", "k5b"}));
  EXPECT_EQ(ids_of(query("v", {}, R"({"keys":[2,1]})")), (std::vector<std::string>{"k2a", "k2b", "k1a", "k1b"}));
  EXPECT_EQ(ids_of(query("v", {{"keys", "[2,1]"}, {"descending", "true"}})), (std::vector<std::string>{"k2b", "k2a", "k1b", "k1a"}));
  EXPECT_EQ(ids_of(query("v", {{"keys", "[2,1]"}, {"limit", "3"}, {"skip", "1"}})), (std::vector<std::string>{"k2b", "k1a", "k1b"}));
  EXPECT_EQ(query("v", {}, "")["rows"].size(), 18u); // POST without keys
}

TEST_F(ViewQueries, RangesWithDocIdsAndInclusiveEnd)
{
  auto ids = [&](const params& p) { return ids_of(query("v", p)); };
  using v = std::vector<std::string>;
  EXPECT_EQ(ids({{"startkey", "8"}}), (v{"k8a", "k8b", "k9a", "k9b"}));
  EXPECT_EQ(ids({{"start_key", "8"}, {"end_key", "8"}}), (v{"k8a", "k8b"}));
  EXPECT_EQ(ids({{"startkey", "2"}, {"endkey", "3"}}), (v{"k2a", "k2b", "k3a", "k3b"}));
  EXPECT_EQ(ids({{"startkey", "2"}, {"endkey", "3"}, {"inclusive_end", "false"}}), (v{"k2a", "k2b"}));
  EXPECT_EQ(ids({{"startkey", "2"}, {"startkey_docid", "k2b"}, {"endkey", "3"}, {"endkey_docid", "k3a"}}),
            (v{"k2b", "k3a"}));
  EXPECT_EQ(ids({{"startkey", "2"}, {"startkey_docid", "k2b"}, {"endkey", "3"}, {"endkey_docid", "k3a"},
                 {"inclusive_end", "false"}}),
            (v{"k2b"}));
  EXPECT_EQ(ids({{"startkey", "1.5"}, {"endkey", "2.5"}}), (v{"k2a", "k2b"}));
  EXPECT_EQ(ids({{"startkey", "3"}, {"endkey", "2"}}), v{}); // reversed range: nothing
  EXPECT_EQ(ids({{"endkey", "1"}}), (v{"k1a", "k1b"}));
}

TEST_F(ViewQueries, DescendingSwapsTheRange)
{
  auto ids = [&](const params& p) { return ids_of(query("v", p)); };
  using v = std::vector<std::string>;
  EXPECT_EQ(ids({{"descending", "true"}, {"limit", "3"}}), (v{"k9b", "k9a", "k8b"}));
  EXPECT_EQ(ids({{"descending", "true"}, {"startkey", "3"}, {"endkey", "2"}}), (v{"k3b", "k3a", "k2b", "k2a"}));
  EXPECT_EQ(ids({{"descending", "true"}, {"startkey", "3"}, {"endkey", "2"}, {"inclusive_end", "false"}}),
            (v{"k3b", "k3a"}));
  EXPECT_EQ(ids({{"descending", "true"}, {"startkey", "3"}, {"startkey_docid", "k3a"}, {"endkey", "2"},
                 {"endkey_docid", "k2b"}}),
            (v{"k3a", "k2b"}));
  EXPECT_EQ(ids({{"descending", "true"}, {"startkey", "2"}, {"endkey", "3"}}), v{});
}

TEST_F(ViewQueries, LimitAndSkip)
{
  auto r = query("v", {{"limit", "2"}, {"skip", "3"}});
  EXPECT_EQ(ids_of(r), (std::vector<std::string>{"k2b", "k3a"}));
  EXPECT_EQ(r["total_rows"], 18); // the index size, not the rows returned
  EXPECT_EQ(r["rows"][0]["value"], 20);
  EXPECT_EQ(query("v", {{"limit", "0"}})["rows"].size(), 0u);
  EXPECT_EQ(query("v", {{"skip", "100"}})["rows"].size(), 0u);
}

TEST_F(ViewQueries, InvalidParametersAreQueryParseErrors)
{
  const std::vector<params> bad = {
    {{"limit", "abc"}},       {{"limit", "-1"}},         {{"skip", "1.5"}},        {{"descending", "yes"}},
    {{"inclusive_end", ""}},  {{"stale", "maybe"}},      {{"on_error", "panic"}},  {{"startkey", "abc"}},
    {{"endkey", "[1,"}},      {{"key", "{"}},            {{"keys", "3"}},          {{"keys", "nope"}},
    {{"reduce", "1"}},        {{"group", "x"}},          {{"group_level", "-2"}},  {{"debug", "on"}},
    {{"full_set", "sure"}},   {{"connection_timeout", "soon"}},
    {{"keys", "[1]"}, {"startkey", "1"}},
  };
  for (const auto& p : bad) {
    SCOPED_TRACE(p.begin()->first + "=" + p.begin()->second);
    auto r = raw("v", p);
    expect_error(r, 400, "query_parse_error");
    if (p.size() == 1 && p.begin()->first != "keys") {
      EXPECT_NE(json::parse(r.body)["reason"].get<std::string>().find("Invalid value for parameter"), std::string::npos);
    }
  }
  expect_error(raw("v", {}, "not json"), 400, "bad_request");
  expect_error(raw("v", {}, R"({"keys":3})"), 400, "query_parse_error");
  // Accepted and ignored.
  EXPECT_EQ(query("v", {{"full_set", "true"}, {"connection_timeout", "60000"}, {"stale", "FALSE"}, {"whatever", "x"}})["rows"].size(), 18u);
}

TEST_F(ViewQueries, ReduceParametersOnMapViewsAreRefused)
{
  expect_error(raw("v", {{"group_level", "1"}}), 400, "query_parse_error");
  expect_error(raw("v", {{"group", "true"}}), 400, "query_parse_error");
  expect_error(raw("v", {{"reduce", "true"}}), 400, "query_parse_error");
  expect_error(raw("count", {{"group", "true"}, {"reduce", "false"}}), 400, "query_parse_error");
  expect_error(raw("count", {{"keys", "[1]"}}), 400, "query_parse_error", "group=true");
  EXPECT_EQ(query("v", {{"reduce", "false"}})["rows"].size(), 18u);
}

// ---------------------------------------------------------------------------------------------
// Reduce

TEST_F(ViewQueries, CountWithGroupingAndRanges)
{
  EXPECT_EQ(query("count"), json::parse(R"({"rows":[{"key":null,"value":18}]})"));
  EXPECT_EQ(query("count", {{"startkey", "8"}})["rows"][0]["value"], 4);
  EXPECT_EQ(query("count", {{"startkey", "100"}})["rows"].size(), 0u);
  auto g = query("count", {{"group", "true"}, {"limit", "2"}, {"skip", "1"}});
  EXPECT_EQ(g, json::parse(R"({"rows":[{"key":2,"value":2},{"key":3,"value":2}]})"));
  auto d = query("count", {{"group", "true"}, {"descending", "true"}, {"limit", "1"}});
  EXPECT_EQ(d, json::parse(R"({"rows":[{"key":9,"value":2}]})"));
  auto k = query("count", {{"group", "true"}, {"keys", "[7,3,70]"}});
  EXPECT_EQ(k, json::parse(R"({"rows":[{"key":7,"value":2},{"key":3,"value":2}]})"));
  // reduce=false turns the reduce view into its map rows.
  auto m = query("count", {{"reduce", "false"}, {"limit", "1"}});
  EXPECT_EQ(m, json::parse(R"({"total_rows":18,"rows":[{"id":"k1a","key":1,"value":1}]})"));
}

TEST_F(ViewEngine, GroupLevelOnArrayKeys)
{
  const std::vector<std::pair<std::string, json>> rows = {
    {"a", {2013, 1, 1}}, {"b", {2013, 1, 2}}, {"c", {2013, 2, 1}}, {"d", {2014, 1, 1}}, {"e", "plain"}};
  for (const auto& [id, k] : rows) put_doc(id, {{"k", k}});
  put_ddoc("d", {{"v", {{"map", "function (doc) { emit(doc.k, 1); }"}, {"reduce", "_count"}}}});
  EXPECT_EQ(query("v", {{"group_level", "1"}}),
            json::parse(R"({"rows":[{"key":"plain","value":1},{"key":[2013],"value":3},{"key":[2014],"value":1}]})"));
  EXPECT_EQ(query("v", {{"group_level", "2"}, {"startkey", "[2013]"}}),
            json::parse(R"({"rows":[{"key":[2013,1],"value":2},{"key":[2013,2],"value":1},{"key":[2014,1],"value":1}]})"));
  EXPECT_EQ(query("v", {{"group_level", "0"}}), json::parse(R"({"rows":[{"key":null,"value":5}]})"));
  EXPECT_EQ(query("v", {{"group_level", "9"}, {"limit", "1"}}), json::parse(R"({"rows":[{"key":"plain","value":1}]})"));
  EXPECT_EQ(query("v", {{"group", "true"}})["rows"].size(), 5u);
}

TEST_F(ViewEngine, SumAndStats)
{
  put_doc("a", {{"g", "x"}, {"n", 1}, {"arr", {1, 2}}});
  put_doc("b", {{"g", "x"}, {"n", 2.5}, {"arr", {10, 20, 30}}});
  put_doc("c", {{"g", "y"}, {"n", -4}, {"arr", 5}});
  put_ddoc("d", {{"sum", {{"map", "function (doc) { emit(doc.g, doc.n); }"}, {"reduce", "_sum"}}},
                 {"sum_int", {{"map", "function (doc) { emit(doc.g, 2); }"}, {"reduce", "_sum"}}},
                 {"sum_arr", {{"map", "function (doc) { emit(doc.g, doc.arr); }"}, {"reduce", "_sum"}}},
                 {"stats", {{"map", "function (doc) { emit(doc.g, doc.n); }"}, {"reduce", "_stats"}}},
                 {"bad_sum", {{"map", "function (doc) { emit(doc.g, 'text'); }"}, {"reduce", "_sum"}}}});
  EXPECT_EQ(query("sum")["rows"][0]["value"], -0.5);
  EXPECT_EQ(query("sum", {{"group", "true"}}), json::parse(R"({"rows":[{"key":"x","value":3.5},{"key":"y","value":-4}]})"));
  EXPECT_EQ(query("sum_int")["rows"][0]["value"].dump(), "6");
  EXPECT_EQ(query("sum_arr")["rows"][0]["value"], json::parse("[16,22,30]"));
  auto st = query("stats");
  EXPECT_EQ(st["rows"][0]["value"], json::parse(R"({"sum":-0.5,"count":3,"min":-4,"max":2.5,"sumsqr":23.25})"));
  EXPECT_EQ(query("stats", {{"key", "\"y\""}})["rows"][0]["value"],
            json::parse(R"({"sum":-4,"count":1,"min":-4,"max":-4,"sumsqr":16})"));
  auto bad = query("bad_sum");
  EXPECT_EQ(bad["rows"].size(), 0u);
  ASSERT_EQ(bad["errors"].size(), 1u);
  EXPECT_NE(bad["errors"][0]["reason"].get<std::string>().find("_sum"), std::string::npos);
}

TEST_F(ViewEngine, JavaScriptReduceWithRereduce)
{
  for (int i = 0; i < 1000; ++i) put_doc("d" + std::to_string(i), {{"g", i % 3}, {"n", i}});
  // Counts calls with rereduce, so the answer shows that partial results were re-reduced.
  put_ddoc("d", {{"v", {{"map", "function (doc) { emit(doc.g, doc.n); }"},
                        {"reduce", "function (keys, values, rereduce) {"
                                   "  if (rereduce) { var s = {n: 0, rereduced: true}; "
                                   "    for (var i = 0; i < values.length; i++) s.n += values[i].n; return s; }"
                                   "  if (keys[0][1].indexOf('d') !== 0) throw new Error('keys are [key, id]');"
                                   "  return {n: sum(values), rereduced: false}; }"}}},
                 {"thrower", {{"map", "function (doc) { emit(doc.g, 1); }"},
                              {"reduce", "function (k, v) { throw new Error('boom'); }"}}}});
  auto all = query("v");
  EXPECT_EQ(all["rows"][0]["value"], json::parse(R"({"n":499500,"rereduced":true})"));
  auto g = query("v", {{"group", "true"}, {"startkey", "1"}, {"endkey", "1"}});
  ASSERT_EQ(g["rows"].size(), 1u);
  EXPECT_EQ(g["rows"][0]["key"], 1);
  int expected = 0;
  for (int i = 1; i < 1000; i += 3) expected += i;
  EXPECT_EQ(g["rows"][0]["value"]["n"], expected);
  // Groups larger than a chunk are re-reduced, a small one is reduced in one call.
  EXPECT_EQ(query("v", {{"limit", "1"}, {"group", "true"}, {"startkey", "2"}})["rows"][0]["value"]["rereduced"], true);
  auto small = query("v", {{"group", "true"}, {"startkey", "2"}, {"startkey_docid", "d98"}});
  ASSERT_EQ(small["rows"].size(), 1u);
  EXPECT_EQ(small["rows"][0]["value"], json::parse(R"({"n":7021,"rereduced":false})"));
  EXPECT_EQ(query("v", {{"reduce", "false"}, {"limit", "1"}})["rows"][0]["value"], 0);

  auto t = query("thrower");
  EXPECT_EQ(t["rows"].size(), 0u);
  ASSERT_EQ(t["errors"].size(), 1u);
  EXPECT_NE(t["errors"][0]["reason"].get<std::string>().find("boom"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// stale

TEST_F(ViewEngine, StaleOkServesTheOldIndexAndStaleFalseUpdatesIt)
{
  put_ddoc("d", {{"v", {{"map", "function (doc, meta) { emit(meta.id, null); }"}}}});
  put_doc("a", 1);
  // The first query ever builds the index, whatever stale says.
  EXPECT_EQ(ids_of(query("v", {{"stale", "ok"}})), (std::vector<std::string>{"a"}));
  put_doc("b", 2);
  EXPECT_EQ(ids_of(query("v", {{"stale", "ok"}})), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ids_of(query("v", {{"stale", "false"}})), (std::vector<std::string>{"a", "b"}));
  docs.erase("a");
  // update_after (the default) answers from the index, then updates it.
  EXPECT_EQ(ids_of(query("v")), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids_of(query("v", {{"stale", "ok"}})), (std::vector<std::string>{"b"}));
  // A changed document is re-mapped.
  put_doc("b", 3);
  docs["b"].cas = 2;
  put_ddoc("d", {{"v", {{"map", "function (doc, meta) { emit(meta.id, doc); }"}}}}); // new ddoc: index reset
  EXPECT_EQ(query("v", {{"stale", "ok"}})["rows"][0]["value"], 3);
  put_doc("b", 4);
  EXPECT_EQ(query("v", {{"stale", "ok"}})["rows"][0]["value"], 3);
  EXPECT_EQ(query("v", {{"stale", "false"}})["rows"][0]["value"], 4);
}

TEST_F(ViewEngine, StaleOkDoesNotReadTheDocuments)
{
  put_ddoc("d", {{"v", {{"map", "function (doc, meta) { emit(meta.id, null); }"}}}});
  put_doc("a", 1);
  query("v", {{"stale", "false"}});
  const int before = visits;
  query("v", {{"stale", "ok"}});
  EXPECT_EQ(visits, before);
  query("v", {{"stale", "update_after"}});
  EXPECT_EQ(visits, before + 1);
}

// ---------------------------------------------------------------------------------------------
// Errors in map functions

TEST_F(ViewEngine, OnErrorContinueAndStop)
{
  put_ddoc("d", {{"v", {{"map", "function (doc, meta) { if (doc.bad) throw new Error('bad doc'); "
                                "emit(meta.id, doc.x.y); }"}}}});
  put_doc("ok1", {{"x", {{"y", 1}}}});
  put_doc("bad", {{"bad", true}});
  put_doc("missing", {{"z", 1}}); // TypeError: doc.x is undefined
  put_doc("ok2", {{"x", {{"y", 2}}}});

  auto c = query("v");
  EXPECT_EQ(ids_of(c), (std::vector<std::string>{"ok1", "ok2"}));
  ASSERT_EQ(c["errors"].size(), 2u);
  EXPECT_EQ(c["errors"][0]["from"], "local");
  EXPECT_NE(c["errors"][0]["reason"].get<std::string>().find("bad doc"), std::string::npos) << c["errors"];
  EXPECT_NE(c["errors"][0]["reason"].get<std::string>().find("\"bad\""), std::string::npos) << c["errors"];
  EXPECT_NE(c["errors"][1]["reason"].get<std::string>().find("TypeError"), std::string::npos) << c["errors"];
  EXPECT_EQ(query("v", {{"on_error", "continue"}}), c);

  auto s = query("v", {{"on_error", "stop"}});
  EXPECT_EQ(s["rows"].size(), 0u);
  EXPECT_EQ(s["total_rows"], 0);
  ASSERT_EQ(s["errors"].size(), 1u);
  EXPECT_EQ(s["errors"][0], c["errors"][0]);
  // A stopped query still updates the index afterwards (stale=update_after).
  put_doc("late", {{"x", {{"y", 3}}}});
  EXPECT_EQ(query("v", {{"on_error", "stop"}})["rows"].size(), 0u);
  EXPECT_EQ(ids_of(query("v", {{"stale", "ok"}})), (std::vector<std::string>{"late", "ok1", "ok2"}));

  // Emits made before the throw are dropped with the document.
  put_ddoc("d", {{"v", {{"map", "function (doc, meta) { emit(meta.id, 1); if (doc.bad) throw 'x'; }"}}}});
  EXPECT_EQ(ids_of(query("v", {{"stale", "false"}})), (std::vector<std::string>{"late", "missing", "ok1", "ok2"}));
}

class ViewSandbox : public ViewEngine {
protected:
  ViewSandbox() : ViewEngine(engine_options{32u << 20, 200'000}) {}
};

TEST_F(ViewSandbox, HostileMapFunctionsBecomeErrors)
{
  const std::vector<std::pair<std::string, std::string>> hostile = {
    {"loop", "function (doc) { while (true) {} }"},
    {"for_loop", "function (doc) { for (;;) { } }"},
    {"do_loop", "function (doc) { var i = 0; do { i++; } while (i >= 0); }"},
    {"nested", "function (doc) { for (var i = 0; i < 1e9; i++) { for (var j = 0; j < 1e9; j++) {} } }"},
    {"caught", "function (doc) { while (true) { try { while (true) {} } catch (e) {} } }"},
    {"recursion", "function (doc) { function f(n) { return f(n + 1) + 1; } emit(f(0), null); }"},
    {"memory", "function (doc) { var a = []; for (var i = 0; i < 1e8; i++) a.push('xxxxxxxxxxxxxxxx' + i); }"},
    {"string_bomb", "function (doc) { var s = 'x'; for (var i = 0; i < 40; i++) s = s + s; emit(s.length, 1); }"},
    {"cycle", "function (doc) { var o = {}; o.self = o; emit(o, null); }"},
    {"deep_key", "function (doc) { var a = []; for (var i = 0; i < 100000; i++) a = [a]; emit(a, null); }"},
    {"emits", "function (doc) { for (var i = 0; i < 1e6; i++) emit(i, null); }"},
    {"emit_in_reduce_scope", "function (doc) { emit(function () {}, undefined); }"},
  };
  json views = json::object();
  for (const auto& [name, src] : hostile) views[name] = {{"map", src}};
  views["fine"] = {{"map", "function (doc) { var n = 0; for (var i = 0; i < 10; i++) n += i; emit(n, 'ok'); }"}};
  put_ddoc("d", views);
  put_doc("a", 1);
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [name, src] : hostile) {
    SCOPED_TRACE(name);
    auto r = query(name);
    if (name == "emit_in_reduce_scope") { // functions and undefined become null, like JSON.stringify
      EXPECT_EQ(r["rows"][0]["key"], nullptr);
      continue;
    }
    EXPECT_EQ(r["rows"].size(), 0u) << r.dump();
    ASSERT_EQ(r["errors"].size(), 1u) << r.dump();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
  // The heap still works afterwards.
  EXPECT_EQ(query("fine")["rows"][0]["value"], "ok");
  EXPECT_EQ(query("fine")["rows"][0]["key"], 45);
}

TEST_F(ViewSandbox, LoopGuardLeavesStringsCommentsAndRegexpsAlone)
{
  put_ddoc("d", {{"v", {{"map", R"(function (doc) {
      // while (true) in a comment
      /* for (;;) */
      var s = "while (x) { for (;;) }" + '/' + "/";
      var re = /while\s*\(/g;
      var n = 0, obj = {a: 1, b: 2}, k;
      for (k in obj) n++;
      for (var i = 0; i < 3; i++) n += (i > 1 ? 1 : 0) / 1;
      var j = 3; while (j--) n++;
      var m = false;
      if (n) m = /while (x)/.test("while x") && /for (;;)/.test("for ;;");
      emit(s, [n, re.test("while ("), m]);
    })"}}}});
  put_doc("a", 1);
  auto r = query("v");
  ASSERT_EQ(r["rows"].size(), 1u) << r.dump();
  EXPECT_EQ(r["rows"][0]["key"], "while (x) { for (;;) }//");
  EXPECT_EQ(r["rows"][0]["value"], json::parse("[6,true,true]"));
}

// ---------------------------------------------------------------------------------------------
// Debug, scale

TEST_F(ViewEngine, DebugAddsDebugInfo)
{
  put_ddoc("d", {{"v", {{"map", "function (doc, meta) { emit(meta.id, null); }"}}}});
  put_doc("a", 1);
  auto r = query("v", {{"debug", "true"}});
  ASSERT_TRUE(r.contains("debug_info"));
  EXPECT_EQ(r.begin().key(), "debug_info");
  EXPECT_EQ(r["debug_info"]["local"]["indexed_documents"], 1);
  EXPECT_FALSE(query("v", {{"debug", "false"}}).contains("debug_info"));
}

TEST_F(ViewEngine, HundredThousandDocuments)
{
  constexpr int n = 100'000;
  for (int i = 0; i < n; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "user::%06d", i);
    docs[id] = stored_doc{R"({"type":"user","age":)" + std::to_string(i % 100) + R"(,"name":"u)" + std::to_string(i) + "\"}"};
  }
  put_ddoc("d", {{"by_age", {{"map", "function (doc, meta) { if (doc.type == 'user') emit(doc.age, null); }"},
                             {"reduce", "_count"}}}});
  const auto start = std::chrono::steady_clock::now();
  auto all = query("by_age", {{"reduce", "false"}, {"limit", "5"}, {"stale", "false"}});
  const auto built = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(all["total_rows"], n);
  EXPECT_EQ(ids_of(all), (std::vector<std::string>{"user::000000", "user::000100", "user::000200", "user::000300", "user::000400"}));
  EXPECT_EQ(query("by_age", {{"stale", "ok"}})["rows"][0]["value"], n);
  EXPECT_EQ(query("by_age", {{"stale", "ok"}, {"key", "42"}})["rows"][0]["value"], n / 100);
  EXPECT_EQ(query("by_age", {{"stale", "ok"}, {"group", "true"}})["rows"].size(), 100u);
  // An update with nothing changed does not re-map anything: much faster than the build.
  const auto start2 = std::chrono::steady_clock::now();
  query("by_age", {{"stale", "false"}, {"limit", "1"}});
  EXPECT_LT(std::chrono::steady_clock::now() - start2, built);
  std::printf("100k-document index build: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(built).count()));
}

} // namespace
