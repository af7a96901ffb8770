// Successful answers that lack what their opcode promises (issue 19, item 5), end to end through
// the facade against a scripted KV server (memcached:// mode: no handshake to script): each fails
// its operation with malformed_response and a context that names the opcode and what was wrong.
// Nothing is read as zeros, nothing is retried, and the connection stays up for the next one.
#include "../support/failure.hpp"

#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>

#include <async_test_support.hpp>
#include <gtest/gtest.h>
#include <scripted_kv_server.hpp>

#include <array>
#include <atomic>
#include <mutex>

using namespace couchkv;
using couchkv::test::failure_of;
using couchkv::test::io_thread;
using couchkv::test::scripted_kv_server;
using protocol::opcode;
using protocol::status;

namespace {

const std::array<std::byte, 4> json_flags{std::byte{0x02}, std::byte{0}, std::byte{0}, std::byte{0x06}};
const std::array<std::byte, 8> eight{};
const std::array<std::byte, 8> forty_two{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},
                                         std::byte{0}, std::byte{0}, std::byte{0}, std::byte{42}};

// Answers by key: "bad::..." keys get a success without the part their opcode needs, "good::..."
// a whole one, "missing" a KEY_ENOENT without extras. Counts what each key was sent.
struct script {
  std::mutex m;
  std::map<std::string, int> requests;

  protocol::byte_buffer operator()(const protocol::packet_view& req)
  {
    const auto op = req.op();
    const std::string key(protocol::as_string_view(req.key));
    {
      std::lock_guard lock(m);
      ++requests[key];
    }
    if (op == opcode::noop) return scripted_kv_server::answer(req);
    if (key == "missing") return scripted_kv_server::answer(req, {.status = status::key_enoent});
    if (key.starts_with("junk::")) {
      // No packet at all (a wrong magic): the decoder refuses it and the connection is closed.
      protocol::byte_buffer junk(24, std::byte{0x42});
      return junk;
    }
    const bool bad = key.starts_with("bad::");
    switch (op) {
      case opcode::get:
      case opcode::gat:
      case opcode::get_locked:
        return scripted_kv_server::answer(
            req, {.cas = 7, .extras = bad ? protocol::bytes_view{} : protocol::bytes_view(json_flags), .value = protocol::as_bytes("{}")});
      case opcode::increment:
      case opcode::decrement:
        return scripted_kv_server::answer(req, {.cas = 8, .value = bad ? protocol::bytes_view{} : protocol::bytes_view(forty_two)});
      default: // the mutations: a token of 8 bytes is no token
        return scripted_kv_server::answer(req, {.cas = 9, .extras = bad ? protocol::bytes_view(eight) : protocol::bytes_view{}});
    }
  }
  int sent(const std::string& key)
  {
    std::lock_guard lock(m);
    return requests[key];
  }
};

struct fixture {
  std::shared_ptr<script> answers = std::make_shared<script>();
  scripted_kv_server server{[a = answers](const protocol::packet_view& p) { return (*a)(p); }};
  io_thread t;
  cluster c{t.io.get_executor(), "memcached://127.0.0.1:" + std::to_string(server.port()), {}};
  async_bucket b = c.open_bucket().get();
};

void expect_malformed(const test::failure& f, std::string_view operation, std::string_view detail)
{
  EXPECT_EQ(f.ec, protocol::client_errc::malformed_response) << f.ec.message();
  EXPECT_EQ(f.ec, errc::decoding_failure);
  EXPECT_EQ(f.context.operation, operation);
  EXPECT_NE(f.context.server_message.find(detail), std::string::npos) << f.context.server_message;
}

} // namespace

TEST(malformed_responses, get_family_without_flags_fails_instead_of_reading_flags_zero)
{
  fixture f;
  auto good = f.b.get("good::1").get();
  EXPECT_EQ(good.flags, 0x02000006u);
  expect_malformed(failure_of([&] { f.b.get("bad::1").get(); }), "GET",
                   "GET answered success without the 4-byte flags extras (it has 0 bytes of extras)");
  expect_malformed(failure_of([&] { f.b.get_and_touch("bad::2", {.expiry = std::chrono::seconds(10)}).get(); }), "GAT",
                   "without the 4-byte flags extras");
  expect_malformed(failure_of([&] { f.b.get_and_lock("bad::3").get(); }), "GET_LOCKED",
                   "without the 4-byte flags extras");
  // An error answer has no flags to give: it is read for its status.
  EXPECT_EQ(failure_of([&] { f.b.get("missing").get(); }).ec, errc::document_not_found);
}

