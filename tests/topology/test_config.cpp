#include "config_fixtures.hpp"

#include <couchkv/topology/config.hpp>
#include <couchkv/topology/config_tracker.hpp>
#include <couchkv/topology/routing.hpp>

#include <gtest/gtest.h>

#include <set>

using namespace couchkv::topology;
using couchkv::test::make_config;
using couchkv::test::read_fixture;

TEST(config, nodes_ext_host_substitution_ports_and_forward_map)
{
  config_error err;
  auto cfg = parse_config(read_fixture("three_nodes_forward.json"), "192.168.7.7", err);
  ASSERT_TRUE(cfg) << err.message();
  EXPECT_EQ(cfg->rev, 1073);
  EXPECT_EQ(cfg->rev_epoch, 2);
  EXPECT_EQ(cfg->name, "default");
  EXPECT_EQ(cfg->locator, node_locator::vbucket);
  ASSERT_EQ(cfg->nodes.size(), 4u);
  EXPECT_EQ(cfg->nodes[0].hostname, "192.168.7.7"); // no hostname -> the origin
  EXPECT_TRUE(cfg->nodes[0].this_node);
  EXPECT_EQ(cfg->nodes[0].plain, (service_ports{11210, 8091, 8092}));
  EXPECT_EQ(cfg->nodes[0].tls, (service_ports{11207, 18091, 18092}));
  EXPECT_FALSE(cfg->nodes[3].has_kv());
  EXPECT_EQ(cfg->data_nodes(), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(cfg->view_nodes(), (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(cfg->has_capability("durableWrite"));
  EXPECT_FALSE(cfg->has_capability("collections"));
  ASSERT_TRUE(cfg->vbmap);
  EXPECT_EQ(cfg->num_replicas(), 2u);
  EXPECT_EQ(cfg->vbmap->num_vbuckets(), 4u);
  // libvbucket's map [[0,1,2],[1,2,0],[2,1,-1],[1,2,0]]
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 0, 0), 0);
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 1, 0), 1);
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 1, 2), 0);
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 2, 2), -1);
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 4, 0), -1); // no such vBucket
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 0, 3), -1); // no such replica
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 1, 0, true), 2); // forward map
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 2, 2, true), 0);
  EXPECT_EQ(cfg->nodes[0].kv_authority(), "192.168.7.7:11210");
  EXPECT_EQ(cfg->nodes[0].kv_authority(true), "192.168.7.7:11207");
}

TEST(config, ipv6_origin_gets_brackets_in_authorities)
{
  config_error err;
  auto cfg = parse_config(read_fixture("three_nodes_forward.json"), "fd00::7", err);
  ASSERT_TRUE(cfg) << err.message();
  EXPECT_EQ(cfg->nodes[0].hostname, "fd00::7");
  EXPECT_EQ(cfg->nodes[0].kv_authority(), "[fd00::7]:11210");
  EXPECT_EQ(node_for_vbucket(*cfg->vbmap, 0, 0), 0); // "$HOST:11210" resolved to the same node
  EXPECT_EQ(cfg->nodes.size(), 4u);
}

TEST(config, generated_1_3_8_nodes_with_0_to_3_replicas)
{
  for (int nodes : {1, 3, 8}) {
    for (int replicas = 0; replicas <= 3; ++replicas) {
      config_error err;
      auto cfg = parse_config(make_config(nodes, replicas, 1024).dump(), "10.1.0.1", err);
      ASSERT_TRUE(cfg) << nodes << "/" << replicas << ": " << err.message();
      EXPECT_EQ(cfg->nodes.size(), static_cast<std::size_t>(nodes));
      EXPECT_EQ(cfg->num_replicas(), static_cast<std::size_t>(replicas));
      std::set<int> masters;
      for (std::uint16_t vb = 0; vb < 1024; ++vb) {
        int m = node_for_vbucket(*cfg->vbmap, vb);
        ASSERT_GE(m, 0);
        masters.insert(m);
        for (int r = 1; r <= replicas; ++r) {
          int rep = node_for_vbucket(*cfg->vbmap, vb, static_cast<std::size_t>(r));
          if (r < nodes) {
            EXPECT_NE(rep, m);
          } else {
            EXPECT_EQ(rep, -1);
          }
        }
      }
      EXPECT_EQ(masters.size(), static_cast<std::size_t>(nodes));
    }
  }
}

