#include "view_ops.hpp"

#include <couchkv/views/row_parser.hpp>

#include <couchkv/errors.hpp>
#include <couchkv/protocol/request.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>

#include <deque>

namespace couchkv::detail {


namespace {

// Failures where nothing reached the caller and another node may do better.
bool try_elsewhere(std::error_code ec)
{
  return ec == protocol::client_errc::connection_failed || ec == protocol::client_errc::not_connected ||
         ec == protocol::client_errc::connection_closed || ec == protocol::client_errc::handshake_failed;
}

std::string endpoint_name(const std::pair<std::string, std::uint16_t>& ep)
{
  return ep.first + ":" + std::to_string(ep.second);
}

// One streamed view query, with include_docs fetched through KV as rows arrive (rows wait, in
// order, only for their own document).
struct view_query_op : std::enable_shared_from_this<view_query_op> {
  explicit view_query_op(view_query q) : query(std::move(q)) {}
  std::shared_ptr<bucket_impl> impl;
  view_query query;
  encoded_view_request encoded;
  view_options opts;
  view_row_sink sink;
  view_done done;
  io::clock::time_point deadline;
  std::vector<std::pair<std::string, std::uint16_t>> endpoints;
  std::size_t first{0};
  std::size_t attempt{0};
  std::string errors; // per node, for the final detail

  std::unique_ptr<views::view_row_parser> parser;
  view_result result;
  std::uint64_t delivered{0};
  std::size_t buffered{0}; // bytes of the rows query() keeps
  bool stopped{false};
  bool finished{false};
  bool body_done{false};
  std::error_code body_ec;
  std::string body_detail;

  // include_docs: rows waiting for their document, in order.
  struct pending_row {
    view_row row;
    bool ready{false};
  };
  std::deque<std::shared_ptr<pending_row>> waiting;
  std::size_t docs_in_flight{0};

  void start()
  {
    endpoints = impl->http_endpoints(bucket_impl::http_service::views);
    if (endpoints.empty()) {
      return finish(make_error_code(couchkv::client_errc::feature_not_available), "no node of the cluster runs the views service");
    }
    first = impl->next_http_index();
    try_node();
  }

  void try_node()
  {
    auto ep = endpoints[(first + attempt) % endpoints.size()];
    parser = std::make_unique<views::view_row_parser>();
    result = {};
    io::http_request req;
    req.method = encoded.method;
    req.target = encoded.path;
    req.body = encoded.body;
    req.content_type = encoded.content_type;
    req.deadline = deadline;
    auto client = impl->http_client_for(ep.first, ep.second);
    auto self = shared_from_this();
    client->async_stream(
        std::move(req),
        [self](const io::http_response& head, std::string_view chunk, bool is_head) {
          return self->on_chunk(head, chunk, is_head);
        },
        asio::bind_executor(impl->executor(), [self, ep](std::error_code ec, io::http_response head) {
          self->on_complete(ec, std::move(head), ep);
        }));
  }

  bool on_chunk(const io::http_response& head, std::string_view chunk, bool is_head)
  {
    if (finished || stopped) return false;
    if (is_head) return true;
    if (auto ec = parser->feed(chunk)) return false; // reported at completion
    // Error bodies (non-2xx) are parsed but their rows never surface.
    if (head.status < 200 || head.status >= 300) return true;
    while (auto row = parser->next()) {
      if (!deliver(std::move(*row))) {
        stopped = true;
        return false;
      }
    }
    return true;
  }

  bool deliver(view_row&& row)
  {
    ++delivered;
    if (!query.include_docs() || row.id.empty()) {
      if (!waiting.empty()) {
        auto p = std::make_shared<pending_row>();
        p->row = std::move(row);
        p->ready = true;
        waiting.push_back(std::move(p));
        return true;
      }
      return hand_out(std::move(row));
    }
    auto p = std::make_shared<pending_row>();
    p->row = std::move(row);
    waiting.push_back(p);
    ++docs_in_flight;
    request_spec s;
    s.op = protocol::opcode::get;
    s.key = p->row.id;
    s.encode = [](protocol::byte_buffer& b, const protocol::doc_key& k) { protocol::append_get(b, 0, k); };
    impl->execute(std::move(s), [self = shared_from_this(), p](std::error_code ec, io::kv_response r, error_context) {
      --self->docs_in_flight;
      // A row whose document vanished since it was indexed keeps document == nullopt (as the
      // server's include_docs gives null).
      if (!ec && r.status() == protocol::status::success) p->row.document = std::string(r.value_string());
      p->ready = true;
      self->drain();
    });
    return true;
  }

  bool hand_out(view_row&& row)
  {
    if (sink) return sink(std::move(row));
    // query() keeps every row: bounded, or a server that streams without end fills the memory
    // before the deadline comes (query_stream keeps nothing).
    buffered += row.id.size() + row.key.size() + row.value.size() + (row.document ? row.document->size() : 0);
    if (buffered > opts.max_result_bytes) {
      body_ec = make_error_code(view_errc::result_too_large);
      body_detail = "the rows so far hold more than " + std::to_string(opts.max_result_bytes) +
                    " bytes (view_options::max_result_bytes); query_stream hands rows over without keeping them";
      return false;
    }
    result.rows.push_back(std::move(row));
    return true;
  }