TEST(malformed_responses, a_counter_without_its_value_fails_and_says_the_change_was_applied)
{
  fixture f;
  EXPECT_EQ(f.b.counter("good::ctr", 1).get().value, 42u);
  expect_malformed(failure_of([&] { f.b.counter("bad::up", 1).get(); }), "INCREMENT",
                   "INCREMENT answered success (the change was applied) without the 8-byte counter value (it has 0 bytes");
  expect_malformed(failure_of([&] { f.b.counter("bad::down", -1).get(); }), "DECREMENT",
                   "without the 8-byte counter value");
}

TEST(malformed_responses, a_mutation_token_of_the_wrong_size_fails_the_mutation)
{
  fixture f;
  auto ok = f.b.upsert("good::doc", "{}").get();
  EXPECT_EQ(ok.cas, 9u);
  EXPECT_FALSE(ok.token); // none sent: none made up
  expect_malformed(failure_of([&] { f.b.upsert("bad::doc", "{}").get(); }), "SET",
                   "SET answered success (the change was applied) with 8 bytes of extras, which are no 16-byte mutation token");
  expect_malformed(failure_of([&] { f.b.remove("bad::gone").get(); }), "DELETE", "no 16-byte mutation token");
  expect_malformed(failure_of([&] { f.b.touch("bad::touched", std::chrono::seconds(5)).get(); }), "TOUCH",
                   "no 16-byte mutation token");
}

TEST(malformed_responses, multi_gets_fail_the_malformed_key_only)
{
  fixture f;
  auto got = f.b.get_multi({"good::a", "bad::b", "good::c"}).get();
  ASSERT_TRUE(got.at("good::a").value);
  EXPECT_EQ(got.at("good::a").value->flags, 0x02000006u);
  ASSERT_TRUE(got.at("good::c").value);
  EXPECT_FALSE(got.at("bad::b").value);
  expect_malformed({got.at("bad::b").ec, got.at("bad::b").context}, "GET", "without the 4-byte flags extras");

  std::mutex m;
  std::map<std::string, std::error_code> each;
  auto found = f.b.get_multi_each({"good::x", "bad::y"}, [&](std::error_code ec, get_view v) {
                    std::lock_guard lock(m);
                    each[std::string(v.key)] = ec;
                  }).get();
  EXPECT_EQ(found, 1u);
  EXPECT_FALSE(each.at("good::x"));
  EXPECT_EQ(each.at("bad::y"), protocol::client_errc::malformed_response);
}

TEST(malformed_responses, not_retried_and_the_connection_stays_up)
{
  fixture f;
  // After an answer, every connection the client opened so far has been counted (the server
  // counts one before it reads from it).
  EXPECT_EQ(f.b.get("good::before").get().value, "{}");
  const auto connections = f.server.connections();
  expect_malformed(failure_of([&] { f.b.get("bad::once").get(); }), "GET", "flags");
  expect_malformed(failure_of([&] { f.b.upsert("bad::once-set", "{}").get(); }), "SET", "mutation token");
  // Sent once each: a success is not retried (a mutation was applied).
  EXPECT_EQ(f.answers->sent("bad::once"), 1);
  EXPECT_EQ(f.answers->sent("bad::once-set"), 1);
  // The stream was in step: the same connection answers the next operation.
  EXPECT_EQ(f.b.get("good::after").get().value, "{}");
  EXPECT_EQ(f.server.connections(), connections);
}

// Issue 20, item 10: data the decoder refuses closes the connection; a read is retried on a new
// one and, when the server keeps sending junk, times out. The error names the cause (it used to
// say only "timed out (last retry: connection_lost)").
TEST(malformed_responses, a_timeout_after_undecodable_data_names_the_cause)
{
  fixture f;
  auto fail = failure_of([&] { f.b.get("junk::1", {.timeout = std::chrono::milliseconds(400)}).get(); });
  EXPECT_EQ(fail.ec, errc::timeout) << fail.ec.message();
  EXPECT_EQ(fail.context.last_retry_reason, retry_reason::connection_lost);
  EXPECT_NE(fail.context.server_message.find("connection lost"), std::string::npos) << fail.context.server_message;
  EXPECT_NE(fail.context.server_message.find("undecodable data from the server"), std::string::npos)
      << fail.context.server_message;
  // The description a user prints says it too.
  EXPECT_NE(describe(fail.ec, fail.context).find("undecodable"), std::string::npos) << describe(fail.ec, fail.context);
}
