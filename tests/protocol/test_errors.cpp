// Error categories: KV statuses keep their wire value, map to conditions per operation.
#include <couchkv/protocol/errors.hpp>

#include <gtest/gtest.h>

using namespace couchkv::protocol;
using couchkv::errc;

TEST(errors, kv_status_value_is_the_wire_value)
{
  std::error_code ec = status::key_enoent;
  EXPECT_EQ(ec.value(), 1);
  EXPECT_EQ(ec.category(), kv_category());
  EXPECT_EQ(ec, errc::document_not_found);
  EXPECT_NE(ec.message().find("KeyEnoent"), std::string::npos);
  EXPECT_NE(ec.message().find("0x0001"), std::string::npos);
}

TEST(errors, exists_means_different_things_per_operation)
{
  EXPECT_EQ(make_kv_error(opcode::add, status::key_eexists), errc::document_exists);
  EXPECT_EQ(make_kv_error(opcode::set, status::key_eexists, true), errc::cas_mismatch);
  EXPECT_EQ(make_kv_error(opcode::replace, status::key_eexists, true), errc::cas_mismatch);
  EXPECT_EQ(make_kv_error(opcode::del, status::key_eexists, true), errc::cas_mismatch);
  EXPECT_EQ(make_kv_error(opcode::append, status::key_eexists, true), errc::cas_mismatch);
  EXPECT_NE(make_kv_error(opcode::add, status::key_eexists), errc::cas_mismatch);
  // The wire value survives the mapping.
  EXPECT_EQ(make_kv_error(opcode::set, status::key_eexists, true).value(), 2);
  EXPECT_TRUE(is_kv_error(make_kv_error(opcode::set, status::key_eexists, true)));
  EXPECT_FALSE(is_kv_error(make_error_code(client_errc::timeout)));
}

TEST(errors, not_stored_per_operation)
{
  EXPECT_EQ(make_kv_error(opcode::append, status::not_stored), errc::document_not_found);
  EXPECT_EQ(make_kv_error(opcode::replace, status::not_stored), errc::document_not_found);
  EXPECT_EQ(make_kv_error(opcode::add, status::not_stored), errc::document_exists);
  EXPECT_EQ(make_kv_error(opcode::set, status::not_stored), errc::not_stored);
}

TEST(errors, locks)
{
  EXPECT_EQ(make_kv_error(opcode::set, status::locked), errc::document_locked);
  EXPECT_EQ(make_kv_error(opcode::get_locked, status::locked), errc::document_locked);
  EXPECT_EQ(make_kv_error(opcode::unlock_key, status::locked), errc::cas_mismatch);
  EXPECT_EQ(make_kv_error(opcode::unlock_key, status::not_locked), errc::document_not_locked);
  EXPECT_EQ(make_kv_error(opcode::unlock_key, status::key_enoent), errc::document_not_found);
}

TEST(errors, generic_table)
{
  const std::pair<status, errc> table[] = {
      {status::e2big, errc::value_too_large},
      {status::einval, errc::invalid_argument},
      {status::delta_badval, errc::delta_invalid},
      {status::not_my_vbucket, errc::not_my_vbucket},
      {status::etmpfail, errc::temporary_failure},
      {status::ebusy, errc::temporary_failure},
      {status::auth_error, errc::authentication_failure},
      {status::eaccess, errc::access_denied},
      {status::no_bucket, errc::bucket_not_found},
      {status::unknown_command, errc::unsupported_operation},
      {status::not_supported, errc::unsupported_operation},
      {status::durability_impossible, errc::durability_impossible},
      {status::sync_write_ambiguous, errc::durability_ambiguous},
      {status::sync_write_in_progress, errc::durable_write_in_progress},
      {status::durability_invalid_level, errc::durability_level_not_available},
      {status::unknown_collection, errc::collection_not_found},
      {status::einternal, errc::server_internal_error},
      {status::rate_limited_max_commands, errc::rate_limited},
  };
  for (auto [s, c] : table) EXPECT_EQ(make_kv_error(opcode::get, s), c) << to_string(s);
}

TEST(errors, unknown_status_is_tolerated)
{
  auto ec = make_kv_error(opcode::get, static_cast<status>(0x7777));
  EXPECT_EQ(ec.value(), 0x7777);
  EXPECT_FALSE(is_known(static_cast<status>(0x7777)));
  EXPECT_NE(ec.message().find("0x7777"), std::string::npos);
  EXPECT_NE(ec, errc::document_not_found);
}

TEST(errors, client_errors_and_conditions)
{
  EXPECT_EQ(make_error_code(client_errc::timeout), errc::timeout);
  EXPECT_EQ(make_error_code(client_errc::ambiguous_timeout), errc::ambiguous_timeout);
  EXPECT_EQ(make_error_code(client_errc::invalid_header), errc::decoding_failure);
  EXPECT_EQ(make_error_code(client_errc::sasl_server_signature_mismatch), errc::authentication_failure);
  EXPECT_EQ(make_error_code(client_errc::connection_closed), errc::network_error);
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
