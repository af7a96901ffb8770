// Connection strings:
//   couchbase://h1,h2:11210/bucket?kv_timeout=2.5s   plain KV (default port 11210)
//   couchbases://h1/bucket?ca_file=/path/ca.pem       TLS (default port 11207)
//   memcached://h1:11211,h2:11212                     memcached-bucket mode over plain memcached
// Hosts may be names, IPv4 or bracketed IPv6 ([::1]:11210). What a port speaks:
//   couchbase://h:8091     the management port: bootstrap over HTTP from it (as libcouchbase), the
//                          configs then follow its streaming URI instead of CCCP
//   couchbases://h:18091   the same over HTTPS
//   h:port=http            a management port at another number (a mock, a proxy, a remapped
//                          container): over HTTP, or HTTPS under couchbases://
//   h:port=mcd, h:port=kv  KV, whatever the number
//   any other port         KV (plain under couchbase://, TLS under couchbases://)
// A bare standard port of the other security level is an error that says what to write:
// couchbase://h:18091 or h:11207 (TLS ports), couchbases://h:8091 or h:11210 (plain ports); with
// "=http" / "=kv" the port is taken as written. An HTTP port given as a KV port fails the
// connection at once (client_errc::kv_port_speaks_http) when the server answers in HTTP.
// Durations: "250ms", "2.5s", "1m", "100us", or a plain number of seconds ("2.5").
#pragma once
#include <couchkv/topology/errors.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv::topology {

enum class scheme { couchbase, couchbases, memcached };

struct endpoint {
  std::string host; // IPv6 without brackets
  std::uint16_t port{0};
  bool http{false}; // bootstrap over the management port
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

// tls_verify=peer (the default) checks the server's certificate chain against ca_file (or the
// system's CAs) and its name. tls_verify=none checks nothing: UNSAFE -- anyone on the path can
// pose as the server and read everything, so it is for tests against a throwaway certificate
// only; with it, couchkv does not offer SASL PLAIN (the password in clear) unless
// allow_plain_auth=true asks for that too.
enum class tls_verify { peer, none };

struct connection_options {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds kv_timeout{2500};
  std::chrono::milliseconds view_timeout{75000};
  std::chrono::milliseconds durability_timeout{5000};
  std::chrono::milliseconds durability_interval{100};
  std::chrono::milliseconds config_poll_interval{2500};
  std::chrono::milliseconds config_poll_floor{50};
  std::uint32_t kv_pool_size{1};
  std::uint32_t max_queue_size{65536}; // in-flight operations per connection
  std::vector<std::string> sasl_mechanisms{}; // empty: strongest available
  bool allow_plain_auth{false};               // PLAIN over a plain-text connection
  tls_verify verify{tls_verify::peer};
  std::string ca_file{};
  bool enable_mutation_tokens{true};
  bool enable_unordered_execution{false};
  std::string user_agent{};
  // retry_strategy=fail_fast (the default) | best_effort: the bucket's default retry strategy
  // (couchkv::retry_strategy).
  bool retry_best_effort{false};
};

struct connection_string {
  topology::scheme scheme{topology::scheme::couchbase};
  std::vector<endpoint> endpoints;
  std::string bucket;
  connection_options options{};

  [[nodiscard]] bool tls() const noexcept { return scheme == topology::scheme::couchbases; }
  [[nodiscard]] std::uint16_t default_port() const noexcept;
};

// Errors name the offending part: "option \"kv_timout\" is unknown", "port 99999 of host \"h1\"".
[[nodiscard]] std::optional<connection_string> parse_connection_string(std::string_view text, config_error& err);

[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;

} // namespace couchkv::topology