TEST(config, json_bounds_are_checked_before_a_dom_is_built)
{
  // Nesting: 100,000 levels inside an otherwise ignored member. Without the bound the parser builds
  // every level (the reason a 28 MB config took over 1 GB to reject).
  auto deep = make_config(3, 1, 64);
  std::string text = deep.dump();
  text.insert(1, "\"x\":" + std::string(100000, '[') + std::string(100000, ']') + ",");
  config_error err;
  EXPECT_FALSE(parse_config(text, "10.1.0.1", err));
  EXPECT_EQ(err.ec, config_errc::too_large);
  EXPECT_NE(err.detail.find("nesting deeper than 64"), std::string::npos) << err.detail;
  // Millions of tiny values.
  std::string many = "{\"x\":[0";
  for (int i = 0; i < 2'100'000; ++i) many += ",0";
  many += "]}";
  EXPECT_FALSE(parse_config(many, "10.1.0.1", err));
  EXPECT_EQ(err.ec, config_errc::too_large);
  EXPECT_NE(err.detail.find("more than 2000000 values"), std::string::npos) << err.detail;
  // Brackets inside strings are text, not nesting; the largest real maps are well inside.
  auto big = make_config(8, 3, 65536);
  big["note"] = std::string(1000, '[') + "\"{";
  ASSERT_TRUE(parse_config(big.dump(), "10.1.0.1", err)) << err.message();
}

TEST(config, legacy_nodes_and_views_port_from_couch_api_base)
{
  config_error err;
  auto cfg = parse_config(read_fixture("memd_ketama_config.json"), "192.168.1.104", err);
  ASSERT_TRUE(cfg) << err.message();
  EXPECT_EQ(cfg->locator, node_locator::ketama);
  EXPECT_FALSE(cfg->vbmap);
  ASSERT_EQ(cfg->nodes.size(), 4u);
  EXPECT_EQ(cfg->nodes[3].hostname, "192.168.1.104");
  EXPECT_EQ(cfg->nodes[3].plain.kv, 11210);
  EXPECT_EQ(cfg->nodes[0].plain.mgmt, 8091);
  EXPECT_EQ(cfg->nodes[0].plain.views, 8092);
}

struct bad_case {
  const char* name;
  std::string json;
  config_errc code;
  const char* detail_mentions;
};

