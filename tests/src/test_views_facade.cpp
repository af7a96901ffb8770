// Views through the facade against the mock cluster's views port: design documents, every kind
// of query parameter changing results as the server's would, include_docs, streaming, errors and
// node failure mid-query.
#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/topology/config.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <async_test_support.hpp>
#include <mock_bucket.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

using namespace couchkv;
using couchkv::test::io_thread;
using couchkv::test::error_of;
using namespace std::chrono_literals;

namespace {

// The message of what f threw ("" when nothing).
template <class F>
std::string what_of(F&& f)
{
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}


const char* beer_map = R"(function (doc, meta) { if (doc.type == "beer") { emit(doc.name, doc.abv); } })";
const char* brewery_map = R"(function (doc, meta) { if (doc.type == "beer") { emit([doc.brewery, doc.abv], null); } })";

struct views_fixture : ::testing::Test {
  test::mock_bucket f{test::mock_options(3), "?kv_timeout=3s&config_poll_interval=100ms"};
  mock::cluster& mock = f.mock;
  async_bucket& bucket = f.bucket;

  void SetUp() override
  {
    // 30 beers from 3 breweries, abv 1..30, and 5 documents that are not beers.
    std::vector<std::pair<std::string, document_value>> docs;
    for (int i = 1; i <= 30; ++i) {
      nlohmann::json d = {{"type", "beer"}, {"name", "beer" + std::string(i < 10 ? "0" : "") + std::to_string(i)},
                          {"abv", i}, {"brewery", "brewery" + std::to_string(i % 3)}};
      docs.emplace_back("beer::" + std::to_string(i), d.dump());
    }
    for (int i = 0; i < 5; ++i) docs.emplace_back("other::" + std::to_string(i), R"({"type":"brewery"})");
    for (auto& [k, o] : bucket.upsert_multi(docs).get()) ASSERT_TRUE(o) << k;
    design_document dd;
    dd.name = "dev_beers";
    dd.views["by_name"] = {beer_map, "_sum"};
    dd.views["by_brewery"] = {brewery_map, "_count"};
    dd.views["plain"] = {beer_map, std::nullopt};
    EXPECT_EQ(bucket.upsert_design_document(dd).get(), "_design/dev_beers");
  }

  std::vector<std::string> keys_of(const view_result& r)
  {
    std::vector<std::string> out;
    for (const auto& row : r.rows) out.push_back(row.key);
    return out;
  }
};

} // namespace

TEST_F(views_fixture, design_documents_round_trip_list_publish_remove)
{
  auto got = bucket.get_design_document("dev_beers").get();
  EXPECT_EQ(got.name, "dev_beers");
  ASSERT_EQ(got.views.size(), 3u);
  EXPECT_EQ(got.views["by_brewery"].reduce, "_count");

  auto listed = bucket.list_design_documents().get();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "dev_beers");

  EXPECT_EQ(bucket.publish_design_document("beers").get(), "_design/beers");
  EXPECT_EQ(bucket.get_design_document("beers").get().views.size(), 3u);
  EXPECT_EQ(error_of([&] { bucket.get_design_document("dev_beers").get(); }), view_errc::design_document_not_found);
  auto prod = bucket.query(view_query("beers", "by_name").reduce(false).stale(view_stale::false_)).get();
  EXPECT_EQ(prod.rows.size(), 30u);

  bucket.remove_design_document("beers").get();
  EXPECT_EQ(error_of([&] { bucket.get_design_document("beers").get(); }), view_errc::design_document_not_found);
  EXPECT_EQ(error_of([&] { bucket.remove_design_document("beers").get(); }), view_errc::design_document_not_found);
  // A design document the server rejects (map that does not compile) says so.
  design_document bad;
  bad.name = "dev_bad";
  bad.views["v"] = {"function (doc { emit(", std::nullopt};
  std::promise<std::pair<std::error_code, std::string>> acked;
  bucket.upsert_design_document(bad, {}, [&](std::error_code ec, std::string detail) { acked.set_value({ec, detail}); });
  auto [ec, why] = acked.get_future().get();
  EXPECT_TRUE(ec);
  EXPECT_NE(why.find("HTTP"), std::string::npos) << why; // the server's words, not "_design/dev_bad"
  EXPECT_NE(what_of([&] { bucket.upsert_design_document(bad).get(); }).find("upsert design document dev_bad"), std::string::npos);
}

