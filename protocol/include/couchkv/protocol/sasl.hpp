// SASL over MCBP (docs/protocol.md 6): request builders, the mechanism list, and a sans-io client that
// picks the strongest common mechanism and runs PLAIN or SCRAM-SHA1/256/512.
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/scram.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace couchkv::protocol {

enum class sasl_mechanism { scram_sha512, scram_sha256, scram_sha1, plain };

[[nodiscard]] std::string_view to_string(sasl_mechanism m) noexcept;
[[nodiscard]] std::optional<sasl_mechanism> parse_sasl_mechanism(std::string_view name) noexcept;
// Space-separated list from SASL_LIST_MECHS; names we do not implement (OAUTHBEARER, CRAM-MD5) are
// skipped.
[[nodiscard]] std::vector<sasl_mechanism> parse_sasl_mechanisms(std::string_view list);

void append_sasl_list_mechs(byte_buffer& out, std::uint32_t opaque);
void append_sasl_auth(byte_buffer& out, std::uint32_t opaque, std::string_view mechanism, std::string_view data);
void append_sasl_step(byte_buffer& out, std::uint32_t opaque, std::string_view mechanism, std::string_view data);

// One authentication, sans-io:
//   auto mech = client.choose(server_list, ec);      // SASL_AUTH key
//   auto first = client.start();                     // SASL_AUTH value
//   on AuthContinue: auto next = client.step(value, ec);  // SASL_STEP value
//   on Success: ec = client.finish(value);           // verifies the SCRAM server signature
class sasl_client {
public:
  struct options {
    bool allow_plain{false}; // PLAIN sends the password in clear: only over TLS unless allowed
    std::vector<sasl_mechanism> allowed{sasl_mechanism::scram_sha512, sasl_mechanism::scram_sha256,
                                        sasl_mechanism::scram_sha1, sasl_mechanism::plain};
    std::string client_nonce{}; // tests only; empty = 16 random hex chars
  };

  sasl_client(std::string username, std::string password, options opts);
  sasl_client(std::string username, std::string password) : sasl_client(std::move(username), std::move(password), options{}) {}

  // Strongest mechanism the server offers and we allow (SCRAM-SHA512 > 256 > 1 > PLAIN).
  [[nodiscard]] std::optional<sasl_mechanism> choose(const std::vector<sasl_mechanism>& server_mechs,
                                                     std::error_code& ec);
  // Forces a mechanism (servers that do not list mechanisms, e.g. old memcached).
  void use(sasl_mechanism m);
  [[nodiscard]] sasl_mechanism mechanism() const noexcept { return mech_; }
  [[nodiscard]] std::string start();
  [[nodiscard]] std::optional<std::string> step(std::string_view server_data, std::error_code& ec);
  [[nodiscard]] std::error_code finish(std::string_view server_data) const;

private:
  std::string username_;
  std::string password_;
  options opts_;
  sasl_mechanism mech_{sasl_mechanism::plain};
  std::optional<scram::client> scram_{};
};

} // namespace couchkv::protocol
