#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/leb128.hpp>

#include <gtest/gtest.h>
#include <hex.hpp>

using namespace couchkv::protocol;
using couchkv::test::from_hex;
using couchkv::test::to_hex;

TEST(leb128, vectors_section_4)
{
  const std::pair<std::uint32_t, const char*> vectors[] = {
      {0x00, "00"},         {0x01, "01"},         {0x7f, "7f"},           {0x80, "8001"},
      {0x555, "d50a"},      {0x7fff, "ffff01"},   {0xbfff, "ffff02"},     {0xffff, "ffff03"},
      {0x8000, "808002"},   {0x5555, "d5aa01"},   {0xcafef00, "80debf65"}, {0xcafef00d, "8de0fbd70c"},
      {0xffffffff, "ffffffff0f"},
  };
  for (auto [value, hex] : vectors) {
    std::byte buf[5];
    auto n = encode_leb128(value, buf);
    EXPECT_EQ(to_hex(std::span(buf, n)), hex) << value;
    std::error_code ec;
    auto in = from_hex(hex);
    in.push_back(std::byte{0x41}); // the key that follows is not consumed
    auto d = decode_leb128(in, ec);
    ASSERT_TRUE(d) << hex;
    EXPECT_EQ(d->value, value);
    EXPECT_EQ(d->size, n);
  }
}

TEST(leb128, rejects_truncated_overlong_and_non_canonical)
{
  for (auto bad : {"", "80", "ffff", "8000", "ff00", "ffffffff1f", "ffffffffff01", "8080808080"}) {
    std::error_code ec;
    EXPECT_FALSE(decode_leb128(from_hex(bad), ec)) << bad;
    EXPECT_EQ(ec, client_errc::invalid_leb128) << bad;
  }
}