TEST_F(views_fixture, parameters_change_results_like_the_server)
{
  auto q = [&](view_query vq) { return bucket.query(vq.stale(view_stale::false_)).get(); };
  view_query base("beers", "by_name", true);
  base.reduce(false);

  auto all = q(base);
  ASSERT_EQ(all.rows.size(), 30u);
  EXPECT_EQ(all.meta.total_rows, 30u);
  EXPECT_EQ(all.rows.front().key, R"("beer01")");
  EXPECT_EQ(all.rows.front().id, "beer::1");
  EXPECT_EQ(all.rows.front().value, "1");
  EXPECT_FALSE(all.rows.front().document);

  EXPECT_EQ(keys_of(q(view_query(base).limit(3).skip(2))), (std::vector<std::string>{R"("beer03")", R"("beer04")", R"("beer05")"}));
  EXPECT_EQ(keys_of(q(view_query(base).descending(true).limit(2))), (std::vector<std::string>{R"("beer30")", R"("beer29")"}));
  EXPECT_EQ(keys_of(q(view_query(base).key("beer07"))), (std::vector<std::string>{R"("beer07")"}));
  EXPECT_EQ(keys_of(q(view_query(base).keys({"beer09", "beer02", "nope"}))),
            (std::vector<std::string>{R"("beer09")", R"("beer02")"}));
  // The same keys sent as a POST body.
  EXPECT_EQ(keys_of(q(view_query(base).keys({"beer09", "beer02"}).post_threshold(0))),
            (std::vector<std::string>{R"("beer09")", R"("beer02")"}));
  auto range = q(view_query(base).start_key("beer10").end_key("beer12"));
  EXPECT_EQ(keys_of(range), (std::vector<std::string>{R"("beer10")", R"("beer11")", R"("beer12")"}));
  auto excl = q(view_query(base).start_key("beer10").end_key("beer12").inclusive_end(false));
  EXPECT_EQ(excl.rows.size(), 2u);
  auto desc = q(view_query(base).start_key("beer12").end_key("beer10").descending(true));
  EXPECT_EQ(keys_of(desc), (std::vector<std::string>{R"("beer12")", R"("beer11")", R"("beer10")"}));

  // Reduce: _sum of abv 1..30 = 465; grouped by brewery with _count.
  auto sum = q(view_query("beers", "by_name", true));
  ASSERT_EQ(sum.rows.size(), 1u);
  EXPECT_EQ(sum.rows[0].value, "465");
  auto grouped = q(view_query("beers", "by_brewery", true).group_level(1));
  ASSERT_EQ(grouped.rows.size(), 3u);
  EXPECT_EQ(grouped.rows[0].key, R"(["brewery0"])");
  EXPECT_EQ(grouped.rows[0].value, "10");
  auto full = q(view_query("beers", "by_brewery", true).group(true));
  EXPECT_EQ(full.rows.size(), 30u);
}

TEST_F(views_fixture, include_docs_fetches_documents_through_kv)
{
  auto r = bucket.query(view_query("beers", "by_name", true).reduce(false).limit(5).include_docs(true).stale(view_stale::false_))
               .get();
  ASSERT_EQ(r.rows.size(), 5u);
  for (const auto& row : r.rows) {
    ASSERT_TRUE(row.document) << row.id;
    auto doc = nlohmann::json::parse(*row.document);
    EXPECT_EQ("\"" + doc["name"].get<std::string>() + "\"", row.key);
  }
  // A document removed after indexing comes back without a document (null), not as an error.
  bucket.remove("beer::1").get();
  auto stale = bucket.query(view_query("beers", "by_name", true).reduce(false).limit(1).include_docs(true).stale(view_stale::ok))
                   .get();
  ASSERT_EQ(stale.rows.size(), 1u);
  EXPECT_EQ(stale.rows[0].id, "beer::1");
  EXPECT_FALSE(stale.rows[0].document);
}

TEST_F(views_fixture, stale_ok_serves_the_old_index_and_false_updates_it)
{
  view_query base("beers", "by_name", true);
  base.reduce(false);
  EXPECT_EQ(bucket.query(view_query(base).stale(view_stale::false_)).get().rows.size(), 30u);
  bucket.upsert("beer::31", R"({"type":"beer","name":"beer31","abv":31,"brewery":"brewery1"})").get();
  EXPECT_EQ(bucket.query(view_query(base).stale(view_stale::ok)).get().rows.size(), 30u);
  EXPECT_EQ(bucket.query(view_query(base).stale(view_stale::false_)).get().rows.size(), 31u);
}

