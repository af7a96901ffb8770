// The protocol layer's error codes, Boost.MySQL style: one enum per source, each with its own
// std::error_category.
//
//  * protocol::status          -- server KV status; error_code value == wire value (kv_category).
//  * protocol::client_errc     -- errors detected by the client's codec and connection (invalid
//                                 packets, SASL, timeouts, closed connections).
//
// The portable conditions users compare against (couchkv::errc) and the facade's own errors are in
// couchkv/errors.hpp; the conditions know every code of this file.
//
// KV status codes are opcode-dependent in meaning (EXISTS is "document exists" for ADD and
// "CAS mismatch" for SET/REPLACE/DELETE with a CAS), so make_kv_error() picks a kv category
// variant per opcode family (kv_family): value() stays the wire status, the family says how to
// read it (docs/protocol.md 3.5).
#pragma once
#include <couchkv/protocol/opcode.hpp>
#include <couchkv/protocol/status.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

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
  key_too_long,            // above 250 bytes
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
  sasl_too_many_iterations, // SCRAM: the server asks for more PBKDF2 rounds than scram::max_iterations
  key_empty,                // a document key of 0 bytes
  malformed_response,       // a success that lacks what its opcode promises (protocol/response_shape.hpp)
  kv_port_speaks_http,      // the KV port answered in HTTP: a management port given as a KV port
  malformed_http,           // an HTTP response that is not HTTP/1.1 (bad status line, header, chunking)
};

namespace detail {
// Constant-initialised, so client_category() is a plain reference: every `ec == client_errc::x`
// on an operation's path costs no call and no guard check.
class client_category_impl final : public std::error_category {
public:
  constexpr client_category_impl() noexcept = default;
  const char* name() const noexcept override;
  std::string message(int v) const override;
};
extern const client_category_impl client_category_instance;
} // namespace detail

inline const std::error_category& client_category() noexcept { return detail::client_category_instance; }
inline std::error_code make_error_code(client_errc e) noexcept { return {static_cast<int>(e), client_category()}; }

// Category of KV status codes; error_code::value() is the wire status.
const std::error_category& kv_category() noexcept;
std::error_code make_error_code(status s) noexcept;

// How a status reads depends on the operation: each family is a category variant of its own.
enum class kv_family {
  generic,
  insert,       // ADD: KeyEexists and NotStored mean "document exists"
  cas_mutation, // SET/REPLACE/DELETE/APPEND/PREPEND with a CAS: KeyEexists is a CAS mismatch
  replace,      // REPLACE: NotStored means "document not found"
  concat,       // APPEND/PREPEND: NotStored means "document not found"
  unlock,       // UNLOCK: Locked means the CAS is not the lock's
};

// An error_code for `s` answering `op` (in the category variant of the opcode's family). The
// value() is still the wire status.
std::error_code make_kv_error(opcode op, status s, bool had_cas = false) noexcept;

// The family of a KV-status error code; nullopt for any other code.
[[nodiscard]] std::optional<kv_family> kv_family_of(const std::error_code& ec) noexcept;

// What the status means for that family, in a few words ("document exists"); empty when the
// status has no meaning beyond its name.
[[nodiscard]] std::string_view kv_meaning(kv_family f, status s) noexcept;

// True for error codes of any KV-status category variant (value() is then the wire status).
[[nodiscard]] bool is_kv_error(const std::error_code& ec) noexcept;

// Temporary conditions worth retrying with backoff (etmpfail, ebusy, sync_write_in_progress, ...).
[[nodiscard]] bool is_retryable(status s) noexcept;
// Statuses after which the connection is not usable (auth_stale, ...), or a client_errc that
// means the stream is corrupt (invalid_magic, invalid_header, body_too_large) or not KV at all
// (kv_port_speaks_http). Not malformed_response: its framing was intact, so the stream is too.
[[nodiscard]] bool is_fatal(std::error_code ec) noexcept;

} // namespace couchkv::protocol

template <> struct std::is_error_code_enum<couchkv::protocol::client_errc> : std::true_type {};
template <> struct std::is_error_code_enum<couchkv::protocol::status> : std::true_type {};
