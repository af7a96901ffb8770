#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/frame_info.hpp>

#include <gtest/gtest.h>
#include <hex.hpp>

using namespace couchkv::protocol;
using couchkv::test::from_hex;
using couchkv::test::to_hex;

TEST(frame_info, server_duration_vectors_7)
{
  const std::pair<long, std::uint16_t> vectors[] = {{0, 0}, {1331, 93}, {20841, 452}, {119973, 1236}};
  for (auto [us, enc] : vectors) {
    EXPECT_EQ(encode_server_duration(std::chrono::microseconds{us}), enc) << us;
    EXPECT_EQ(decode_server_duration(enc).count(), us) << enc;
  }
}

TEST(frame_info, escapes_for_large_id_and_length)
{
  byte_buffer b;
  std::vector<std::byte> payload(20, std::byte{0xaa});
  append_frame_info(b, 16, payload);                // id 16 -> 15 + 1, len 20 -> 15 + 5
  append_frame_info(b, 3, {});                      // plain
  append_frame_info(b, 15, std::span(payload).first(15)); // both exactly at the escape
  EXPECT_EQ(to_hex(std::span(b).first(3)), "ff0105");
  frame_info_reader rd(b);
  auto f = rd.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->id, 16);
  EXPECT_EQ(f->payload.size(), 20u);
  f = rd.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->id, 3);
  EXPECT_TRUE(f->payload.empty());
  f = rd.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->id, 15);
  EXPECT_EQ(f->payload.size(), 15u);
  EXPECT_FALSE(rd.next());
  EXPECT_FALSE(rd.ec());
}

TEST(frame_info, truncated_frames_are_errors)
{
  for (auto hex : {"f0", "0f", "ff00", "13", "1301", "23aa"}) {
    auto b = from_hex(hex);
    frame_info_reader rd(b);
    while (rd.next()) {
    }
    EXPECT_EQ(rd.ec(), client_errc::invalid_frame_info) << hex;
  }
}

TEST(frame_info, durability_payloads)
{
  std::error_code ec;
  auto d = parse_durability_frame(from_hex("01"), ec);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->level, durability_level::majority);
  EXPECT_FALSE(d->timeout_ms);
  d = parse_durability_frame(from_hex("030064"), ec);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->level, durability_level::persist_to_majority);
  EXPECT_EQ(d->timeout_ms, 100);
  for (auto bad : {"", "00", "04", "010000", "01ffff", "0100", "01000102"}) {
    EXPECT_FALSE(parse_durability_frame(from_hex(bad), ec)) << bad;
    EXPECT_EQ(ec, client_errc::invalid_frame_info);
  }
  byte_buffer b;
  append_durability_frame(b, {durability_level::majority_and_persist_to_active, 0x1234});
  EXPECT_EQ(to_hex(b), "13021234");
}
