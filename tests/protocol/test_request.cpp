// Request builders, byte for byte against the KV-BP, KV-SASL and KV-COLL vectors (docs/protocol.md 9).
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/hello.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/protocol/response.hpp>
#include <couchkv/protocol/sasl.hpp>

#include <gtest/gtest.h>
#include <hex.hpp>

using namespace couchkv::protocol;
using couchkv::test::from_hex;
using couchkv::test::to_hex;

TEST(request, get_1_2)
{
  byte_buffer b;
  append_get(b, 0, {.key = "Hello"});
  EXPECT_EQ(to_hex(b), "80000005000000000000000500000000000000000000000048656c6c6f");
}

TEST(request, plain_get_writes_what_append_get_writes)
{
  for (std::string_view key : {"Hello", "k", "bench::123456", "a-key-of-forty-characters-for-the-check!"}) {
    for (std::uint16_t vb : {0, 1, 511, 1023}) {
      byte_buffer a, b;
      append_get(a, 0, {.key = key, .vbucket = vb});
      append_plain_get(b, key, vb);
      EXPECT_EQ(to_hex(b), to_hex(a)) << key << " " << vb;
      append_get(a, 0, {.key = "next", .vbucket = 7}); // appended behind what is there
      append_plain_get(b, "next", 7);
      EXPECT_EQ(to_hex(b), to_hex(a)) << key << " " << vb;
      // write_plain_get writes every byte itself: the facade's batches go into reused,
      // uninitialised memory.
      byte_buffer dirty(header_size + key.size(), std::byte{0xff});
      EXPECT_EQ(write_plain_get(dirty.data(), key, vb), dirty.data() + dirty.size());
      a.clear();
      append_get(a, 0, {.key = key, .vbucket = vb});
      EXPECT_EQ(to_hex(dirty), to_hex(a)) << key << " " << vb;
    }
  }
}

TEST(request, add_1_5)
{
  byte_buffer b;
  append_store(b, opcode::add, 0, {.key = "Hello"},
               {.value = as_bytes("World"), .flags = 0xdeadbeef, .expiry = 3600});
  EXPECT_EQ(to_hex(b), "800200050800000000000012000000000000000000000000deadbeef00000e1048656c6c6f576f726c64");
}

TEST(request, delete_1_7)
{
  byte_buffer b;
  append_delete(b, 0, {.key = "Hello"}, 0);
  EXPECT_EQ(to_hex(b), "80040005000000000000000500000000000000000000000048656c6c6f");
}

TEST(request, increment_1_8)
{
  byte_buffer b;
  append_counter(b, opcode::increment, 0, {.key = "counter"}, {.delta = 1, .initial = 0, .expiry = 3600});
  EXPECT_EQ(to_hex(b), "80050007140000000000001b0000000000000000000000000000000000000001000000000000000000000e10636f756e746572");
}

TEST(request, noop_version_stat_1_12_1_13_1_16)
{
  byte_buffer b;
  append_noop(b, 0);
  EXPECT_EQ(to_hex(b), "800a00000000000000000000000000000000000000000000");
  b.clear();
  append_version(b, 0);
  EXPECT_EQ(to_hex(b), "800b00000000000000000000000000000000000000000000");
  b.clear();
  append_stat(b, 0);
  EXPECT_EQ(to_hex(b), "801000000000000000000000000000000000000000000000");
}

TEST(request, append_1_15)
{
  byte_buffer b;
  append_concat(b, opcode::append, 0, {.key = "Hello"}, as_bytes("!"), 0);
  EXPECT_EQ(to_hex(b), "800e0005000000000000000600000000000000000000000048656c6c6f21");
}

