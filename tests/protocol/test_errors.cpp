// Error categories: KV statuses keep their wire value; the family of the operation says what
// they mean. (The conditions users compare against are the facade's: tests/src/test_errors.cpp.)
#include <couchkv/protocol/errors.hpp>

#include <gtest/gtest.h>

using namespace couchkv::protocol;

TEST(errors, kv_status_value_is_the_wire_value_and_its_message_says_both)
{
  std::error_code ec = status::key_enoent;
  EXPECT_EQ(ec.value(), 1);
  EXPECT_EQ(ec.category(), kv_category());
  EXPECT_EQ(ec.message(), "document not found (KeyEnoent 0x0001)");
  EXPECT_EQ(make_kv_error(opcode::add, status::key_eexists).message(), "document exists (KeyEexists 0x0002)");
  EXPECT_EQ(make_kv_error(opcode::set, status::key_eexists, true).message(), "CAS mismatch (KeyEexists 0x0002)");
  EXPECT_EQ(make_kv_error(opcode::get, static_cast<status>(0x7777)).message().find("server status"), 0u);
}

TEST(errors, families_per_operation)
{
  EXPECT_EQ(kv_family_of(make_kv_error(opcode::add, status::key_eexists)), kv_family::insert);
  EXPECT_EQ(kv_family_of(make_kv_error(opcode::set, status::key_eexists, true)), kv_family::cas_mutation);
  EXPECT_EQ(kv_family_of(make_kv_error(opcode::set, status::key_eexists)), kv_family::generic);
  EXPECT_EQ(kv_family_of(make_kv_error(opcode::replace, status::not_stored)), kv_family::replace);
  EXPECT_EQ(kv_family_of(make_kv_error(opcode::append, status::not_stored)), kv_family::concat);
  EXPECT_EQ(kv_family_of(make_kv_error(opcode::unlock_key, status::locked)), kv_family::unlock);
  EXPECT_EQ(kv_family_of(make_error_code(client_errc::timeout)), std::nullopt);
  EXPECT_EQ(kv_meaning(kv_family::unlock, status::locked), "CAS mismatch");
  EXPECT_EQ(kv_meaning(kv_family::generic, status::locked), "document locked");
  EXPECT_EQ(kv_meaning(kv_family::generic, static_cast<status>(0x7777)), "");
  EXPECT_TRUE(is_kv_error(make_kv_error(opcode::set, status::key_eexists, true)));
  EXPECT_FALSE(is_kv_error(make_error_code(client_errc::timeout)));
  EXPECT_FALSE(make_error_code(client_errc::timeout).message().empty());
  EXPECT_EQ(std::string(client_category().name()), "couchkv.client");
}

TEST(errors, retryable_and_fatal)
{
  EXPECT_TRUE(is_retryable(status::etmpfail));
  EXPECT_TRUE(is_retryable(status::ebusy));
  EXPECT_TRUE(is_retryable(status::not_my_vbucket));
  EXPECT_TRUE(is_retryable(status::sync_write_in_progress));
  EXPECT_FALSE(is_retryable(status::key_enoent));
  EXPECT_FALSE(is_retryable(status::auth_error));
  EXPECT_TRUE(is_fatal(make_error_code(client_errc::invalid_magic)));
  EXPECT_TRUE(is_fatal(make_error_code(client_errc::body_too_large)));
  EXPECT_TRUE(is_fatal(make_error_code(status::auth_stale)));
  EXPECT_FALSE(is_fatal(make_error_code(status::key_enoent)));
  EXPECT_FALSE(is_fatal(make_error_code(client_errc::timeout)));
  // Not KV at all: the connection is done. A malformed answer's stream is still in step.
  EXPECT_TRUE(is_fatal(make_error_code(client_errc::kv_port_speaks_http)));
  EXPECT_FALSE(is_fatal(make_error_code(client_errc::malformed_response)));
}

TEST(errors, names)
{
  EXPECT_EQ(to_string(status::not_my_vbucket), "NotMyVbucket");
  EXPECT_EQ(to_string(opcode::del), "DELETE");
  EXPECT_EQ(to_string(opcode::get_cluster_config), "GET_CLUSTER_CONFIG");
  EXPECT_TRUE(is_quiet(opcode::getkq));
  EXPECT_FALSE(is_quiet(opcode::getk));
  EXPECT_TRUE(is_mutation(opcode::prepend));
  EXPECT_FALSE(is_mutation(opcode::get));
  EXPECT_TRUE(carries_collection_id(opcode::get_replica));
  EXPECT_FALSE(carries_collection_id(opcode::observe_seqno));
}
