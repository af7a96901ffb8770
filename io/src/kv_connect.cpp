// kv_connection's way up: resolve, connect, TLS handshake, and the bootstrap handshake (HELLO,
// SASL, SELECT_BUCKET, error map, config: the sans-io protocol::bootstrap_fsm) - each bounded by
// the connect timeout. Failures are returned as error codes, with impl::detail saying which step.
#include "kv_connection_impl.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace couchkv::io {

using namespace conn_detail;

asio::awaitable<std::error_code> kv_connection::impl::connect(std::shared_ptr<kv_connection> self)
{
  using namespace asio::experimental::awaitable_operators;
  sys_error ec;

  // Resolve and connect, both racing the connect timeout. An address needs no resolver (Asio's
  // resolves on a thread of its own, which an io_context told it runs single-threaded cannot take).
  asio::steady_timer deadline(self->ex_);
  deadline.expires_after(settings.connect_timeout);
  std::vector<tcp::endpoint> endpoints;
  if (auto address = asio::ip::make_address(settings.host, ec); !ec) {
    endpoints.emplace_back(address, settings.port);
  } else {
    ec = {};
    auto resolved = co_await (resolver.async_resolve(settings.host, std::to_string(settings.port),
                                                     asio::redirect_error(asio::use_awaitable, ec)) ||
                              deadline.async_wait(asio::use_awaitable));
    if (resolved.index() == 1) {
      detail = "resolving " + settings.host + " timed out";
      st = state::closed;
      resolver.cancel();
      co_return make_error_code(client_errc::timeout);
    }
    if (ec) {
      detail = "resolving " + settings.host + ": " + ec.message();
      st = state::closed;
      co_return make_error_code(client_errc::connection_failed);
    }
    for (const auto& e : std::get<0>(resolved)) endpoints.push_back(e.endpoint());
  }
  auto result = co_await (asio::async_connect(sock.socket(), endpoints, asio::redirect_error(asio::use_awaitable, ec)) ||
                          deadline.async_wait(asio::use_awaitable));
  if (result.index() == 1) {
    detail = "connecting to " + settings.host + ":" + std::to_string(settings.port) + " timed out";
    st = state::closed;
    sock.close();
    co_return make_error_code(client_errc::timeout);
  }
  if (ec) {
    detail = "connecting to " + settings.host + ":" + std::to_string(settings.port) + ": " + ec.message();
    st = state::closed;
    co_return make_error_code(client_errc::connection_failed);
  }
  sock.socket().set_option(tcp::no_delay(true), ec);
  // flush() writes directly when the socket takes the bytes and never blocks on it.
  sock.socket().non_blocking(true, ec);

  if (sock.is_tls()) {
    const auto& name = settings.tls_server_name.empty() ? settings.host : settings.tls_server_name;
    if (!sock.set_server_name(name, settings.verify_hostname)) {
      detail = "TLS: cannot set SNI host name " + name;
      st = state::closed;
      co_return make_error_code(client_errc::handshake_failed);
    }
    auto hs = co_await (sock.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec)) ||
                        deadline.async_wait(asio::use_awaitable));
    if (hs.index() == 1 || ec) {
      detail = hs.index() == 1 ? "TLS handshake timed out" : "TLS handshake: " + sock.failure_reason(ec);
      st = state::closed;
      sock.close();
      co_return make_error_code(client_errc::handshake_failed);
    }
  }

  if (settings.run_bootstrap) {
    bootstrap_fsm fsm(settings.bootstrap);
    protocol::byte_buffer out;
    auto act = fsm.start(out);
    while (act != bootstrap_fsm::action::done) {
      if (act == bootstrap_fsm::action::failed) {
        detail = fsm.error_detail();
        st = state::closed;
        sock.close();
        co_return fsm.error();
      }
      if (act == bootstrap_fsm::action::write) {
        co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
        out.clear();
        if (ec) break;
      }
      // Read until the FSM has a complete packet to chew on.
      auto r = protocol::decode_packet({rbuf.data() + rstart, rend - rstart}, settings.limits);
      while (r.state == protocol::decode_state::need_more) {
        if (rend == rbuf.size()) rbuf.resize(std::max(rbuf.size() * 2, r.needed));
        std::size_t n = 0;
        auto rd = co_await (sock.async_read_some(asio::buffer(rbuf.data() + rend, rbuf.size() - rend),
                                                 asio::redirect_error(asio::use_awaitable, ec)) ||
                            deadline.async_wait(asio::use_awaitable));
        if (rd.index() == 1) {
          // Not a byte back: perhaps no KV server at all (an HTTP server waits for a request line).
          detail = rend != 0 ? "handshake timed out"
                             : "handshake timed out without a byte from port " + std::to_string(settings.port) +
                                   " (is it a KV port? An HTTP port is written host:" + std::to_string(settings.port) +
                                   "=http)";
          st = state::closed;
          sock.close();
          co_return make_error_code(client_errc::timeout);
        }
        n = std::get<0>(rd);
        if (ec) break;
        rend += n;
        r = protocol::decode_packet({rbuf.data() + rstart, rend - rstart}, settings.limits);
      }
      if (ec) break;
      if (r.state == protocol::decode_state::error) {
        auto [bad, why] = undecodable("undecodable handshake response", {rbuf.data() + rstart, rend - rstart}, r.ec,
                                      settings.port);
        detail = std::move(why);
        st = state::closed;
        sock.close();
        co_return bad;
      }
      rstart += r.consumed;
      act = fsm.on_response(r.packet, out);
    }
    if (ec) {
      detail = "connection lost during the handshake: " + ec.message();
      st = state::closed;
      sock.close();
      co_return make_error_code(client_errc::connection_closed);
    }
    boot = fsm.result();
  }
  st = state::open;
  self->open_.store(true, std::memory_order_release);
  // Anything that arrived behind the last handshake response (a config push) is handled now.
  if (dispatch_packets(self)) read(self);
  co_return std::error_code{};
}

} // namespace couchkv::io
