// Internal: one accepted connection, plain TCP or TLS, as the KV and HTTP sessions see it. It is
// an AsyncReadStream / AsyncWriteStream (so asio::async_write and Beast's reads work on it) that
// forwards to the socket or to the TLS stream over it; closing always acts on the socket (the mock
// hangs up without a TLS close_notify, as a crashed or impatient server does).
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace couchkv::mock {

class server_stream {
public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  explicit server_stream(socket_type s) : plain_(std::move(s)) {}
  server_stream(socket_type s, boost::asio::ssl::context& tls) : tls_(std::in_place, std::move(s), tls) {}

  [[nodiscard]] executor_type get_executor() { return lowest().get_executor(); }
  [[nodiscard]] socket_type& lowest() { return tls_ ? tls_->next_layer() : *plain_; }
  [[nodiscard]] bool is_tls() const noexcept { return tls_.has_value(); }

  // The server side of the TLS handshake (TLS connections only).
  template <class Handler>
  void async_handshake(Handler&& h)
  {
    tls_->async_handshake(boost::asio::ssl::stream_base::server, std::forward<Handler>(h));
  }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& b, Handler&& h)
  {
    if (tls_) {
      tls_->async_read_some(b, std::forward<Handler>(h));
    } else {
      plain_->async_read_some(b, std::forward<Handler>(h));
    }
  }

  template <class Buffers, class Handler>
  void async_write_some(const Buffers& b, Handler&& h)
  {
    if (tls_) {
      tls_->async_write_some(b, std::forward<Handler>(h));
    } else {
      plain_->async_write_some(b, std::forward<Handler>(h));
    }
  }

  void shutdown(socket_type::shutdown_type what, boost::system::error_code& ec) { lowest().shutdown(what, ec); }
  void close(boost::system::error_code& ec) { lowest().close(ec); }
  void set_option(const boost::asio::ip::tcp::no_delay& o, boost::system::error_code& ec) { lowest().set_option(o, ec); }

private:
  std::optional<socket_type> plain_;
  std::optional<boost::asio::ssl::stream<socket_type>> tls_;
};

// Starts a KV or HTTP session: on a TLS port the handshake comes first, and a client that refuses
// the certificate (or speaks plain text to it) is dropped and counted.
template <class Session>
void start_session(const std::shared_ptr<Session>& self)
{
  if (!self->sock.is_tls()) {
    self->read();
    return;
  }
  self->sock.async_handshake([self](boost::system::error_code ec) {
    if (self->closed) return;
    if (ec) {
      ++self->cl.stats.tls_handshakes_failed;
      self->close();
      return;
    }
    self->read();
  });
}

} // namespace couchkv::mock