  void drain()
  {
    while (!waiting.empty() && waiting.front()->ready && !stopped) {
      auto p = std::move(waiting.front());
      waiting.pop_front();
      if (!hand_out(std::move(p->row))) stopped = true;
    }
    if (stopped) waiting.clear();
    maybe_finish();
  }

  void on_complete(std::error_code ec, io::http_response head, const std::pair<std::string, std::uint16_t>& ep)
  {
    if (finished) return;
    if (ec && delivered == 0 && try_elsewhere(ec) && attempt + 1 < endpoints.size() && io::clock::now() < deadline) {
      errors += endpoint_name(ep) + ": " + head.detail + "; ";
      ++attempt;
      return try_node();
    }
    if (body_ec) {
      // Already decided (the result outgrew max_result_bytes): the stream was stopped for it.
    } else if (ec) {
      body_ec = ec;
      body_detail = errors + endpoint_name(ep) + ": " + head.detail;
    } else if (!stopped) {
      auto fec = parser->finish();
      if (head.status < 200 || head.status >= 300) {
        const auto& se = parser->server_error();
        body_ec = classify_view_error(head.status, se ? &*se : nullptr);
        body_detail = "HTTP " + std::to_string(head.status) + " from " + endpoint_name(ep) +
                      (se ? ": " + se->error + ": " + se->reason : std::string{});
      } else if (fec) {
        body_ec = fec;
        body_detail = parser->error().message() + " (from " + endpoint_name(ep) + ")";
      } else {
        while (auto row = parser->next()) {
          if (!deliver(std::move(*row))) {
            stopped = true;
            break;
          }
        }
      }
    }
    result.meta = parser->meta();
    body_done = true;
    maybe_finish();
  }

  void maybe_finish()
  {
    if (!body_done || finished) return;
    if (!body_ec && !stopped && (docs_in_flight > 0 || !waiting.empty())) return;
    finish(body_ec, body_detail);
  }

  void finish(std::error_code ec, std::string detail)
  {
    if (finished) return;
    finished = true;
    auto d = std::move(done);
    d(ec, std::move(result), std::move(detail));
  }
};

struct http_op : std::enable_shared_from_this<http_op> {
  std::shared_ptr<bucket_impl> impl;
  bucket_impl::http_service svc;
  io::http_request req;
  http_done done;
  std::vector<std::pair<std::string, std::uint16_t>> endpoints;
  std::size_t first{0}, attempt{0};
  std::string errors;

  void start()
  {
    endpoints = impl->http_endpoints(svc);
    if (endpoints.empty()) {
      io::http_response r;
      r.detail = svc == bucket_impl::http_service::views ? "no node of the cluster runs the views service"
                                                        : "no node of the cluster has a management port";
      return done(make_error_code(couchkv::client_errc::feature_not_available), std::move(r));
    }
    first = impl->next_http_index();
    try_node();
  }
  void try_node()
  {
    auto ep = endpoints[(first + attempt) % endpoints.size()];
    impl->http_client_for(ep.first, ep.second)
        ->async_request(req, asio::bind_executor(impl->executor(), [self = shared_from_this(), ep](std::error_code ec,
                                                                                                   io::http_response r) {
          if (ec && try_elsewhere(ec) && self->attempt + 1 < self->endpoints.size() && io::clock::now() < self->req.deadline) {
            self->errors += endpoint_name(ep) + ": " + r.detail + "; ";
            ++self->attempt;
            return self->try_node();
          }
          if (ec) r.detail = self->errors + endpoint_name(ep) + ": " + r.detail;
          self->done(ec, std::move(r));
        }));
  }
};

} // namespace

void run_view_query(const std::shared_ptr<bucket_impl>& impl, view_query q, view_options o, view_row_sink sink,
                    view_done done)
{
  asio::dispatch(impl->executor(), [impl, q = std::move(q), o, sink = std::move(sink), done = std::move(done)]() mutable {
    auto enc = q.encode(impl->name());
    if (!enc) return done(enc.error.ec, {}, enc.error.detail);
    if (impl->is_ketama()) {
      return done(make_error_code(couchkv::client_errc::feature_not_available), {}, "memcached buckets have no views");
    }
    auto op = std::make_shared<view_query_op>(std::move(q));
    op->impl = impl;
    op->encoded = std::move(*enc);
    op->opts = o;
    op->sink = std::move(sink);
    op->done = std::move(done);
    op->deadline = deadline_after(io::clock::now(), o.timeout);
    op->start();
  });
}

void run_http(const std::shared_ptr<bucket_impl>& impl, bucket_impl::http_service svc, io::http_request req,
              http_done done)
{
  asio::dispatch(impl->executor(), [impl, svc, req = std::move(req), done = std::move(done)]() mutable {
    auto op = std::make_shared<http_op>();
    op->impl = impl;
    op->svc = svc;
    op->req = std::move(req);
    op->done = std::move(done);
    op->start();
  });
}

} // namespace couchkv::detail
