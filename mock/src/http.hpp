// Internal: the mock's HTTP side (docs/protocol.md 7.4 and 8). One http_session per connection on a
// node's management or views port (Beast parses; the session writes the bytes itself so it can
// send chunked bodies and endless config streams), and the routes that answer the requests.
// Everything runs on the mock's thread, like the KV sessions.
#pragma once
#include "kv_session.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv::mock {

namespace http = boost::beast::http;
using http_request = http::request<http::string_body>;

// What a route answers. The session turns it into bytes.
struct http_reply {
  unsigned status{200};
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; // besides Content-Type/Length, Server
  bool chunked{false};                      // body in 16 KiB chunks (view results)
  std::optional<std::string> stream_bucket; // answer with this bucket's config, then every new one
  bool stream_verbose{false};
  std::string stream_host;                  // replaces $HOST in a verbose stream
};

// ---- helpers shared by the routes (http_routes.cpp) -----------------------------------------------

// "%41+b" -> "A b" (plus_is_space for query strings); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

struct http_target {
  std::vector<std::string> segments;              // decoded path segments, no empty ones
  std::multimap<std::string, std::string> params; // decoded query
};
std::optional<http_target> parse_target(std::string_view target);

http_reply json_reply(unsigned status, const nlohmann::json& body);
// CouchDB's error shape: {"error":"not_found","reason":"missing"}.
http_reply error_reply(unsigned status, std::string_view error, std::string_view reason);

// Who the Basic credentials name: the admin, a bucket (user = bucket name), or nobody.
struct http_identity {
  bool valid{false};
  bool admin{false};
  std::string bucket;
  [[nodiscard]] bool may_access(std::string_view b) const { return admin || (valid && bucket == b); }
};
http_identity authenticate(const cluster::impl& cl, const http_request& req);
http_reply unauthorized();

// The Host header's host ("[v6]" kept in brackets), or the mock's own when absent or odd.
std::string request_host(const cluster::impl& cl, const http_request& req);
// The verbose config of /pools/default/buckets/<b>, $HOST replaced by host.
std::string verbose_config(const cluster::impl& cl, const bucket_state& b, std::string_view host);

http_reply route_management(cluster::impl& cl, std::size_t node, const http_request& req);
http_reply route_views(cluster::impl& cl, const http_request& req);

// ---- one connection -------------------------------------------------------------------------------

struct http_session : std::enable_shared_from_this<http_session> {
  http_session(cluster::impl& c, std::size_t n, http_service s, io::stream sock);

  void start(); // the TLS handshake first on a TLS port
  void close();
  // Closes now, or after the reply being built if this session is the one asking.
  void close_after_reply();
  // A new config revision: a config stream sends it.
  void config_changed();

private:
  template <class Session>
  friend void start_session(const std::shared_ptr<Session>& self); // stream.hpp
  void read();
  void on_header();
  void on_request();
  void on_read_error(sys_error ec);
  void respond(const http_reply& r, unsigned version, bool keep_alive);
  void send_stream_config();
  void send_chunk(std::string_view data);
  void queue(std::string bytes);
  void flush();
  void linger();
  void drain();

  cluster::impl& cl;
  std::size_t node;
  http_service service;
  io::stream sock;
  asio::steady_timer linger_timer;
  boost::beast::flat_buffer buf;
  std::optional<http::request_parser<http::string_body>> parser;
  std::deque<std::string> out;
  std::string drain_buf;
  bool write_busy{false};
  bool closed{false};
  bool closing{false};  // no more requests; close once `out` is written
  bool routing{false};  // a route is running for this session right now
  bool chunked_stream{true};
  bool head_only{false};        // answering HEAD: no body
  bool read_after_flush{false}; // read the next request once `out` is written
  std::optional<std::string> stream_bucket;
  bool stream_verbose{false};
  std::string stream_host;
  std::int64_t streamed_rev{-1};
  std::int64_t streamed_epoch{-1};
};

} // namespace couchkv::mock