TEST(config, malformed_configs_are_rejected_with_the_field_named)
{
  auto good = make_config(3, 1, 4);
  auto with = [&](auto mutate) {
    auto j = good;
    mutate(j);
    return j.dump();
  };
  const bad_case cases[] = {
      {"not json", "{\"rev\":", config_errc::invalid_json, "parse"},
      {"array", "[]", config_errc::invalid_json, "object"},
      {"no nodes", with([](auto& j) { j.erase("nodesExt"); }), config_errc::missing_field, "nodesExt"},
      {"no map", with([](auto& j) { j.erase("vBucketServerMap"); }), config_errc::missing_field, "vBucketServerMap"},
      {"rev string", with([](auto& j) { j["rev"] = "12"; }), config_errc::invalid_field, "rev"},
      {"past server list", with([](auto& j) { j["vBucketServerMap"]["vBucketMap"][2][1] = 3; }),
       config_errc::bad_vbucket_map, "vBucketMap[2][1] = 3"},
      {"negative", with([](auto& j) { j["vBucketServerMap"]["vBucketMap"][0][0] = -2; }), config_errc::bad_vbucket_map,
       "vBucketMap[0][0]"},
      {"row width", with([](auto& j) { j["vBucketServerMap"]["vBucketMap"][1] = {0}; }), config_errc::bad_vbucket_map,
       "vBucketMap[1]"},
      {"empty map", with([](auto& j) { j["vBucketServerMap"]["vBucketMap"] = nlohmann::json::array(); }),
       config_errc::bad_vbucket_map, "vBucketMap"},
      {"empty server list", with([](auto& j) { j["vBucketServerMap"]["serverList"] = nlohmann::json::array(); }),
       config_errc::no_servers, "serverList"},
      {"bad server", with([](auto& j) { j["vBucketServerMap"]["serverList"][1] = "nohostport"; }),
       config_errc::invalid_field, "serverList[1]"},
      {"replicas 4", with([](auto& j) { j["vBucketServerMap"]["numReplicas"] = 4; }), config_errc::invalid_field,
       "numReplicas"},
      {"hash", with([](auto& j) { j["vBucketServerMap"]["hashAlgorithm"] = "MD5"; }), config_errc::invalid_field,
       "hashAlgorithm"},
      {"port", with([](auto& j) { j["nodesExt"][0]["services"]["kv"] = 70000; }), config_errc::invalid_field,
       "nodesExt[0]"},
      {"services", with([](auto& j) { j["nodesExt"][1].erase("services"); }), config_errc::missing_field,
       "nodesExt[1].services"},
      {"forward length", with([](auto& j) { j["vBucketServerMap"]["vBucketMapForward"] = {{0, 1}}; }),
       config_errc::bad_vbucket_map, "differ"},
      {"no kv", R"({"nodeLocator":"ketama","nodesExt":[{"hostname":"a","services":{"mgmt":8091}}]})",
       config_errc::no_servers, "KV"},
  };
  for (const auto& c : cases) {
    config_error err;
    EXPECT_FALSE(parse_config(c.json, "10.1.0.1", err)) << c.name;
    EXPECT_EQ(err.ec, c.code) << c.name << ": " << err.message();
    EXPECT_NE(err.detail.find(c.detail_mentions), std::string::npos) << c.name << ": " << err.detail;
  }
  nlohmann::json huge = make_config(1, 0, 1);
  huge["vBucketServerMap"]["vBucketMap"] = nlohmann::json::array();
  for (int i = 0; i < 70000; ++i) huge["vBucketServerMap"]["vBucketMap"].push_back({0});
  config_error err;
  EXPECT_FALSE(parse_config(huge.dump(), "h", err));
  EXPECT_EQ(err.ec, config_errc::too_large);
}

TEST(config_tracker, only_strictly_newer_epoch_rev_is_applied)
{
  config_tracker t;
  auto r = t.offer(make_config(3, 1, 16, 10, 1).dump(), "h");
  ASSERT_EQ(r.status, config_tracker::outcome::applied);
  EXPECT_TRUE(r.diff.first);
  EXPECT_EQ(t.offer(make_config(3, 1, 16, 10, 1).dump(), "h").status, config_tracker::outcome::not_newer);
  EXPECT_EQ(t.offer(make_config(3, 1, 16, 9, 1).dump(), "h").status, config_tracker::outcome::not_newer);
  EXPECT_EQ(t.offer(make_config(3, 1, 16, 99, 0).dump(), "h").status, config_tracker::outcome::not_newer);
  EXPECT_EQ(t.offer(make_config(3, 1, 16, 11, 1).dump(), "h").status, config_tracker::outcome::applied);
  EXPECT_EQ(t.offer(make_config(3, 1, 16, 1, 2).dump(), "h").status, config_tracker::outcome::applied); // epoch wins
  EXPECT_EQ(t.current()->rev, 1);
  auto unversioned = make_config(3, 1, 16);
  unversioned.erase("rev");
  EXPECT_EQ(t.offer(unversioned.dump(), "h").status, config_tracker::outcome::not_newer);
}

