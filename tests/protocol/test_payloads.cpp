// OBSERVE / OBSERVE_SEQNO bodies, HELLO features, mutation tokens, error map.
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/error_map.hpp>
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/hello.hpp>
#include <couchkv/protocol/json_bounds.hpp>
#include <couchkv/protocol/mutation_token.hpp>
#include <couchkv/protocol/observe.hpp>

#include <gtest/gtest.h>
#include <hex.hpp>

using namespace couchkv::protocol;
using couchkv::test::from_hex;
using couchkv::test::to_hex;

TEST(observe, request_layout_and_round_trip)
{
  byte_buffer b;
  const observe_key keys[] = {{3, "ab"}, {1024, "c"}};
  append_observe(b, 7, keys);
  auto r = decode_packet(b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.packet.op(), opcode::observe);
  EXPECT_EQ(r.packet.vbucket(), 0);
  EXPECT_EQ(to_hex(r.packet.value), "000300026162" "04000001" "63");
  std::error_code ec;
  auto parsed = parse_observe_request(r.packet.value, ec);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].vbucket, 1024);
  EXPECT_EQ((*parsed)[1].key, "c");
}

TEST(observe, response_round_trip_and_truncation)
{
  byte_buffer v;
  append_observe_entry(v, {3, "ab", observe_keystate::persisted, 0x11});
  append_observe_entry(v, {4, "xyz", observe_keystate::logically_deleted, 0x22});
  std::error_code ec;
  auto e = parse_observe_response(v, ec);
  ASSERT_TRUE(e) << ec.message();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].state, observe_keystate::persisted);
  EXPECT_EQ((*e)[1].key, "xyz");
  EXPECT_EQ((*e)[1].cas, 0x22u);
  for (std::size_t n = 1; n < v.size(); ++n) {
    if (n == 15) continue; // exactly one whole entry
    EXPECT_FALSE(parse_observe_response(std::span(v).first(n), ec)) << n;
    EXPECT_EQ(ec, client_errc::invalid_payload);
  }
  auto bad = v;
  bad[6] = std::byte{0x42}; // unknown keystate
  EXPECT_FALSE(parse_observe_response(bad, ec));
}

TEST(observe_seqno, both_formats)
{
  observe_seqno_result in{false, 12, 0xaabb, 5, 9, 0, 0};
  byte_buffer v;
  append_observe_seqno_body(v, in);
  ASSERT_EQ(v.size(), 27u);
  std::error_code ec;
  auto out = parse_observe_seqno_response(v, ec);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->failed_over);
  EXPECT_EQ(out->vbucket, 12);
  EXPECT_EQ(out->vbuuid, 0xaabbu);
  EXPECT_EQ(out->last_persisted_seqno, 5u);
  EXPECT_EQ(out->current_seqno, 9u);
  observe_seqno_result fo{true, 12, 0xccdd, 5, 9, 0xaabb, 7};
  v.clear();
  append_observe_seqno_body(v, fo);
  ASSERT_EQ(v.size(), 43u);
  out = parse_observe_seqno_response(v, ec);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->failed_over);
  EXPECT_EQ(out->old_vbuuid, 0xaabbu);
  EXPECT_EQ(out->old_seqno, 7u);
  v[0] = std::byte{0}; // format byte disagrees with the length
  EXPECT_FALSE(parse_observe_seqno_response(v, ec));
  EXPECT_FALSE(parse_observe_seqno_response(std::span(v).first(26), ec));
  EXPECT_EQ(ec, client_errc::invalid_payload);
}

TEST(hello, response_1_19_and_odd_length)
{
  auto pkt = from_hex("811f0000000000000000000400000000000000000000000000030004");
  auto r = decode_packet(pkt);
  ASSERT_EQ(r.state, decode_state::complete);
  std::error_code ec;
  auto fs = parse_hello_features(r.packet.value, ec);
  ASSERT_TRUE(fs);
  EXPECT_EQ(*fs, (std::vector<std::uint16_t>{3, 4}));
  EXPECT_FALSE(parse_hello_features(from_hex("000300"), ec));
  EXPECT_EQ(ec, client_errc::invalid_payload);
  byte_buffer out;
  append_hello_features(out, *fs);
  EXPECT_EQ(to_hex(out), "00030004");
  feature_set set{hello_feature::xerror, hello_feature::collections};
  EXPECT_TRUE(set.contains(hello_feature::xerror));
  EXPECT_FALSE(set.contains(hello_feature::json));
  EXPECT_EQ(to_string(hello_feature::mutation_seqno), "MutationSeqno");
}

