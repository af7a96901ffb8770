// Packet header and incremental decoder: the KV-BP vectors (docs/protocol.md 9), truncation at
// every length, oversized and garbage input.
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/errors.hpp>

#include <gtest/gtest.h>
#include <hex.hpp>

using namespace couchkv::protocol;
using couchkv::test::from_hex;
using couchkv::test::to_hex;

namespace {
decode_result decode_hex(std::string_view hex, std::vector<std::byte>& storage)
{
  storage = from_hex(hex);
  return decode_packet(storage);
}
} // namespace

TEST(decoder, get_not_found_response_1_1)
{
  std::vector<std::byte> b;
  auto r = decode_hex("8100000000000001000000090000000000000000000000004e6f7420666f756e64", b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.consumed, b.size());
  EXPECT_EQ(r.packet.magic_byte(), magic::client_response);
  EXPECT_EQ(r.packet.op(), opcode::get);
  EXPECT_EQ(r.packet.status(), status::key_enoent);
  EXPECT_EQ(as_string_view(r.packet.value), "Not found");
  EXPECT_TRUE(r.packet.extras.empty());
  EXPECT_TRUE(r.packet.key.empty());
}

TEST(decoder, get_ok_response_1_3)
{
  std::vector<std::byte> b;
  auto r = decode_hex("810000000400000000000009000000000000000000000001deadbeef576f726c64", b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.packet.status(), status::success);
  EXPECT_EQ(r.packet.cas(), 1u);
  ASSERT_EQ(r.packet.extras.size(), 4u);
  EXPECT_EQ(load_be32(r.packet.extras.data()), 0xdeadbeefu);
  EXPECT_EQ(as_string_view(r.packet.value), "World");
}

TEST(decoder, getk_doc_bug_1_4_is_not_a_valid_packet)
{
  // KV-BP's GETK example says body 9 but carries extras 4 + key 5 + value 5: the header claims
  // key+extras = 9 <= 9, so it decodes as a packet with an empty value and leaves "World" behind.
  std::vector<std::byte> b;
  auto r = decode_hex("810000050400000000000009000000000000000000000001deadbeef48656c6c6f576f726c64", b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.consumed, 24u + 9u);
  EXPECT_TRUE(r.packet.value.empty());
  // The leftover "World" is not a packet: its first byte is not a magic.
  auto rest = decode_packet(std::span(b).subspan(r.consumed));
  EXPECT_EQ(rest.state, decode_state::error);
  EXPECT_EQ(rest.ec, client_errc::invalid_magic);
  // The corrected packet (body 0x0e) decodes completely.
  auto fixed = decode_hex("81000005040000000000000e000000000000000000000001deadbeef48656c6c6f576f726c64", b);
  ASSERT_EQ(fixed.state, decode_state::complete);
  EXPECT_EQ(as_string_view(fixed.packet.key), "Hello");
  EXPECT_EQ(as_string_view(fixed.packet.value), "World");
}

TEST(decoder, requests_decode_too)
{
  std::vector<std::byte> b;
  auto r = decode_hex("800200050800000000000012000000000000000000000000deadbeef00000e1048656c6c6f576f726c64", b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.packet.magic_byte(), magic::client_request);
  EXPECT_EQ(r.packet.op(), opcode::add);
  EXPECT_EQ(r.packet.vbucket(), 0);
  EXPECT_EQ(as_string_view(r.packet.key), "Hello");
  EXPECT_EQ(load_be32(r.packet.extras.data() + 4), 3600u);
}

TEST(decoder, failover_log_response_1_24)
{
  std::vector<std::byte> b;
  auto r = decode_hex("819600000000000000000040deadbeef000000000000000000000000feeddeca00000000000054320000000000decafe"
                      "000000000134321400000000feedface000000000000000400000000deadbeef0000000000006524",
                      b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.packet.opaque(), 0xdeadbeefu);
  ASSERT_EQ(r.packet.value.size(), 64u);
  EXPECT_EQ(load_be64(r.packet.value.data()), 0xfeeddecau);
  EXPECT_EQ(load_be64(r.packet.value.data() + 8), 0x5432u);
  EXPECT_EQ(load_be64(r.packet.value.data() + 48), 0xdeadbeefu);
  EXPECT_EQ(load_be64(r.packet.value.data() + 56), 0x6524u);
}

TEST(decoder, flexible_framing_response)
{
  // 0x18 response: framing extras 3 (server duration frame id 0 len 2), extras 0, key 0, value "ok".
  std::vector<std::byte> b;
  auto r = decode_hex("18000300000000000000000500000007000000000000000202005d6f6b", b);
  ASSERT_EQ(r.state, decode_state::complete);
  EXPECT_EQ(r.packet.magic_byte(), magic::alt_client_response);
  EXPECT_EQ(r.packet.framing_extras.size(), 3u);
  EXPECT_EQ(as_string_view(r.packet.value), "ok");
  EXPECT_EQ(r.packet.cas(), 2u);
}

