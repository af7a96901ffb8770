#include "config_fixtures.hpp"

#include <couchkv/topology/config.hpp>
#include <couchkv/topology/routing.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <openssl/evp.h>

using namespace couchkv::topology;

TEST(routing, crc32_is_ieee)
{
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("123456789"), 0xcbf43926u); // the CRC-32 check value
}

TEST(routing, key_to_vbucket_vectors_section_5)
{
  const std::pair<const char*, int> four[] = {{"hello", 0},    {"doctor", 0},   {"name", 3},       {"continue", 3},
                                              {"yesterday", 0}, {"tomorrow", 1}, {"another key", 2}};
  for (auto [k, vb] : four) EXPECT_EQ(vbucket_of(k, 4), vb) << k;
  const std::pair<const char*, int> gocb[] = {{"k0", 9}, {"k1", 14}, {"k2", 7}, {"k3", 0}, {"k4", 100}, {"k5", 99}};
  for (auto [k, vb] : gocb) EXPECT_EQ(vbucket_of(k, 256), vb) << k;
  EXPECT_EQ(vbucket_of("hello", 1024), 528);
  EXPECT_EQ(vbucket_of("anything", 0), 0);
}

TEST(routing, ketama_libcouchbase_continuum_6_1)
{
  config_error err;
  auto cfg = parse_config(couchkv::test::read_fixture("memd_ketama_config.json"), "192.168.1.104", err);
  ASSERT_TRUE(cfg) << err.message();
  ketama_router k(*cfg);
  const auto& c = k.continuum();
  ASSERT_EQ(c.size(), 640u);
  struct expected {
    std::uint32_t value;
    const char* server;
  };
  const expected first[] = {
      {19069626, "192.168.1.104:11210"}, {28439255, "192.168.1.101:11210"}, {36078660, "192.168.1.104:11210"},
      {46162273, "192.168.1.104:11210"}, {54096687, "192.168.1.104:11210"}, {73548791, "192.168.1.102:11210"},
      {78634244, "192.168.1.102:11210"}, {80168850, "192.168.1.104:11210"}, {89070946, "192.168.1.101:11210"},
      {106146674, "192.168.1.101:11210"}, {107634595, "192.168.1.103:11210"}, {109207346, "192.168.1.104:11210"},
      {114418334, "192.168.1.101:11210"}, {116192786, "192.168.1.102:11210"}, {116819884, "192.168.1.104:11210"},
      {117887929, "192.168.1.102:11210"},
  };
  for (std::size_t i = 0; i < std::size(first); ++i) {
    EXPECT_EQ(c[i].value, first[i].value) << i;
    EXPECT_EQ(cfg->nodes[c[i].node].kv_authority(), first[i].server) << i;
  }
  const expected last[] = {{4280142414u, "192.168.1.101:11210"},
                           {4280309254u, "192.168.1.102:11210"},
                           {4281097143u, "192.168.1.102:11210"},
                           {4294628205u, "192.168.1.102:11210"}};
  for (std::size_t i = 0; i < std::size(last); ++i) {
    const auto& p = c[c.size() - 4 + i];
    EXPECT_EQ(p.value, last[i].value) << i;
    EXPECT_EQ(cfg->nodes[p.node].kv_authority(), last[i].server) << i;
  }
}

TEST(routing, ketama_lookup_wraps_past_the_last_point)
{
  ketama_router k({{"a:1", 0}, {"b:1", 1}});
  const auto& c = k.continuum();
  // A key whose hash is above the last point maps to the first point's server. Search a few keys.
  bool found_wrap = false;
  for (int i = 0; i < 200000 && !found_wrap; ++i) {
    auto key = std::to_string(i);
    if (ketama_router::hash(key) > c.back().value) {
      EXPECT_EQ(k.node_for(key), c.front().node);
      found_wrap = true;
    }
  }
  EXPECT_TRUE(found_wrap);
  EXPECT_EQ(ketama_router{}.node_for("x"), 0u);
}

TEST(routing, ketama_with_one_server_sends_every_key_to_it)
{
  // node_for() skips the hash when one server owns the whole continuum; the answer must be the
  // one the continuum gives.
  ketama_router k({{"only:11211", 7}});
  for (int i = 0; i < 1000; ++i) {
    auto key = "key-" + std::to_string(i);
    auto h = ketama_router::hash(key);
    const auto& c = k.continuum();
    auto it = std::lower_bound(c.begin(), c.end(), h, [](const auto& p, std::uint32_t v) { return p.value < v; });
    EXPECT_EQ((it == c.end() ? c.front() : *it).node, 7u);
    EXPECT_EQ(k.node_for(key), 7u);
  }
}

TEST(routing, ketama_hash_is_md5_on_every_thread)
{
  // The digest context is per thread: hashes computed on another thread agree.
  std::uint32_t here = ketama_router::hash("a-key");
  std::uint32_t there = 0;
  std::thread([&] { there = ketama_router::hash("a-key"); }).join();
  EXPECT_EQ(here, there);
  // MD5("") = d41d8cd98f00b204e9800998ecf8427e; the point is its first four bytes, little-endian.
  EXPECT_EQ(ketama_router::hash(""), 0xd98c1dd4u);
}

TEST(routing, ketama_libvbucket_eight_node_checksum_6_2)
{
  config_error err;
  auto cfg = parse_config(couchkv::test::read_fixture("ketama_eight_nodes.json"), "127.0.0.1", err);
  ASSERT_TRUE(cfg) << err.message();
  ketama_router k(*cfg);
  std::vector<std::string> names;
  for (const auto& n : cfg->nodes) names.push_back(n.kv_authority());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  for (int i = 0; i < 1000000; ++i) {
    const auto& s = names[k.node_for(std::to_string(i))];
    EVP_DigestUpdate(ctx, s.data(), s.size());
  }
  unsigned char d[16];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, d, &len);
  EVP_MD_CTX_free(ctx);
  char hex[33];
  for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", d[i]);
  EXPECT_STREQ(hex, "7f4da8f120e89d695094f45a74346dbe");
}