TEST(mutation_token, uuid_then_seqno)
{
  auto extras = from_hex("00000000feeddeca" "0000000000005432");
  auto t = parse_mutation_token(extras, 9);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->vbucket, 9);
  EXPECT_EQ(t->vbuuid, 0xfeeddecau);
  EXPECT_EQ(t->seqno, 0x5432u);
  EXPECT_FALSE(parse_mutation_token(std::span(extras).first(8), 9));
  EXPECT_FALSE(parse_mutation_token({}, 9));
}

TEST(error_map, parses_attributes_and_retry_spec)
{
  const char* json = R"({"version":2,"revision":7,"errors":{
      "86":{"name":"ETMPFAIL","desc":"Temporary failure","attrs":["temp","retry-later"],
            "retry":{"strategy":"exponential","interval":7,"after":10,"max-duration":500,"ceil":1000}},
      "1":{"name":"KEY_ENOENT","desc":"Not Found","attrs":["item-only","shiny-new-attribute"]},
      "ff01":{"name":"X","desc":"","attrs":["retry-now","no-retry"]}}})";
  std::error_code ec;
  auto m = parse_error_map(json, ec);
  ASSERT_TRUE(m) << ec.message();
  EXPECT_EQ(m->version, 2u);
  EXPECT_EQ(m->revision, 7u);
  const auto* tmp = m->find(0x86);
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->name, "ETMPFAIL");
  EXPECT_TRUE(tmp->has(error_attribute::temp));
  EXPECT_TRUE(tmp->retryable());
  ASSERT_TRUE(tmp->retry);
  EXPECT_EQ(tmp->retry->strategy, "exponential");
  EXPECT_EQ(tmp->retry->max_duration_ms, 500u);
  const auto* nf = m->find(0x01);
  ASSERT_NE(nf, nullptr);
  EXPECT_TRUE(nf->has(error_attribute::item_only));
  EXPECT_FALSE(nf->retryable());
  EXPECT_FALSE(m->find(0xff01)->retryable()); // no-retry wins
  EXPECT_EQ(m->find(0x02), nullptr);
}

TEST(error_map, malformed_input_is_an_error_not_an_exception)
{
  for (auto bad : {"", "{", "[]", R"({"version":1})", R"({"errors":[]})", R"({"errors":{"zz":{}}})",
                   R"({"errors":{"10000":{}}})", R"({"errors":{"1":"x"}})"}) {
    std::error_code ec;
    EXPECT_FALSE(parse_error_map(bad, ec)) << bad;
    EXPECT_EQ(ec, client_errc::invalid_payload) << bad;
  }
}

TEST(json_bounds, depth_and_values_are_counted_outside_strings)
{
  EXPECT_EQ(check_json_bounds(R"({"a":[1,2,{"b":"[[[[,,,::"}]})", {.max_depth = 3, .max_values = 8}), std::nullopt);
  auto deep = check_json_bounds("[[[[1]]]]", {.max_depth = 3});
  ASSERT_TRUE(deep);
  EXPECT_EQ(*deep, "nesting deeper than 3 levels at byte 3");
  auto many = check_json_bounds("[1,2,3,4,5]", {.max_values = 4});
  ASSERT_TRUE(many);
  EXPECT_NE(many->find("more than 4 values"), std::string::npos) << *many;
  // An escaped quote does not end a string; an escaped backslash does not escape the quote after it.
  EXPECT_EQ(check_json_bounds(R"(["\"[[[[", "\\", 1])", {.max_depth = 1}), std::nullopt);
  auto big = check_json_bounds("[1]", {.max_bytes = 2});
  ASSERT_TRUE(big);
  EXPECT_NE(big->find("above the limit of 2"), std::string::npos) << *big;
}

TEST(error_map, a_map_beyond_its_bounds_is_refused_before_it_is_parsed)
{
  std::string deep = R"({"version":1,"revision":1,"errors":{},"x":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  std::error_code ec;
  EXPECT_FALSE(parse_error_map(deep, ec));
  EXPECT_EQ(ec, client_errc::invalid_payload);
  EXPECT_TRUE(parse_error_map(R"({"version":1,"revision":1,"errors":{},"x":[[1]]})", ec)) << ec.message();
}
