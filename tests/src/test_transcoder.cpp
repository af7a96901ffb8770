#include <couchkv/errors.hpp>
#include <couchkv/transcoder.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace couchkv;

TEST(transcoder, flags_match_python_sdk2_values)
{
  // PYCBC_FMT_JSON / _BYTES / _UTF8 in the Python SDK 2.x: common flags | legacy bits.
  EXPECT_EQ(flags::json, 0x02000000u);
  EXPECT_EQ(flags::binary, 0x03000002u);
  EXPECT_EQ(flags::utf8, 0x04000004u);
}

TEST(transcoder, format_of_common_and_legacy_flags)
{
  EXPECT_EQ(format_of(0x02000000u), format::json);
  EXPECT_EQ(format_of(0x03000000u), format::binary); // Java SDK writes common flags alone
  EXPECT_EQ(format_of(0x04000000u), format::utf8);
  EXPECT_EQ(format_of(0x01000001u), format::pickle);
  EXPECT_EQ(format_of(0x05000000u), format::unknown);
  EXPECT_EQ(format_of(0x00000000u), format::json); // legacy: flags 0 was JSON
  EXPECT_EQ(format_of(0x00000002u), format::binary);
  EXPECT_EQ(format_of(0x00000004u), format::utf8);
  EXPECT_EQ(format_of(0x00000001u), format::pickle);
  EXPECT_EQ(format_of(0x00000003u), format::unknown);
  for (auto f : {format::json, format::utf8, format::binary}) EXPECT_EQ(format_of(flags_for(f)), f);
}

TEST(transcoder, json_text_is_validated)
{
  std::error_code ec;
  auto v = json_text(R"({"name":"Ada"})", ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(v.data, R"({"name":"Ada"})");
  EXPECT_EQ(v.flags, flags::json);
  EXPECT_EQ(v.datatype, 0x01);
  (void)json_text(R"({"name":)", ec);
  EXPECT_EQ(ec, couchkv::errc::invalid_argument);
}

TEST(transcoder, json_round_trip)
{
  nlohmann::json doc = {{"name", "Ada"}, {"n", 3}};
  auto v = json_document(doc);
  std::error_code ec;
  auto back = decode_json(v.data, v.flags, ec);
  ASSERT_TRUE(back) << ec.message();
  EXPECT_EQ(*back, doc);
}

TEST(transcoder, decode_json_refuses_other_formats_and_bad_text)
{
  std::error_code ec;
  EXPECT_FALSE(decode_json("{}", flags::binary, ec));
  EXPECT_TRUE(ec);
  EXPECT_FALSE(decode_json("{not json", flags::json, ec));
  EXPECT_TRUE(ec);
}

TEST(transcoder, utf8_validation)
{
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));             // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));         // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));     // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xff"));
  std::error_code ec;
  auto v = utf8_text("caf\xc3\xa9", ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(v.flags, flags::utf8);
  EXPECT_EQ(v.datatype, 0);
  auto s = decode_utf8(v.data, v.flags, ec);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "caf\xc3\xa9");
  (void)utf8_text("\xff", ec);
  EXPECT_EQ(ec, couchkv::errc::invalid_argument);
  EXPECT_FALSE(decode_utf8("x", flags::binary, ec));
}

TEST(transcoder, binary_keeps_every_byte)
{
  std::string raw("\x00\x01\xff", 3);
  auto v = binary(std::string_view(raw));
  EXPECT_EQ(v.data, raw);
  EXPECT_EQ(v.flags, flags::binary);
  EXPECT_EQ(format_of(v.flags), format::binary);
}