TEST(request, hello_1_18)
{
  byte_buffer b;
  // 0x0001 (retired DATATYPE) and 0x0002 are not in our enum; write them as raw codes.
  const hello_feature fs[] = {static_cast<hello_feature>(1), hello_feature::tls, hello_feature::tcp_nodelay,
                              hello_feature::mutation_seqno, hello_feature::tcp_delay};
  append_hello(b, 0, "mchello v1.0", fs);
  EXPECT_EQ(to_hex(b), "801f000c00000000000000160000000000000000000000006d6368656c6c6f2076312e3000010002000300040005");
}

TEST(request, select_bucket_1_22_with_byte_swapped_opaque)
{
  byte_buffer b;
  append_select_bucket(b, 0xefbeadde, "engineering");
  EXPECT_EQ(to_hex(b), "8089000b000000000000000befbeadde0000000000000000656e67696e656572696e67");
}

TEST(request, sasl_2_1_2_3_2_5_2_7)
{
  byte_buffer b;
  append_sasl_list_mechs(b, 0);
  EXPECT_EQ(to_hex(b), "802000000000000000000000000000000000000000000000");
  b.clear();
  append_sasl_auth(b, 0, "PLAIN", std::string_view("\0user\0pencil", 12));
  EXPECT_EQ(to_hex(b), "802100050000000000000011000000000000000000000000504c41494e00757365720070656e63696c");
  b.clear();
  append_sasl_auth(b, 0, "SCRAM-SHA1", "n,,n=user,r=d40a02e348040590");
  EXPECT_EQ(to_hex(b), "8021000a0000000000000026000000000000000000000000534352414d2d534841316e2c2c6e3d757365722c723d"
                       "64343061303265333438303430353930");
  b.clear();
  append_sasl_step(b, 0, "SCRAM-SHA1", "c=biws,r=d40a02e348040590ec8ac784d46faf9d,p=co6kWwNhpVYuuFHWQv5VVcWrPJM=");
  EXPECT_EQ(to_hex(b), "8022000a0000000000000052000000000000000000000000534352414d2d53484131633d626977732c723d643430"
                       "61303265333438303430353930656338616337383464343666616639642c703d636f366b57774e68705659757546"
                       "48575176355656635772504a4d3d");
}

TEST(request, add_into_collection_555_corrected_kv_coll_vector)
{
  byte_buffer b;
  append_store(b, opcode::add, 0, {.key = "Hello", .collection_id = 555},
               {.value = as_bytes("World"), .flags = 0xdeadbeef, .expiry = 3600});
  // The KV-COLL doc says body 0x12; the real body is 20 bytes (docs/protocol.md 9).
  EXPECT_EQ(to_hex(b), "800200070800000000000014000000000000000000000000deadbeef00000e10ab0448656c6c6f576f726c64");
}

TEST(request, durability_frame_switches_to_flexible_framing)
{
  byte_buffer b;
  append_store(b, opcode::set, 9, {.key = "k", .vbucket = 0x0203},
               {.value = as_bytes("v"),
                .cas = 5,
                .datatype = 1,
                .frames = {.durability = durability_requirement{durability_level::majority, 3000}}});
  // magic 08, frame len 4 (0x13 level 01 timeout 0bb8), key len 1, extras 8
  EXPECT_EQ(to_hex(b), "08010401080102030000000e000000090000000000000005"
                       "13010bb8" "0000000000000000" "6b" "76");
  auto r = decode_packet(b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.packet.framing_extras.size(), 4u);
  EXPECT_EQ(as_string_view(r.packet.key), "k");
  EXPECT_EQ(r.packet.vbucket(), 0x0203);
}