TEST_F(views_fixture, streaming_hands_rows_over_in_order_and_can_stop)
{
  std::vector<std::string> seen;
  auto meta = bucket
                  .query_stream(view_query("beers", "by_name", true).reduce(false).stale(view_stale::false_),
                                [&](view_row&& row) {
                                  seen.push_back(row.key);
                                  return true;
                                })
                  .get();
  EXPECT_EQ(meta.total_rows, 30u);
  ASSERT_EQ(seen.size(), 30u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  int taken = 0;
  bucket
      .query_stream(view_query("beers", "by_name", true).reduce(false), [&](view_row&&) { return ++taken < 4; })
      .get();
  EXPECT_EQ(taken, 4);
}

TEST_F(views_fixture, query_keeps_at_most_max_result_bytes_and_query_stream_keeps_none)
{
  // Issue 20: query() kept every row a server sent (2.2 GB in 15 s from one that never stopped).
  const auto all = view_query("beers", "by_name", true).reduce(false).stale(view_stale::false_);
  auto full = bucket.query(all).get();
  ASSERT_EQ(full.rows.size(), 30u);
  view_options small;
  small.max_result_bytes = 200; // a few rows' worth
  EXPECT_EQ(error_of([&] { bucket.query(all, small).get(); }), view_errc::result_too_large);
  auto why = what_of([&] { bucket.query(all, small).get(); });
  EXPECT_NE(why.find("max_result_bytes"), std::string::npos) << why;
  int streamed = 0;
  bucket.query_stream(all, [&](view_row&&) { return ++streamed > 0; }, small).get();
  EXPECT_EQ(streamed, 30);
}

TEST_F(views_fixture, errors_say_what_happened)
{
  EXPECT_EQ(error_of([&] { bucket.query(view_query("nope", "by_name", true)).get(); }), view_errc::design_document_not_found);
  EXPECT_EQ(error_of([&] { bucket.query(view_query("beers", "missing", true)).get(); }), view_errc::view_not_found);
  // Caught by the client before anything is sent.
  EXPECT_EQ(error_of([&] { bucket.query(view_query("beers", "by_name", true).reduce(false).group_level(1)).get(); }),
            view_errc::invalid_argument);
  // Rejected by the server.
  EXPECT_EQ(error_of([&] { bucket.query(view_query("beers", "by_name", true).raw("stale", "sometimes")).get(); }),
            view_errc::invalid_argument); // raw cannot name a typed parameter
  EXPECT_EQ(error_of([&] { bucket.query(view_query("beers", "plain", true).reduce(true)).get(); }),
            view_errc::query_rejected); // reduce=true on a view without a reduce function
  // The query's own words, in its result (callbacks) and in the future's exception.
  std::promise<view_result> failed;
  bucket.query(view_query("beers", "plain", true).reduce(true), {},
               [&](std::error_code, view_result r) { failed.set_value(std::move(r)); });
  auto meta = failed.get_future().get().meta;
  EXPECT_NE(meta.error_detail.find("HTTP 400"), std::string::npos) << meta.error_detail;
  auto why = what_of([&] { bucket.query(view_query("beers", "plain", true).reduce(true)).get(); });
  EXPECT_NE(why.find("HTTP 400"), std::string::npos) << why;
}

TEST_F(views_fixture, a_stopped_node_is_skipped)
{
  view_query base("beers", "by_name", true);
  base.reduce(false).stale(view_stale::false_);
  EXPECT_EQ(bucket.query(base).get().rows.size(), 30u);
  mock.stop_node(0);
  // The stopped node is still in the map (stopped, not failed over): queries sent to it fail to
  // connect and must move on to the next node.
  {
    topology::config_error err;
    auto cfg = topology::parse_config(mock.config_json("default"), "127.0.0.1", err);
    ASSERT_TRUE(cfg);
    ASSERT_EQ(cfg->view_nodes().size(), 3u);
  }
  // Whatever node the round robin picks, every query answers (another node takes over).
  for (int i = 0; i < 6; ++i) EXPECT_EQ(bucket.query(view_query(base).stale(view_stale::ok)).get().rows.size(), 30u) << i;
  mock.restart_node(0);
}
