// One HTTP/1.1 connection on a management or views port: keep-alive, pipelined requests answered
// in order, chunked bodies, config streams, and a 400 (then a lingering close) for anything Beast
// cannot parse.
#include "http.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

namespace couchkv::mock {

namespace {
constexpr std::size_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 8 * 1024 * 1024;
constexpr std::size_t chunk_size = 16 * 1024;
constexpr std::string_view config_delimiter = "\n\n\n\n"; // between streamed configs (lcb CONFIG_DELIMITER)

std::string hex(std::size_t n)
{
  char b[20];
  auto [end, ec] = std::to_chars(b, b + sizeof b, n, 16);
  (void)ec;
  return std::string(b, end);
}
} // namespace

http_session::http_session(cluster::impl& c, std::size_t n, http_service s, io::stream so)
  : cl(c), node(n), service(s), sock(std::move(so)), linger_timer(cl.io)
{
}

void http_session::start()
{
  start_session(shared_from_this()); // TLS handshake first on a TLS port
}

void http_session::close()
{
  if (closed) return;
  closed = true;
  linger_timer.cancel();
  sock.close();
}

void http_session::close_after_reply()
{
  if (routing) {
    closing = true;
  } else {
    close();
  }
}

void http_session::read()
{
  if (closed || closing) return;
  parser.emplace();
  parser->header_limit(header_limit);
  parser->body_limit(body_limit);
  http::async_read_header(sock, buf, *parser, [self = shared_from_this()](sys_error ec, std::size_t) {
    if (self->closed) return;
    if (ec) return self->on_read_error(ec);
    self->on_header();
  });
}

void http_session::on_header()
{
  if (stream_bucket) {
    // A config stream is one request per connection: the client is not following the protocol.
    close();
    return;
  }
  const auto& req = parser->get();
  if (req.version() >= 11 && boost::beast::iequals(req[http::field::expect], "100-continue") && !parser->is_done()) {
    queue("HTTP/1.1 100 Continue\r\n\r\n");
  }
  http::async_read(sock, buf, *parser, [self = shared_from_this()](sys_error ec, std::size_t) {
    if (self->closed) return;
    if (ec) return self->on_read_error(ec);
    self->on_request();
  });
}

void http_session::on_read_error(sys_error ec)
{
  if (stream_bucket || ec.category() != http::make_error_code(http::error::end_of_stream).category() ||
      ec == http::error::end_of_stream || ec == http::error::partial_message) {
    close(); // the client left (or the socket failed): nobody to answer
    return;
  }
  // Unparseable input: the framing is lost, so answer and hang up.
  http_reply r;
  if (ec == http::error::body_limit) {
    r = error_reply(413, "request_too_large", "body larger than " + std::to_string(body_limit) + " bytes");
  } else if (ec == http::error::header_limit) {
    r = error_reply(400, "bad_request", "header larger than " + std::to_string(header_limit) + " bytes");
  } else {
    r = error_reply(400, "bad_request", "malformed HTTP request: " + ec.message());
  }
  respond(r, 11, false);
}

void http_session::on_request()
{
  auto req = parser->release();
  parser.reset();
  ++cl.stats.http_requests;
  if (sock.is_tls()) ++cl.stats.tls_http_requests;
  http_reply r;
  routing = true;
  try {
    r = service == http_service::mgmt ? route_management(cl, node, req) : route_views(cl, req);
  } catch (const std::exception& e) {
    r = error_reply(500, "internal_error", e.what());
  }
  routing = false;
  if (closed) return;
  bool keep_alive = req.keep_alive() && !closing;
  chunked_stream = req.version() >= 11;
  if (r.stream_bucket && r.status == 200) {
    stream_bucket = r.stream_bucket;
    stream_verbose = r.stream_verbose;
    stream_host = r.stream_host;
    // HTTP/1.0 has no chunks: the stream is the raw body, ended by closing.
    respond(r, req.version(), keep_alive && chunked_stream);
    if (!closing) {
      send_stream_config();
      read(); // only to notice the client leaving
    }
    return;
  }
  if (req.method() == http::verb::head) {
    r.chunked = false; // the header of the GET answer, no body
    head_only = true;
  }
  respond(r, req.version(), keep_alive);
  head_only = false;
  // Backpressure: the next request is read once this answer is on its way, so a client that
  // pipelines without reading cannot make the mock queue answers without bound.
  if (out.empty()) {
    read();
  } else {
    read_after_flush = true;
  }
}

void http_session::respond(const http_reply& r, unsigned version, bool keep_alive)
{
  bool chunked = (r.chunked || r.stream_bucket) && version >= 11;
  std::string head = version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
  auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  head += std::to_string(r.status) + " " + std::string(reason.empty() ? "Unknown" : reason) + "\r\n";
  head += "Server: Couchbase Server 7.2.0-mock\r\n";
  head += "Content-Type: application/json\r\n";
  head += "Cache-Control: no-cache\r\n";
  for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
  if (chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (!r.stream_bucket) {
    head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (version < 11) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  if (!keep_alive && !r.stream_bucket) closing = true; // a stream ends when the client leaves
  if (r.stream_bucket) {
    chunked_stream = chunked;
    queue(std::move(head));
    return;
  }
  if (!chunked) {
    queue(head_only ? head : head + r.body);
    return;
  }
  queue(std::move(head));
  // One write per chunk, so clients see the body arrive in pieces.
  for (std::size_t at = 0; at < r.body.size(); at += chunk_size) {
    send_chunk(std::string_view(r.body).substr(at, chunk_size));
  }
  queue("0\r\n\r\n");
}

void http_session::send_chunk(std::string_view data)
{
  if (data.empty()) return; // an empty chunk would end the body
  if (!chunked_stream) {
    queue(std::string(data));
    return;
  }
  std::string c = hex(data.size()) + "\r\n";
  c += data;
  c += "\r\n";
  queue(std::move(c));
}

void http_session::config_changed()
{
  if (!stream_bucket || closed || (cl.rev == streamed_rev && cl.epoch == streamed_epoch)) return;
  send_stream_config();
}

void http_session::send_stream_config()
{
  auto it = cl.buckets.find(*stream_bucket);
  if (it == cl.buckets.end()) return;
  std::string cfg = stream_verbose ? verbose_config(cl, it->second, stream_host) : cl.config_json(it->second);
  cfg += config_delimiter;
  streamed_rev = cl.rev;
  streamed_epoch = cl.epoch;
  send_chunk(cfg);
}

void http_session::queue(std::string bytes)
{
  if (closed) return;
  out.push_back(std::move(bytes));
  flush();
}

void http_session::flush()
{
  if (write_busy || closed) return;
  if (out.empty()) {
    if (closing) {
      linger();
    } else if (read_after_flush) {
      read_after_flush = false;
      read();
    }
    return;
  }
  write_busy = true;
  // deque::push_back keeps references valid: front() stays put while later replies queue up.
  asio::async_write(sock, asio::buffer(out.front()), [self = shared_from_this()](sys_error ec, std::size_t) {
    self->write_busy = false;
    if (self->closed) return;
    if (ec) {
      self->close(); // the client left mid-response
      return;
    }
    self->out.pop_front();
    self->flush();
  });
}

// Closing with unread input makes the kernel send RST, which can destroy the answer before the
// client reads it (a 400 for a huge header). So: stop sending, read until the client closes (or
// two seconds pass), then close.
void http_session::linger()
{
  if (closed || !drain_buf.empty()) return;
  sys_error ignored;
  sock.socket().shutdown(tcp::socket::shutdown_send, ignored);
  drain_buf.resize(4096);
  linger_timer.expires_after(std::chrono::seconds(2));
  linger_timer.async_wait([self = shared_from_this()](sys_error ec) {
    if (!ec) self->close();
  });
  drain();
}

void http_session::drain()
{
  sock.async_read_some(asio::buffer(drain_buf), [self = shared_from_this()](sys_error ec, std::size_t) {
    if (ec || self->closed) {
      self->close();
      return;
    }
    self->drain();
  });
}

} // namespace couchkv::mock
