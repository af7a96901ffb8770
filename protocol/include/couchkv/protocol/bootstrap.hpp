// The connection handshake as a sans-io state machine (Boost.MySQL's engine/algorithm split):
// HELLO + GET_ERROR_MAP + SASL_LIST_MECHS pipelined (as libcouchbase does), then SASL, then
// SELECT_BUCKET, then GET_CLUSTER_CONFIG. The I/O object only writes what it emits and feeds it
// every response; every path is tested on byte scripts.
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/error_map.hpp>
#include <couchkv/protocol/hello.hpp>
#include <couchkv/protocol/packet.hpp>
#include <couchkv/protocol/sasl.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace couchkv::protocol {

struct credentials {
  std::string username;
  std::string password;
};

struct bootstrap_settings {
  std::string agent{"couchkv/0.1"};
  std::vector<protocol::hello_feature> features{
      protocol::hello_feature::tcp_nodelay,     protocol::hello_feature::xerror,
      protocol::hello_feature::select_bucket,   protocol::hello_feature::mutation_seqno,
      protocol::hello_feature::json,            protocol::hello_feature::duplex,
      protocol::hello_feature::clustermap_change_notification, protocol::hello_feature::alt_request_support,
      protocol::hello_feature::sync_replication};
  std::optional<credentials> creds{};
  // TLS whose peer was verified (certificate chain and name): PLAIN may go over it. Not over TLS
  // without verification (tls_verify=none): the password would go to whoever answers.
  bool tls_verified{false};
  bool allow_plain{false}; // PLAIN anyway (memcached's only SASL mechanism), as the user asked
  std::vector<protocol::sasl_mechanism> mechanisms{protocol::sasl_mechanism::scram_sha512,
                                                   protocol::sasl_mechanism::scram_sha256,
                                                   protocol::sasl_mechanism::scram_sha1, protocol::sasl_mechanism::plain};
  // false for plain memcached servers: they do not answer HELLO (Debian's memcached 1.6 leaves it
  // unanswered, and with -S it drops a connection that sends anything but SASL before auth).
  bool hello{true};
  std::string bucket{};   // empty: no SELECT_BUCKET
  bool fetch_error_map{true};
  bool fetch_config{true};
  std::string client_nonce{}; // tests only
};

struct bootstrap_result {
  bool hello_supported{false};
  protocol::feature_set features{};
  std::optional<protocol::error_map> error_map{};
  std::optional<protocol::sasl_mechanism> mechanism{};
  bool bucket_selected{false};
  std::optional<std::string> config_json{};
};

class bootstrap_fsm {
public:
  enum class action { write, wait, done, failed };

  explicit bootstrap_fsm(bootstrap_settings settings);

  // The first requests (pipelined): action::write, or action::done when there is nothing to say.
  action start(protocol::byte_buffer& out);
  // One response packet. Requests to send next are appended to `out` (action::write).
  action on_response(const protocol::packet_view& p, protocol::byte_buffer& out);

  [[nodiscard]] const bootstrap_result& result() const noexcept { return result_; }
  [[nodiscard]] std::error_code error() const noexcept { return ec_; }
  // Which step failed and what the server said.
  [[nodiscard]] const std::string& error_detail() const noexcept { return detail_; }

private:
  enum class phase { hello, auth, select_bucket, config, done, failed };
  action fail(std::error_code ec, std::string detail);
  action after_hello_batch(protocol::byte_buffer& out);
  action after_auth(protocol::byte_buffer& out);
  action after_select(protocol::byte_buffer& out);
  action send_auth(protocol::byte_buffer& out);

  bootstrap_settings settings_;
  bootstrap_result result_{};
  protocol::sasl_client sasl_;
  phase phase_{phase::hello};
  unsigned outstanding_{0}; // responses still due in the hello batch
  std::optional<std::vector<protocol::sasl_mechanism>> server_mechs_{};
  bool list_mechs_failed_{false};
  std::error_code ec_{};
  std::string detail_{};
};

} // namespace couchkv::protocol
