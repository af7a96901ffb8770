#include <couchkv/io/http_client.hpp>
#include <couchkv/io/stream.hpp>
#include <couchkv/protocol/errors.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <openssl/evp.h>

#include <array>
#include <optional>
#include <set>

namespace couchkv::io {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using sys_error = boost::system::error_code;
using protocol::client_errc;

std::string basic_authorization(std::string_view user, std::string_view password)
{
  std::string plain;
  plain.reserve(user.size() + 1 + password.size());
  plain.append(user).push_back(':');
  plain.append(password);
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

// One keep-alive connection, plain or TLS, over Beast's tcp_stream for its per-operation timeouts.
struct http_client::connection {
  template <class Executor>
  connection(const Executor& ex, asio::ssl::context* tls) : s(beast::tcp_stream(ex), tls)
  {
  }
  basic_stream<beast::tcp_stream> s;
  std::optional<tcp::resolver> resolver; // while resolving its endpoint
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return s.next_layer(); }
  void close()
  {
    if (resolver) resolver->cancel();
    s.close();
  }
};

struct http_client::state {
  std::vector<std::unique_ptr<connection>> idle;
  std::set<connection*> busy;
  http_client_stats stats;
  bool closed{false};
};

namespace {

struct failure {
  std::error_code ec;
  std::string detail;
};

std::error_code transport_error(const sys_error& ec)
{
  if (ec == beast::error::timeout) return make_error_code(client_errc::timeout);
  if (ec == asio::error::operation_aborted) return make_error_code(client_errc::cancelled);
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated)
    return make_error_code(client_errc::connection_closed);
  if (ec == http::error::body_limit || ec == http::error::header_limit) return make_error_code(client_errc::body_too_large);
  if (ec.category() == sys_error(http::error::bad_version).category()) return make_error_code(client_errc::malformed_http);
  return make_error_code(client_errc::connection_closed);
}

http::verb parse_verb(std::string_view m) { return http::string_to_verb(m); }

} // namespace

http_client::http_client(asio::any_io_executor ex, http_settings settings)
    : strand_(asio::make_strand(std::move(ex))), settings_(std::move(settings)), state_(std::make_shared<state>())
{
}

http_client::~http_client() = default;

std::shared_ptr<http_client> http_client::create(asio::any_io_executor ex, http_settings settings)
{
  return std::shared_ptr<http_client>(new http_client(std::move(ex), std::move(settings)));
}

http_client_stats http_client::stats() const
{
  // Read on the caller's thread: good enough for tests and tools (counters only grow).
  return state_->stats;
}

void http_client::close()
{
  asio::dispatch(strand_, [st = state_] {
    st->closed = true;
    for (auto& c : st->idle) c->close();
    st->idle.clear();
    for (auto* c : st->busy) c->close();
  });
}