TEST(decoder, every_truncation_needs_more)
{
  auto full = from_hex("810000050400000000000009000000000000000000000001deadbeef48656c6c6f");
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = decode_packet(std::span(full).first(n));
    EXPECT_EQ(r.state, decode_state::need_more) << n;
    EXPECT_EQ(r.consumed, 0u);
    if (n >= header_size) {
      EXPECT_EQ(r.needed, full.size());
    }
  }
  EXPECT_EQ(decode_packet(full).state, decode_state::complete);
}

TEST(decoder, pipelined_stream_decodes_packet_by_packet)
{
  auto stream = from_hex("810a00000000000000000000000000010000000000000000"   // NOOP opaque 1
                         "810b00000000000000000005000000020000000000000000312e332e31" // VERSION opaque 2
                         "810a000000000000000000000000000300000000000000");  // NOOP opaque 3, one byte short
  std::span<const std::byte> rest(stream);
  std::vector<std::uint32_t> opaques;
  while (true) {
    auto r = decode_packet(rest);
    if (r.state != decode_state::complete) {
      EXPECT_EQ(r.state, decode_state::need_more);
      break;
    }
    opaques.push_back(r.packet.opaque());
    rest = rest.subspan(r.consumed);
  }
  EXPECT_EQ(opaques, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(rest.size(), 23u);
}

TEST(decoder, bad_magic_fails_even_in_a_partial_header)
{
  auto b = from_hex("4e6f");
  auto r = decode_packet(b);
  EXPECT_EQ(r.state, decode_state::error);
  EXPECT_EQ(r.ec, client_errc::invalid_magic);
  EXPECT_TRUE(couchkv::protocol::is_fatal(r.ec));
}

TEST(decoder, inconsistent_lengths_are_rejected)
{
  // key 5 + extras 4 > body 8
  auto b = from_hex("810000050400000000000008000000000000000000000000");
  auto r = decode_packet(b);
  EXPECT_EQ(r.state, decode_state::error);
  EXPECT_EQ(r.ec, client_errc::invalid_header);
  // flexible: framing 200 + key 100 > body 10
  b = from_hex("1800c864000000000000000a000000000000000000000000");
  r = decode_packet(b);
  EXPECT_EQ(r.ec, client_errc::invalid_header);
}

TEST(decoder, oversized_body_is_rejected_before_it_arrives)
{
  auto b = from_hex("8100000000000000ffffffff000000000000000000000000");
  auto r = decode_packet(b);
  EXPECT_EQ(r.state, decode_state::error);
  EXPECT_EQ(r.ec, client_errc::body_too_large);
  decoder_limits small{.max_body_len = 4};
  b = from_hex("81000000000000000000000500000000000000000000000048656c6c6f");
  EXPECT_EQ(decode_packet(b, small).ec, client_errc::body_too_large);
  EXPECT_EQ(decode_packet(b).state, decode_state::complete);
}

TEST(header, round_trip_every_magic)
{
  for (auto m : {magic::client_request, magic::client_response, magic::alt_client_request,
                 magic::alt_client_response, magic::server_request, magic::server_response}) {
    header h{m, 0x42, static_cast<std::uint8_t>(is_flexible(m) ? 3 : 0), 7, 4, 1, 0x1234, 40, 0xcafef00d,
             0x0102030405060708ull};
    std::byte buf[24];
    encode_header(h, buf);
    std::error_code ec;
    auto back = decode_header(buf, ec);
    ASSERT_TRUE(back) << ec.message();
    EXPECT_EQ(*back, h);
  }
}

TEST(decoder, an_http_answer_is_recognised_as_http)
{
  // What an HTTP server answers to a KV request: no KV magic byte is an 'H'.
  EXPECT_TRUE(looks_like_http(as_bytes("HTTP/1.1 400 Bad Request\r\n\r\n")));
  EXPECT_TRUE(looks_like_http(as_bytes("HTTP/1.0 200 OK")));
  EXPECT_EQ(decode_packet(as_bytes("HTTP/1.1 400 Bad Request\r\n\r\n")).ec, client_errc::invalid_magic);
  EXPECT_FALSE(looks_like_http(as_bytes("HTTP")));
  EXPECT_FALSE(looks_like_http(as_bytes("http/1.1 400")));
  EXPECT_FALSE(looks_like_http({}));
  auto kv = from_hex("81000000000000000000000500000000000000000000000048656c6c6f");
  EXPECT_FALSE(looks_like_http(kv));
}
