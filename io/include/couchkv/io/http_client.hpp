// An HTTP/1.1 client on Beast for the parts of Couchbase that speak HTTP: config bootstrap and
// streaming on the management port (8091 / 18091) and views on the CAPI port (8092 / 18092).
//
// One http_client talks to one endpoint (host:port, plain or TLS) with Basic auth. Requests may be
// issued concurrently: each takes an idle keep-alive connection or opens a new one, and gives it
// back when its response was read to the end. Every request completes exactly once:
//   - with the response, whatever its HTTP status (a 404 is the caller's to interpret),
//   - client_errc::timeout at its deadline (the connection is then closed),
//   - client_errc::connection_failed when resolve/connect/TLS handshake failed (nothing was sent),
//   - client_errc::connection_closed when the peer closed or reset mid-exchange,
//   - client_errc::malformed_http for a response that is not HTTP/1.1 (status line, headers,
//     chunking), client_errc::body_too_large for headers or a body above the configured limit,
//   - client_errc::cancelled after close().
// The response carries a human-readable detail of what failed.
#pragma once
#include <couchkv/io/initiate.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace couchkv::io {

namespace asio = boost::asio;

struct http_settings {
  std::string host{"127.0.0.1"};
  std::uint16_t port{8091};
  bool tls{false};
  asio::ssl::context* ssl_context{nullptr}; // required with tls; must outlive the client
  bool verify_hostname{true};
  std::string tls_server_name{};            // SNI and certificate name; empty: host
  std::string username{};                   // Basic auth when not empty
  std::string password{};
  std::chrono::milliseconds connect_timeout{10000};
  std::size_t max_body_bytes{64 * 1024 * 1024}; // buffered requests only; streams are unbounded
  std::size_t max_idle_connections{4};
  std::string user_agent{"couchkv"};
};

struct http_request {
  std::string method{"GET"}; // GET, POST, PUT, DELETE, HEAD
  std::string target{"/"};   // path and query, already encoded
  std::string body{};
  std::string content_type{}; // set with a body
  std::chrono::steady_clock::time_point deadline{std::chrono::steady_clock::now() + std::chrono::seconds(75)};
};

struct http_response {
  unsigned status{0};
  std::string content_type{};
  std::string body{};                                        // empty for streamed requests
  std::vector<std::pair<std::string, std::string>> headers{}; // as received
  std::string detail{};                                      // what failed, when it did
};

// Receives a streamed response body, piece by piece, in order. The first call carries the
// response head (status and headers, body empty) with `head == true`. Return false to stop
// reading: the request then completes successfully and its connection is closed.
using http_chunk_handler = std::function<bool(const http_response& head, std::string_view chunk, bool is_head)>;

struct http_client_stats {
  std::uint64_t requests{0};
  std::uint64_t connections_opened{0};
  std::uint64_t connections_reused{0};
};

class http_client : public std::enable_shared_from_this<http_client> {
public:
  using executor_type = asio::strand<asio::any_io_executor>;
  using request_signature = void(std::error_code, http_response);

  static std::shared_ptr<http_client> create(asio::any_io_executor ex, http_settings settings);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  [[nodiscard]] executor_type get_executor() const noexcept { return strand_; }
  [[nodiscard]] const http_settings& settings() const noexcept { return settings_; }

  // Sends the request and reads the whole response body (at most max_body_bytes).
  template <class Token>
  auto async_request(http_request request, Token&& token)
  {
    return detail::initiate<request_signature>(
        token,
        [self = shared_from_this()](auto handler, const asio::any_io_executor* ex, http_request req) {
          self->start(std::move(req), nullptr, std::move(handler), ex != nullptr ? *ex : self->strand_);
        },
        std::move(request));
  }

  // Sends the request and hands the body to on_chunk as it arrives (on the client's strand),
  // never holding more than one read buffer. Completes with the head (body empty) once the body
  // ended, on_chunk returned false, or an error occurred.
  template <class Token>
  auto async_stream(http_request request, http_chunk_handler on_chunk, Token&& token)
  {
    return detail::initiate<request_signature>(
        token,
        [self = shared_from_this()](auto handler, const asio::any_io_executor* ex, http_request req,
                                    http_chunk_handler cb) {
          self->start(std::move(req), std::move(cb), std::move(handler), ex != nullptr ? *ex : self->strand_);
        },
        std::move(request), std::move(on_chunk));
  }

  // Closes idle connections and aborts requests in flight (they complete with cancelled).
  void close();

  [[nodiscard]] http_client_stats stats() const;

  struct connection;

private:
  struct state;
  http_client(asio::any_io_executor ex, http_settings settings);
  void start(http_request req, http_chunk_handler on_chunk, asio::any_completion_handler<request_signature> handler,
             asio::any_io_executor handler_ex);

  executor_type strand_;
  http_settings settings_;
  std::shared_ptr<state> state_;
};

// "Basic <base64(user:password)>"
[[nodiscard]] std::string basic_authorization(std::string_view user, std::string_view password);

} // namespace couchkv::io