void http_client::start(http_request request, http_chunk_handler chunk_handler,
                        asio::any_completion_handler<request_signature> handler, asio::any_io_executor handler_ex)
{
  auto run = [](std::shared_ptr<http_client> self, http_request req,
                http_chunk_handler on_chunk) -> asio::awaitable<std::pair<std::error_code, http_response>> {
    auto& st = *self->state_;
    const auto& cfg = self->settings_;
    http_response out;
    auto fail = [&](std::error_code ec, std::string detail) {
      out.detail = std::move(detail);
      return std::pair<std::error_code, http_response>{ec, std::move(out)};
    };
    if (st.closed) co_return fail(make_error_code(client_errc::cancelled), "HTTP client closed");
    const auto verb = parse_verb(req.method);
    if (verb == http::verb::unknown) co_return fail(make_error_code(client_errc::invalid_argument), "unknown HTTP method " + req.method);
    ++st.stats.requests;

    const auto where = cfg.host + ":" + std::to_string(cfg.port);
    sys_error ec;
    std::unique_ptr<connection> conn;
    bool reused = false;
    // Busy from the start, connecting included, so close() reaches it (and the resolver) at once.
    struct unbusy {
      state& s;
      connection* c{nullptr};
      ~unbusy()
      {
        if (c) s.busy.erase(c);
      }
    } guard{st};
    // A step that failed because close() cut it short reports that, not the step's own error.
    auto closed = [&] { return fail(make_error_code(client_errc::cancelled), "HTTP client closed"); };
    if (!st.idle.empty()) {
      conn = std::move(st.idle.back());
      st.idle.pop_back();
      reused = true;
      ++st.stats.connections_reused;
    } else {
      if (cfg.tls && !cfg.ssl_context) {
        co_return fail(make_error_code(client_errc::invalid_argument), "TLS requested without an SSL context");
      }
      conn = std::make_unique<connection>(self->strand_, cfg.tls ? cfg.ssl_context : nullptr);
      st.busy.insert(conn.get());
      guard.c = conn.get();
      conn->resolver.emplace(self->strand_);
      auto endpoints = co_await conn->resolver->async_resolve(cfg.host, std::to_string(cfg.port),
                                                              asio::redirect_error(asio::use_awaitable, ec));
      conn->resolver.reset();
      if (st.closed) co_return closed();
      if (ec) co_return fail(make_error_code(client_errc::connection_failed), "resolving " + cfg.host + ": " + ec.message());
      auto connect_deadline = std::min(req.deadline, std::chrono::steady_clock::now() + cfg.connect_timeout);
      conn->lowest().expires_at(connect_deadline);
      co_await conn->lowest().async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
      if (st.closed) co_return closed();
      if (ec) {
        co_return fail(ec == beast::error::timeout ? make_error_code(client_errc::timeout)
                                                   : make_error_code(client_errc::connection_failed),
                       "connecting to " + where + ": " + ec.message());
      }
      conn->lowest().socket().set_option(tcp::no_delay(true), ec);
      if (conn->s.is_tls()) {
        const auto& name = cfg.tls_server_name.empty() ? cfg.host : cfg.tls_server_name;
        if (!conn->s.set_server_name(name, cfg.verify_hostname)) {
          conn->close();
          co_return fail(make_error_code(client_errc::handshake_failed), "TLS: cannot set SNI host name " + name);
        }
        co_await conn->s.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
        if (st.closed) co_return closed();
        if (ec) {
          conn->close();
          co_return fail(ec == beast::error::timeout ? make_error_code(client_errc::timeout)
                                                     : make_error_code(client_errc::handshake_failed),
                         "TLS handshake with " + where + ": " + conn->s.failure_reason(ec));
        }
      }
      ++st.stats.connections_opened;
    }
    if (st.closed) co_return closed();
    if (!guard.c) {
      st.busy.insert(conn.get());
      guard.c = conn.get();
    }

    http::request<http::string_body> hreq{verb, req.target, 11};
    hreq.set(http::field::host, where);
    hreq.set(http::field::user_agent, cfg.user_agent);
    hreq.set(http::field::accept, "application/json");
    if (!cfg.username.empty()) hreq.set(http::field::authorization, basic_authorization(cfg.username, cfg.password));
    if (!req.body.empty() || verb == http::verb::post || verb == http::verb::put) {
      if (!req.content_type.empty()) hreq.set(http::field::content_type, req.content_type);
      hreq.body() = std::move(req.body);
      hreq.prepare_payload();
    }
    hreq.keep_alive(true);

    conn->lowest().expires_at(req.deadline);
    co_await http::async_write(conn->s, hreq, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      conn->close();
      auto e = transport_error(ec);
      // A kept-alive connection the server closed while idle: nothing was processed; say so.
      co_return fail(reused && e == client_errc::connection_closed ? make_error_code(client_errc::not_connected) : e,
                     "sending " + req.method + " " + req.target + " to " + where + ": " + ec.message());
    }

    auto copy_head = [&](const auto& msg) {
      out.status = msg.result_int();
      for (const auto& f : msg) {
        out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        if (f.name() == http::field::content_type) out.content_type = std::string(f.value());
      }
    };

    bool keep = false;
    if (!on_chunk) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(cfg.max_body_bytes);
      parser.header_limit(64 * 1024);
      co_await http::async_read(conn->s, conn->buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        conn->close();
        auto e = transport_error(ec);
        if (reused && e == client_errc::connection_closed && !parser.got_some()) e = make_error_code(client_errc::not_connected);
        co_return fail(e, "reading the response to " + req.method + " " + req.target + " from " + where + ": " + ec.message());
      }
      auto msg = parser.release();
      copy_head(msg);
      out.body = std::move(msg.body());
      keep = msg.keep_alive();
    } else {
      http::response_parser<http::buffer_body> parser;
      parser.body_limit(boost::none);
      parser.header_limit(64 * 1024);
      co_await http::async_read_header(conn->s, conn->buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        conn->close();
        auto e = transport_error(ec);
        if (reused && e == client_errc::connection_closed && !parser.got_some()) e = make_error_code(client_errc::not_connected);
        co_return fail(e, "reading the response head to " + req.method + " " + req.target + " from " + where + ": " + ec.message());
      }
      copy_head(parser.get());
      bool go_on = on_chunk(out, {}, true);
      std::array<char, 16384> buf{};
      while (go_on && !parser.is_done()) {
        // The deadline holds whatever the server's pace: Beast's per-operation timer is never the
        // one to fire while every read completes at once (a server that never pauses), so it is
        // checked here too, once per piece (up to 16 KiB).
        if (std::chrono::steady_clock::now() >= req.deadline) {
          conn->close();
          co_return fail(make_error_code(client_errc::timeout),
                         "reading the body of " + req.method + " " + req.target + " from " + where +
                             ": the deadline passed while the server was still sending");
        }
        parser.get().body().data = buf.data();
        parser.get().body().size = buf.size();
        // read_some: hand over whatever arrived (a config stream sends a little, then waits for the
        // next change); async_read would wait to fill the whole buffer.
        co_await http::async_read_some(conn->s, conn->buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == http::error::need_buffer) ec = {};
        if (ec) {
          conn->close();
          co_return fail(transport_error(ec), "reading the body of " + req.method + " " + req.target + " from " + where + ": " + ec.message());
        }
        const auto n = buf.size() - parser.get().body().size;
        if (n > 0) go_on = on_chunk(out, std::string_view(buf.data(), n), false);
      }
      keep = go_on && parser.is_done() && parser.get().keep_alive();
    }

    if (keep && !st.closed && st.idle.size() < cfg.max_idle_connections) {
      conn->lowest().expires_never();
      st.idle.push_back(std::move(conn));
    } else {
      conn->close();
    }
    co_return std::pair<std::error_code, http_response>{std::error_code{}, std::move(out)};
  };

  asio::co_spawn(
      strand_, run(shared_from_this(), std::move(request), std::move(chunk_handler)),
      [h = std::move(handler), ex = std::move(handler_ex)](std::exception_ptr e,
                                                           std::pair<std::error_code, http_response> r) mutable {
        if (e) {
          r.first = make_error_code(client_errc::connection_closed);
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& x) {
            r.second.detail = x.what();
          } catch (...) {
            r.second.detail = "unknown failure";
          }
        }
        asio::dispatch(ex, [h = std::move(h), r = std::move(r)]() mutable { std::move(h)(r.first, std::move(r.second)); });
      });
}

} // namespace couchkv::io
