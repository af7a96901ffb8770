// SCRAM (RFC 5802, no channel binding) primitives and both sides of the exchange, on OpenSSL 3.
// The client side is used by couchkv's bootstrap, the server side by the mock cluster, so the two
// are the same arithmetic (docs/protocol.md 6; the test vectors of RFC 5802 and RFC 7677).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace couchkv::protocol::scram {

enum class hash { sha1, sha256, sha512 };

// The most PBKDF2 iterations a client computes for a server. The work runs on the connection's
// thread during the handshake, outside any timer's reach: a server asking for 10,000,000 held it
// for 4-10 s. Servers use thousands (RFC 7677 asks for at least 4096; 10,000-15,000 is common);
// 100,000 costs tens of milliseconds and leaves a tenfold margin above them.
inline constexpr std::uint32_t max_iterations = 100'000;

[[nodiscard]] std::size_t digest_size(hash h) noexcept;
// "SCRAM-SHA1" etc. (no hyphen between SHA and the digits, as kv_engine spells them)
[[nodiscard]] std::string_view mechanism_name(hash h) noexcept;

[[nodiscard]] std::string base64_encode(std::string_view bytes);
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

[[nodiscard]] std::string hmac(hash h, std::string_view key, std::string_view data);
[[nodiscard]] std::string digest(hash h, std::string_view data);
[[nodiscard]] std::string salted_password(hash h, std::string_view password, std::string_view salt,
                                          std::uint32_t iterations);
[[nodiscard]] std::string client_proof(hash h, std::string_view salted, std::string_view auth_message);
[[nodiscard]] std::string server_signature(hash h, std::string_view salted, std::string_view auth_message);

// "n=user" escaping: ',' -> "=2C", '=' -> "=3D".
[[nodiscard]] std::string escape_username(std::string_view user);
[[nodiscard]] std::optional<std::string> unescape_username(std::string_view text);

struct server_first {
  std::string nonce;
  std::string salt; // decoded
  std::uint32_t iterations{0};
};
// Parses "r=..,s=..,i=..": every attribute exactly once, in that order, nothing unknown,
// iterations at least 1. Errors: client_errc::sasl_invalid_server_message, and
// client_errc::sasl_too_many_iterations above max_iterations.
[[nodiscard]] std::optional<server_first> parse_server_first(std::string_view msg, std::error_code& ec);

// The client half of one exchange.
class client {
public:
  client(hash h, std::string username, std::string password, std::string client_nonce);
  // "n,,n=<user>,r=<cnonce>"
  [[nodiscard]] std::string first_message() const;
  // From the server-first message: "c=biws,r=<nonce>,p=<proof>"; checks the nonce extends ours.
  [[nodiscard]] std::optional<std::string> final_message(std::string_view server_first_msg, std::error_code& ec);
  // Checks "v=<signature>"; "e=<error>" or a wrong signature fail.
  [[nodiscard]] std::error_code verify_server_final(std::string_view server_final_msg) const;

private:
  hash hash_;
  std::string username_;
  std::string password_;
  std::string client_nonce_;
  std::string auth_message_;
  std::string salted_;
};

// Per-user secrets a server stores.
struct credentials {
  std::string salt;
  std::uint32_t iterations{4096};
  std::string stored_key;
  std::string server_key;
};
[[nodiscard]] credentials make_credentials(hash h, std::string_view password, std::string salt,
                                           std::uint32_t iterations);

// The server half: given the client-first message, produce server-first; given client-final,
// verify the proof and produce server-final. `lookup` finds a user's credentials.
class server {
public:
  explicit server(hash h) noexcept : hash_(h) {}
  // Returns the username from the client-first message (so the caller can look the user up).
  [[nodiscard]] std::optional<std::string> parse_client_first(std::string_view msg, std::error_code& ec);
  [[nodiscard]] std::string server_first_message(const credentials& creds, std::string server_nonce_suffix);
  // On success returns "v=<signature>"; a bad proof is auth failure (status auth_error at the caller).
  [[nodiscard]] std::optional<std::string> verify_client_final(std::string_view msg, std::error_code& ec);

private:
  hash hash_;
  std::string client_first_bare_;
  std::string client_nonce_;
  std::string server_first_;
  std::string nonce_;
  credentials creds_;
};

} // namespace couchkv::protocol::scram
