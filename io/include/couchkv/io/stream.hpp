// One connection's byte stream, plain TCP or TLS over it, behind one interface: the KV connection,
// the HTTP client and the mock cluster's sessions all read and write through it.
//
// basic_stream<NextLayer> is an AsyncReadStream and AsyncWriteStream (asio::async_write and
// Beast's HTTP reads and writes work on it) that forwards each operation to the TLS stream or,
// without TLS, to the next layer itself: a tcp::socket, or Beast's tcp_stream where per-operation
// timeouts are wanted. The handler passes through unchanged (its executor and allocator too).
// close() always acts on the socket: no TLS close_notify, as a crashed or impatient peer does;
// the protocols on top (KV, HTTP) say themselves where a message ends.
#pragma once
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace couchkv::io {

template <class NextLayer>
class basic_stream {
public:
  using next_layer_type = NextLayer;
  using tls_stream_type = boost::asio::ssl::stream<NextLayer>;
  using executor_type = typename NextLayer::executor_type;
  using socket_type = boost::asio::ip::tcp::socket;

  // Plain: reads and writes go to `next` itself.
  explicit basic_stream(NextLayer next) : plain_(std::in_place, std::move(next)) {}
  // TLS over `next` with the context `tls` (which must outlive the stream); plain when tls is null.
  basic_stream(NextLayer next, boost::asio::ssl::context* tls)
  {
    if (tls) {
      tls_.emplace(std::move(next), *tls);
    } else {
      plain_.emplace(std::move(next));
    }
  }

  [[nodiscard]] executor_type get_executor() { return next_layer().get_executor(); }
  [[nodiscard]] bool is_tls() const noexcept { return tls_.has_value(); }
  [[nodiscard]] NextLayer& next_layer() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
  [[nodiscard]] socket_type& socket() noexcept
  {
    if constexpr (std::is_same_v<NextLayer, socket_type>) {
      return next_layer();
    } else {
      return next_layer().socket();
    }
  }

  // Before a client handshake: Server Name Indication carries `name` unless it is an IP address
  // (RFC 6066, 3: "Literal IPv4 and IPv6 addresses are not permitted"; a server may refuse the
  // handshake over one); with verify_hostname the certificate must name it (a DNS name, or an IP
  // address SAN for an address). The name is checked by OpenSSL's own verification (SSL_set1_host,
  // the IP parameter), so a mismatch is recorded as such (see failure_reason). False when OpenSSL
  // refuses the name. Nothing to do without TLS.
  [[nodiscard]] bool set_server_name(const std::string& name, bool verify_hostname)
  {
    if (!tls_) return true;
    boost::system::error_code not_an_address;
    (void)boost::asio::ip::make_address(name, not_an_address);
    SSL* ssl = tls_->native_handle();
    if (not_an_address && !SSL_set_tlsext_host_name(ssl, name.c_str())) return false;
    if (!verify_hostname) return true;
    if (!not_an_address) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, name.c_str()) == 1;
  }

  // Why a handshake failed, in words a user can act on: with TLS, the certificate check's own
  // verdict when it failed ("certificate has expired", "hostname mismatch", "IP address mismatch",
  // "self-signed certificate", "unable to get local issuer certificate", ...), else `ec`'s message.
  [[nodiscard]] std::string failure_reason(const boost::system::error_code& ec)
  {
    if (tls_) {
      const long verdict = SSL_get_verify_result(tls_->native_handle());
      if (verdict != X509_V_OK) {
        return std::string("certificate verification failed: ") + X509_verify_cert_error_string(verdict) + " (" +
               ec.message() + ")";
      }
    }
    return ec.message();
  }

  // The TLS handshake as client or server; without TLS it completes at once, successfully.
  template <class Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Token&& token)
  {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this, type](auto handler) {
          if (tls_) {
            tls_->async_handshake(type, std::move(handler));
          } else {
            auto ex = get_executor();
            boost::asio::post(ex, boost::asio::append(std::move(handler), boost::system::error_code{}));
          }
        },
        token);
  }

  // A completion handler goes straight to the layer below (the hot path of a KV connection: no
  // initiation object, no extra move of the handler); other completion tokens (use_awaitable,
  // deferred, ...) go through async_initiate, so that both branches produce one return type.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token)
  {
    if constexpr (is_handler<Token>) {
      if (tls_) {
        tls_->async_read_some(buffers, std::forward<Token>(token));
      } else {
        plain_->async_read_some(buffers, std::forward<Token>(token));
      }
    } else {
      return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
          [this](auto handler, const MutableBuffers& b) {
            if (tls_) {
              tls_->async_read_some(b, std::move(handler));
            } else {
              plain_->async_read_some(b, std::move(handler));
            }
          },
          token, buffers);
    }
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token)
  {
    if constexpr (is_handler<Token>) {
      if (tls_) {
        tls_->async_write_some(buffers, std::forward<Token>(token));
      } else {
        plain_->async_write_some(buffers, std::forward<Token>(token));
      }
    } else {
      return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
          [this](auto handler, const ConstBuffers& b) {
            if (tls_) {
              tls_->async_write_some(b, std::move(handler));
            } else {
              plain_->async_write_some(b, std::move(handler));
            }
          },
          token, buffers);
    }
  }

  // Shuts the socket down in both directions and closes it; errors are of no interest here.
  void close() noexcept
  {
    boost::system::error_code ignored;
    socket().shutdown(socket_type::shutdown_both, ignored);
    socket().close(ignored);
  }

private:
  // A completion handler proper, as opposed to a completion token that makes one.
  template <class Token>
  static constexpr bool is_handler =
      std::is_invocable_v<std::decay_t<Token>&, boost::system::error_code, std::size_t> &&
      std::is_move_constructible_v<std::decay_t<Token>>;

  std::optional<NextLayer> plain_;
  std::optional<tls_stream_type> tls_;
};

// The stream of a KV connection and of the mock's sessions.
using stream = basic_stream<boost::asio::ip::tcp::socket>;

} // namespace couchkv::io
