// Error codes, Boost.MySQL style: one enum per source, each with its own std::error_category.
//
//  * protocol::status          -- server KV status; error_code value == wire value (kv_category).
//  * protocol::client_errc     -- errors detected by the client (codec, connection, timeouts).
//  * couchkv::errc             -- portable conditions users compare against
//                                 (ec == couchkv::errc::document_not_found).
//
// KV status codes are opcode-dependent in meaning (EXISTS is "document exists" for ADD and
// "CAS mismatch" for SET/REPLACE/DELETE with a CAS), so the facade maps (opcode, status) to a
// condition with make_kv_error(), which yields an error_code in kv_category whose default
// condition already takes the opcode into account.
#pragma once
#include <couchkv/protocol/opcode.hpp>
#include <couchkv/protocol/status.hpp>

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

const std::error_category& condition_category() noexcept;
std::error_condition make_error_condition(errc e) noexcept;

} // namespace couchkv

template <> struct std::is_error_condition_enum<couchkv::errc> : std::true_type {};

namespace couchkv::protocol {

enum class client_errc {
  // codec
  invalid_magic = 1,
  invalid_header,         // length fields inconsistent
  body_too_large,         // above the decoder's configured maximum
  invalid_extras,         // extras of an unexpected size for the opcode
  invalid_payload,        // a response/request body that cannot be parsed
  invalid_frame_info,
  invalid_leb128,
  key_too_long,
  // SASL
  sasl_no_common_mechanism,
  sasl_server_nonce_mismatch,
  sasl_server_signature_mismatch,
  sasl_invalid_server_message,
  // connection / operation
  timeout,
  ambiguous_timeout,
  cancelled,
  connection_closed,
  connection_failed,
  queue_full,
  not_connected,
  handshake_failed,
  unexpected_response,
  invalid_argument,
  bucket_not_found,
  feature_not_available,
  no_node_for_vbucket,
  config_rejected,
  // client-side durability (observe polling)
  durability_impossible,       // more nodes asked for than the bucket has or the map holds now
  durability_mutation_lost,    // a failover rolled the vBucket back past the mutation
  durability_mutation_replaced, // the document changed again (CAS differs) before it was durable
  durability_timeout,          // the criteria were not met in time (the mutation itself succeeded)
  document_not_found_on_master, // observe: the master does not hold the document (any more)
};

namespace detail {
// Constant-initialised, so client_category() is a plain reference: every `ec == client_errc::x`
// on an operation's path costs no call and no guard check.
class client_category_impl final : public std::error_category {
public:
  constexpr client_category_impl() noexcept = default;
  const char* name() const noexcept override;
  std::string message(int v) const override;
  std::error_condition default_error_condition(int v) const noexcept override;
};
extern const client_category_impl client_category_instance;
} // namespace detail

inline const std::error_category& client_category() noexcept { return detail::client_category_instance; }
inline std::error_code make_error_code(client_errc e) noexcept { return {static_cast<int>(e), client_category()}; }

// Category of KV status codes; error_code::value() is the wire status. The category's
// default_error_condition() is the opcode-free mapping; use make_kv_error for opcode-aware
// mapping.
const std::error_category& kv_category() noexcept;
std::error_code make_error_code(status s) noexcept;

// Opcode-aware: returns an error_code (kv category variant for that opcode family) whose
// condition is correct for the operation, e.g. (add, key_eexists) -> document_exists,
// (set, key_eexists) with cas != 0 -> cas_mismatch, (unlock_key, locked) -> cas_mismatch-ish
// per protocol-facts section 3.5. The value() is still the wire status.
std::error_code make_kv_error(opcode op, status s, bool had_cas = false) noexcept;

// True for error codes of any KV-status category variant (value() is then the wire status).
[[nodiscard]] bool is_kv_error(const std::error_code& ec) noexcept;

// Temporary conditions worth retrying with backoff (etmpfail, ebusy, sync_write_in_progress, ...).
[[nodiscard]] bool is_retryable(status s) noexcept;
// Statuses after which the connection is not usable (auth_stale, ...), or a client_errc that
// means the stream is corrupt (invalid_magic, invalid_header, body_too_large).
[[nodiscard]] bool is_fatal(std::error_code ec) noexcept;

} // namespace couchkv::protocol

template <> struct std::is_error_code_enum<couchkv::protocol::client_errc> : std::true_type {};
template <> struct std::is_error_code_enum<couchkv::protocol::status> : std::true_type {};