// A burst of NOT_MY_VBUCKET answers carries the same config text again and again: it is parsed
// once. The answers stay what parsing would give; another origin or another text is parsed.
TEST(config_tracker, the_same_text_again_is_answered_without_parsing)
{
  config_tracker t;
  auto text = make_config(3, 1, 16, 10, 1).dump();
  ASSERT_EQ(t.offer(text, "h").status, config_tracker::outcome::applied);
  auto applied = t.current();
  for (int i = 0; i < 1000; ++i) {
    auto r = t.offer(text, "h");
    ASSERT_EQ(r.status, config_tracker::outcome::not_newer);
    ASSERT_EQ(r.error.ec, config_errc::not_newer);
    ASSERT_EQ(r.error.detail, "offered (1, 10) vs current (1, 10)");
  }
  EXPECT_EQ(t.texts_parsed(), 1u);
  EXPECT_EQ(t.current(), applied);

  EXPECT_EQ(t.offer(text, "other-host").status, config_tracker::outcome::not_newer); // $HOST may differ
  EXPECT_EQ(t.texts_parsed(), 2u);
  auto older = make_config(3, 1, 16, 9, 1).dump();
  auto first = t.offer(older, "h");
  auto again = t.offer(older, "h");
  EXPECT_EQ(again.status, config_tracker::outcome::not_newer);
  EXPECT_EQ(again.error.detail, first.error.detail);
  EXPECT_EQ(t.texts_parsed(), 3u);

  std::string garbage = "{\"rev\": ";
  auto bad = t.offer(garbage, "h");
  ASSERT_EQ(bad.status, config_tracker::outcome::invalid);
  auto bad_again = t.offer(garbage, "h");
  EXPECT_EQ(bad_again.status, config_tracker::outcome::invalid);
  EXPECT_EQ(bad_again.error.ec, bad.error.ec);
  EXPECT_EQ(t.texts_parsed(), 4u);

  // A newer text is parsed and applied; the text applied first is now older, and still not newer.
  ASSERT_EQ(t.offer(make_config(3, 1, 16, 11, 1).dump(), "h").status, config_tracker::outcome::applied);
  EXPECT_EQ(t.offer(text, "h").status, config_tracker::outcome::not_newer);
  EXPECT_EQ(t.current()->rev, 11);
}

TEST(config_tracker, invalid_config_keeps_the_previous_one)
{
  config_tracker t;
  ASSERT_EQ(t.offer(make_config(3, 1, 16, 5).dump(), "h").status, config_tracker::outcome::applied);
  auto before = t.current();
  auto bad = make_config(3, 1, 16, 6);
  bad["vBucketServerMap"]["vBucketMap"][0][0] = 7;
  auto r = t.offer(bad.dump(), "h");
  EXPECT_EQ(r.status, config_tracker::outcome::invalid);
  EXPECT_EQ(r.error.ec, config_errc::bad_vbucket_map);
  EXPECT_EQ(t.current(), before);
}

TEST(config_tracker, diff_reports_added_removed_nodes_and_moved_vbuckets)
{
  config_tracker t;
  ASSERT_EQ(t.offer(make_config(3, 1, 12, 1).dump(), "h").status, config_tracker::outcome::applied);
  auto r = t.offer(make_config(4, 1, 12, 2).dump(), "h"); // node 10.1.0.4 joins; vb % 4 masters
  ASSERT_EQ(r.status, config_tracker::outcome::applied);
  EXPECT_EQ(r.diff.added, (std::vector<std::string>{"10.1.0.4:11210"}));
  EXPECT_TRUE(r.diff.removed.empty());
  std::size_t moved = 0;
  for (int vb = 0; vb < 12; ++vb) moved += (vb % 3) != (vb % 4);
  EXPECT_EQ(r.diff.vbuckets_moved, moved);
  r = t.offer(make_config(2, 1, 12, 3).dump(), "h");
  EXPECT_EQ(r.diff.removed, (std::vector<std::string>{"10.1.0.3:11210", "10.1.0.4:11210"}));
  EXPECT_TRUE(r.diff.topology_changed());
}
