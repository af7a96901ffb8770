// What a successful answer must carry for its opcode (protocol/response_shape.hpp): every shape the
// client reads, accepted when whole and named when not, and error answers left alone.
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/response.hpp>
#include <couchkv/protocol/response_shape.hpp>

#include <gtest/gtest.h>

#include <array>

using namespace couchkv::protocol;

namespace {

// An answer to `op` with `extras_len` bytes of extras and `value_len` of value, decoded as the
// connection decodes it. The buffer lives as long as the view it returns.
struct answer {
  byte_buffer bytes;
  packet_view packet;
  answer(opcode op, std::size_t extras_len, std::size_t value_len, status st = status::success)
  {
    std::vector<std::byte> extras(extras_len, std::byte{0x11}), value(value_len, std::byte{0x22});
    append_response(bytes, {.op = static_cast<std::uint8_t>(op), .status = st, .extras = extras, .value = value});
    auto r = decode_packet(bytes);
    EXPECT_EQ(r.state, decode_state::complete);
    packet = r.packet;
  }
};

} // namespace

TEST(response_shape, get_family_needs_exactly_the_four_byte_flags)
{
  for (auto op : {opcode::get, opcode::getq, opcode::getk, opcode::getkq, opcode::gat, opcode::gatq,
                  opcode::get_locked, opcode::get_replica}) {
    EXPECT_EQ(defect_of(op, answer(op, 4, 10).packet), response_defect::none) << to_string(op);
    EXPECT_EQ(defect_of(op, answer(op, 4, 0).packet), response_defect::none) << to_string(op); // an empty document
    for (std::size_t n : {0u, 3u, 5u, 16u}) {
      EXPECT_EQ(defect_of(op, answer(op, n, 10).packet), response_defect::no_flags) << to_string(op) << " " << n;
    }
  }
  byte_buffer b;
  const std::array<std::byte, 4> flags{std::byte{0x02}, std::byte{0}, std::byte{0}, std::byte{0x06}};
  append_response(b, {.op = 0, .extras = flags});
  EXPECT_EQ(item_flags(decode_packet(b).packet), 0x02000006u);
}

TEST(response_shape, counter_needs_its_eight_byte_value_and_a_whole_token_if_any)
{
  for (auto op : {opcode::increment, opcode::decrement, opcode::incrementq, opcode::decrementq}) {
    EXPECT_EQ(defect_of(op, answer(op, 0, 8).packet), response_defect::none);
    EXPECT_EQ(defect_of(op, answer(op, 16, 8).packet), response_defect::none);
    EXPECT_EQ(defect_of(op, answer(op, 0, 0).packet), response_defect::no_counter_value);
    EXPECT_EQ(defect_of(op, answer(op, 16, 7).packet), response_defect::no_counter_value);
    EXPECT_EQ(defect_of(op, answer(op, 0, 9).packet), response_defect::no_counter_value);
    EXPECT_EQ(defect_of(op, answer(op, 8, 8).packet), response_defect::bad_mutation_token);
  }
  byte_buffer b;
  const std::array<std::byte, 8> v{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},
                                   std::byte{0}, std::byte{0}, std::byte{0x01}, std::byte{0x02}};
  append_response(b, {.op = static_cast<std::uint8_t>(opcode::increment), .value = v});
  EXPECT_EQ(counter_value(decode_packet(b).packet), 0x0102u);
}

TEST(response_shape, mutations_take_no_extras_or_a_sixteen_byte_token)
{
  for (auto op : {opcode::set, opcode::add, opcode::replace, opcode::del, opcode::append, opcode::prepend,
                  opcode::touch, opcode::unlock_key, opcode::setq, opcode::delq}) {
    EXPECT_EQ(defect_of(op, answer(op, 0, 0).packet), response_defect::none) << to_string(op);
    EXPECT_EQ(defect_of(op, answer(op, 16, 0).packet), response_defect::none) << to_string(op);
    for (std::size_t n : {1u, 8u, 15u, 17u, 20u}) {
      EXPECT_EQ(defect_of(op, answer(op, n, 0).packet), response_defect::bad_mutation_token) << to_string(op) << " " << n;
    }
  }
}

TEST(response_shape, error_answers_and_other_opcodes_are_not_checked)
{
  // An error answer's body is the server's text: a GET miss has no flags, a counter error no value.
  EXPECT_EQ(defect_of(opcode::get, answer(opcode::get, 0, 9, status::key_enoent).packet), response_defect::none);
  EXPECT_EQ(defect_of(opcode::increment, answer(opcode::increment, 0, 30, status::delta_badval).packet),
            response_defect::none);
  EXPECT_EQ(defect_of(opcode::set, answer(opcode::set, 3, 0, status::etmpfail).packet), response_defect::none);
  // Whole-body answers are their parsers' business.
  for (auto op : {opcode::noop, opcode::stat, opcode::observe, opcode::observe_seqno, opcode::hello,
                  opcode::get_cluster_config}) {
    EXPECT_EQ(defect_of(op, answer(op, 3, 5).packet), response_defect::none) << to_string(op);
  }
}

TEST(response_shape, the_description_names_the_opcode_what_it_lacks_and_what_it_has)
{
  answer get(opcode::get, 0, 12);
  EXPECT_EQ(describe(response_defect::no_flags, opcode::get, get.packet),
            "GET answered success without the 4-byte flags extras (it has 0 bytes of extras)");
  answer incr(opcode::increment, 16, 3);
  EXPECT_EQ(describe(response_defect::no_counter_value, opcode::increment, incr.packet),
            "INCREMENT answered success (the change was applied) without the 8-byte counter value (it has 3 bytes of value)");
  answer set(opcode::set, 8, 0);
  EXPECT_EQ(describe(response_defect::bad_mutation_token, opcode::set, set.packet),
            "SET answered success (the change was applied) with 8 bytes of extras, which are no 16-byte mutation token");
  EXPECT_EQ(describe(response_defect::none, opcode::set, set.packet), "");
}
