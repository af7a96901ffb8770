// The facade's errors, Boost.MySQL style: error codes say exactly what happened, conditions are
// what users compare against.
//
//  * couchkv::errc         -- portable conditions (ec == couchkv::errc::document_not_found). Every
//                            code couchkv hands out compares equal to the condition it means:
//                            server statuses (per operation: KeyEexists is "document exists" for
//                            an insert and "CAS mismatch" for a replace with a CAS), the codec's
//                            and connection's client_errc (couchkv/protocol/errors.hpp), and the
//                            facade's own codes below.
//  * couchkv::client_errc  -- failures the facade itself detects: durability polling, features
//                            the server or bucket lacks, a vBucket with no node, a rejected
//                            cluster config.
// Codec and connection errors (invalid packets, SASL, timeouts, closed connections) stay in the
// protocol layer as protocol::client_errc; the server's statuses are protocol::status.
#pragma once
#include <couchkv/protocol/errors.hpp>

#include <string>
#include <system_error>

namespace couchkv {

// Portable error conditions.
enum class errc {
  document_not_found = 1,
  document_exists,
  cas_mismatch,
  document_locked,
  document_not_locked,
  value_too_large,
  invalid_argument,
  delta_invalid,
  not_stored,
  temporary_failure,
  timeout,
  ambiguous_timeout,
  request_canceled,
  durability_impossible,
  durability_ambiguous,
  durable_write_in_progress,
  durability_level_not_available,
  authentication_failure,
  access_denied,
  bucket_not_found,
  unsupported_operation,
  not_my_vbucket,
  collection_not_found,
  scope_not_found,
  server_internal_error,
  network_error,
  decoding_failure,
  rate_limited,
  quota_limited,
};

// The conditions' category ("couchkv"): it decides which codes each condition stands for.
const std::error_category& condition_category() noexcept;
std::error_condition make_error_condition(errc e) noexcept;

// Errors the facade detects (category "couchkv.facade").
enum class client_errc {
  feature_not_available = 1,    // the server or bucket lacks what the operation needs
  no_node_for_vbucket,          // the map names no node for the key's vBucket (now)
  config_rejected,              // a cluster config that makes no sense
  // client-side durability (observe polling)
  durability_impossible,        // more nodes asked for than the bucket has or the map holds now
  durability_mutation_lost,     // a failover rolled the vBucket back past the mutation
  durability_mutation_replaced, // the document changed again (CAS differs) before it was durable
  durability_timeout,           // the criteria were not met in time (the mutation itself succeeded)
  document_not_found_on_master, // observe: the master does not hold the document (any more)
};

const std::error_category& client_category() noexcept;
std::error_code make_error_code(client_errc e) noexcept;

} // namespace couchkv

template <> struct std::is_error_condition_enum<couchkv::errc> : std::true_type {};
template <> struct std::is_error_code_enum<couchkv::client_errc> : std::true_type {};