TEST(request, preserve_ttl_and_durability_without_timeout)
{
  byte_buffer b;
  append_delete(b, 1, {.key = "k"}, 0,
                {.durability = durability_requirement{durability_level::persist_to_majority, std::nullopt},
                 .preserve_ttl = true});
  auto r = decode_packet(b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(to_hex(r.packet.framing_extras), "110350");
}

TEST(request, touch_gat_get_locked_unlock_layouts)
{
  byte_buffer b;
  append_touch(b, 1, {.key = "k"}, 10);
  auto r = decode_packet(b);
  EXPECT_EQ(r.packet.op(), opcode::touch);
  EXPECT_EQ(to_hex(r.packet.extras), "0000000a");
  b.clear();
  append_gat(b, 2, {.key = "k"}, 20);
  r = decode_packet(b);
  EXPECT_EQ(r.packet.op(), opcode::gat);
  EXPECT_EQ(to_hex(r.packet.extras), "00000014");
  b.clear();
  append_get_locked(b, 3, {.key = "k"}, 0);
  r = decode_packet(b);
  EXPECT_EQ(r.packet.op(), opcode::get_locked);
  EXPECT_TRUE(r.packet.extras.empty()); // server default lock time
  b.clear();
  append_get_locked(b, 3, {.key = "k"}, 15);
  r = decode_packet(b);
  EXPECT_EQ(to_hex(r.packet.extras), "0000000f");
  b.clear();
  append_unlock(b, 4, {.key = "k"}, 0x1122334455667788ull);
  r = decode_packet(b);
  EXPECT_EQ(r.packet.op(), opcode::unlock_key);
  EXPECT_EQ(r.packet.cas(), 0x1122334455667788ull);
}

TEST(request, cluster_config_error_map_observe_seqno_collection_id)
{
  byte_buffer b;
  append_get_cluster_config(b, 1);
  EXPECT_EQ(to_hex(b), "80b500000000000000000000000000010000000000000000");
  b.clear();
  append_get_cluster_config(b, 1, config_version{2, 77});
  auto r = decode_packet(b);
  EXPECT_EQ(to_hex(r.packet.extras), "0000000000000002000000000000004d");
  b.clear();
  append_get_error_map(b, 1, 2);
  r = decode_packet(b);
  EXPECT_EQ(to_hex(r.packet.value), "0002");
  b.clear();
  append_observe_seqno(b, 1, 513, 0xfeeddecaull);
  r = decode_packet(b);
  EXPECT_EQ(r.packet.vbucket(), 513);
  EXPECT_EQ(to_hex(r.packet.value), "00000000feeddeca");
  b.clear();
  append_get_collection_id(b, 1, "_default.c1");
  r = decode_packet(b);
  EXPECT_EQ(r.packet.op(), opcode::collections_get_id);
  EXPECT_EQ(as_string_view(r.packet.value), "_default.c1");
}

TEST(request, builders_append_without_disturbing_earlier_packets)
{
  byte_buffer b;
  append_noop(b, 1);
  append_get(b, 2, {.key = "a"}, opcode::getkq);
  append_noop(b, 3);
  std::span<const std::byte> rest(b);
  std::vector<std::uint32_t> seen;
  while (!rest.empty()) {
    auto r = decode_packet(rest);
    ASSERT_EQ(r.state, decode_state::complete);
    seen.push_back(r.packet.opaque());
    rest = rest.subspan(r.consumed);
  }
  EXPECT_EQ(seen, (std::vector<std::uint32_t>{1, 2, 3}));
}

TEST(response, version_1_14_and_add_1_6_and_server_push)
{
  byte_buffer b;
  append_response(b, {.op = 0x0b, .value = as_bytes("1.3.1")});
  EXPECT_EQ(to_hex(b), "810b00000000000000000005000000000000000000000000312e332e31");
  b.clear();
  append_response(b, {.op = 0x02, .cas = 1});
  EXPECT_EQ(to_hex(b), "810200000000000000000000000000000000000000000001");
  b.clear();
  std::byte extras[16]{};
  extras[15] = std::byte{9};
  append_server_request(b, {.op = server_opcode::clustermap_change_notification, .extras = extras,
                            .key = as_bytes("default"), .value = as_bytes("{}")});
  auto r = decode_packet(b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.packet.magic_byte(), magic::server_request);
  EXPECT_EQ(as_string_view(r.packet.key), "default");
}
