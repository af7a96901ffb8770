// The facade's conditions: every code couchkv hands out (server statuses per operation, the
// codec's and connection's errors, the facade's own) compares equal to the condition it means.
#include <couchkv/errors.hpp>

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

TEST(errors, every_client_code_has_a_message_and_a_condition)
{
  for (int v = 1; v <= static_cast<int>(client_errc::malformed_http); ++v) {
    const std::error_code ec = static_cast<client_errc>(v);
    EXPECT_EQ(ec.message().find("unknown client error"), std::string::npos) << v;
    int conditions = 0;
    for (int c = 1; c <= static_cast<int>(errc::quota_limited); ++c) conditions += ec == static_cast<errc>(c) ? 1 : 0;
    EXPECT_EQ(conditions, 1) << ec.message();
  }
  // The last code is the last: one past it is unknown (a new code goes before this line's bound).
  EXPECT_NE(std::error_code(static_cast<client_errc>(static_cast<int>(client_errc::malformed_http) + 1)).message().find("unknown"),
            std::string::npos);
  EXPECT_EQ(make_error_code(client_errc::malformed_response), errc::decoding_failure);
  EXPECT_EQ(make_error_code(client_errc::kv_port_speaks_http), errc::network_error);
  EXPECT_EQ(make_error_code(client_errc::malformed_http), errc::decoding_failure);
}

TEST(errors, every_status_meaning_names_a_condition)
{
  // The conditions of KV statuses come from protocol::kv_meaning: each meaning must be a condition.
  const kv_family families[] = {kv_family::generic, kv_family::insert, kv_family::cas_mutation,
                                kv_family::replace, kv_family::concat, kv_family::unlock};
  for (auto f : families) {
    for (unsigned v = 0; v <= 0xffff; ++v) {
      auto s = static_cast<status>(v);
      auto meaning = kv_meaning(f, s);
      if (meaning.empty()) continue;
      std::error_code ec{static_cast<int>(v), kv_category()};
      if (f != kv_family::generic) continue; // the variants are reached through make_kv_error below
      bool named = false;
      for (int c = 1; c <= static_cast<int>(errc::quota_limited); ++c) {
        if (ec == static_cast<errc>(c)) {
          EXPECT_FALSE(named) << to_string(s) << " means two conditions";
          EXPECT_EQ(couchkv::make_error_condition(static_cast<errc>(c)).message(), meaning);
          named = true;
        }
      }
      EXPECT_TRUE(named) << to_string(s) << " means \"" << meaning << "\", which is no condition";
    }
  }
}

TEST(errors, facade_errors_and_their_conditions)
{
  using couchkv::client_errc;
  EXPECT_EQ(make_error_code(client_errc::durability_impossible), errc::durability_impossible);
  EXPECT_EQ(make_error_code(client_errc::durability_mutation_lost), errc::durability_ambiguous);
  EXPECT_EQ(make_error_code(client_errc::durability_mutation_replaced), errc::cas_mismatch);
  EXPECT_EQ(make_error_code(client_errc::durability_timeout), errc::durability_ambiguous);
  EXPECT_EQ(make_error_code(client_errc::document_not_found_on_master), errc::document_not_found);
  EXPECT_EQ(make_error_code(client_errc::feature_not_available), errc::unsupported_operation);
  EXPECT_EQ(make_error_code(client_errc::no_node_for_vbucket), errc::not_my_vbucket);
  EXPECT_EQ(make_error_code(client_errc::config_rejected), errc::decoding_failure);
  EXPECT_NE(make_error_code(client_errc::durability_timeout), errc::timeout);
  EXPECT_EQ(std::string(couchkv::client_category().name()), "couchkv.facade");
  EXPECT_EQ(std::string(couchkv::condition_category().name()), "couchkv");
  // Codes of other categories are none of ours.
  EXPECT_NE(std::make_error_code(std::errc::timed_out), errc::timeout);
  EXPECT_NE(std::error_code{}, errc::document_not_found);
  // A condition compares from either side, and as std::error_condition.
  std::error_condition cond = errc::document_not_found;
  EXPECT_EQ(cond, std::error_code(status::key_enoent));
  EXPECT_EQ(std::error_code(status::key_enoent), cond);
}
