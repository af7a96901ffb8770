// Internal to kv_connection (kv_connection.cpp: the engine; kv_connect.cpp: connect, TLS and the
// handshake): the connection's state and the per-request records.
#pragma once
#include <couchkv/io/kv_connection.hpp>
#include <couchkv/io/stream.hpp>

#include "deadline_queue.hpp"
#include "op_table.hpp"

#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/errors.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <list>
#include <optional>
#include <utility>
#include <vector>

namespace couchkv::io {

namespace conn_detail {

using tcp = asio::ip::tcp;
using protocol::client_errc;
using sys_error = boost::system::error_code;

inline constexpr std::size_t initial_read_buffer = 64 * 1024;

// Completions never run inline: the user's handler may start new operations, which must not
// re-enter the table being walked.
template <class Handler, class... Args>
void post_completion(const asio::any_io_executor& ex, Handler h, Args... args)
{
  asio::post(ex, [h = std::move(h), ... args = std::move(args)]() mutable { std::move(h)(std::move(args)...); });
}
template <class Handler, class... Args>
void dispatch_completion(const asio::any_io_executor& ex, Handler h, Args... args)
{
  asio::dispatch(ex, [h = std::move(h), ... args = std::move(args)]() mutable { std::move(h)(std::move(args)...); });
}

// Bytes from the server the decoder refused (`decode_ec`), as the connection reports them: that
// error, or kv_port_speaks_http when they are an HTTP response -- a management port given as a KV
// port -- with the response's first line and how to write such a port. `what` begins the detail.
inline std::pair<std::error_code, std::string> undecodable(std::string_view what, protocol::bytes_view data,
                                                           std::error_code decode_ec, std::uint16_t port)
{
  if (!protocol::looks_like_http(data)) return {decode_ec, std::string(what) + ": " + decode_ec.message()};
  auto text = protocol::as_string_view(data.first(std::min<std::size_t>(data.size(), 80)));
  auto printable = std::find_if(text.begin(), text.end(), [](char c) { return c < 0x20 || c > 0x7e; });
  const std::string first_line(text.begin(), printable);
  const auto p = std::to_string(port);
  return {make_error_code(client_errc::kv_port_speaks_http),
          std::string(what) + ": port " + p + " answered in HTTP (\"" + first_line +
              "\"): it is an HTTP port, not a KV port. The management port (8091, 18091 with TLS) bootstraps over "
              "HTTP; another HTTP port is written host:" + p + "=http"};
}

// An executor the completion must go through; empty (the common case) when it is the connection's
// own. Optional rather than an empty any_io_executor: moving that one costs type-erased calls.
using completion_executor = std::optional<asio::any_io_executor>;

// The requests of one execute_batch call share a deadline: one entry here instead of one per
// request in the deadline queue. It lives while any of its requests is pending.
struct batch_group {
  clock::time_point deadline;
  std::size_t left{0}; // requests still pending
  std::list<batch_group>::iterator self;
};

// A request in flight: whom to tell, under which index. Single requests and batches alike.
struct pending {
  response_sink* sink{nullptr};
  std::size_t index{0};
  batch_group* group{nullptr}; // a batch's request: the group holds its deadline
  clock::time_point deadline{clock::time_point::max()}; // a single request's
  std::uint64_t seq{0}; // position in the write order (see kv_connection::impl::written_upto)
  // STAT answers with one packet per statistic and ends with an empty-key packet: the packets
  // are gathered here (whole, header included) and delivered together with the terminator.
  // Owned (deleted by complete() and by ~impl): a plain pointer keeps `pending` trivially
  // copyable, so the table moves it as a few words.
  protocol::byte_buffer* collected{nullptr};
  bool deadline_ordered{false}; // its deadline is in deadline_queue's ordered set, not the FIFO
  std::uint8_t opcode{0};       // the request's: its response must carry the same
};

static_assert(std::is_trivially_copyable_v<pending>, "the table copies entries as plain words");
using op_table = detail::op_table<pending>;
using detail::deadline_queue;

// async_execute's adaptor: the handler (type-erased once) behind a sink. Allocated from the
// thread's handler cache; destroys itself when told.
class handler_sink final : public response_sink {
public:
  using handler_type = asio::any_completion_handler<kv_connection::execute_signature>;
  static handler_sink* make(handler_type&& h, completion_executor&& ex)
  {
    void* mem = io::detail::pooled_allocate(sizeof(handler_sink));
    return ::new (mem) handler_sink(std::move(h), std::move(ex));
  }
  // Refused before it was sent: completes through the executor, never inside the caller's call.
  void refuse(const asio::any_io_executor& connection_ex, std::error_code ec)
  {
    gone g{this};
    post_completion(ex_ ? *ex_ : connection_ex, std::move(handler_), ec, kv_response{});
  }
  // The handler's slot, when it has one connected (the connection then assigns it).
  [[nodiscard]] asio::cancellation_slot cancellation_slot() noexcept
  {
    auto slot = asio::get_associated_cancellation_slot(handler_);
    has_slot_ = slot.is_connected();
    return slot;
  }
  void on_response(std::size_t, const protocol::packet_view& p) override { finish({}, kv_response(p)); }
  void on_error(std::size_t, std::error_code ec) override { finish(ec, kv_response{}); }
  void on_abandoned(std::size_t) noexcept override { gone g{this}; } // destroyed, never run

private:
  handler_sink(handler_type&& h, completion_executor&& ex) : handler_(std::move(h)), ex_(std::move(ex)) {}
  // Destroys the sink at the end of the scope, also when the handler throws.
  struct gone {
    handler_sink* s;
    ~gone()
    {
      s->~handler_sink();
      io::detail::pooled_deallocate(s, sizeof(handler_sink));
    }
  };
  // Only ever inside one of the connection's own completions (read, timer, cancellation, close),
  // so the handler may run inline when its executor allows (the Asio rule for continuations). It
  // is called in place (any_completion_handler frees its own block before the call); the sink goes
  // after it.
  void finish(std::error_code ec, kv_response&& r)
  {
    gone g{this};
    if (has_slot_) asio::get_associated_cancellation_slot(handler_).clear();
    if (!ex_) std::move(handler_)(ec, std::move(r));
    else dispatch_completion(*ex_, std::move(handler_), ec, std::move(r));
  }
  handler_type handler_;
  completion_executor ex_;
  bool has_slot_{false};
};

} // namespace conn_detail

using conn_detail::batch_group;
using conn_detail::completion_executor;
using conn_detail::op_table;
using conn_detail::pending;

struct kv_connection::impl {
  // Requests still pending (the io_context stopped with them in flight) are abandoned: their
  // sinks release what they hold (response_sink::on_abandoned).
  ~impl();
  using tcp = conn_detail::tcp;
  using client_errc = protocol::client_errc;
  using deadline_queue = conn_detail::deadline_queue;

  impl(executor_type ex, connection_settings s)
      : settings(std::move(s)), sock(tcp::socket(ex), settings.tls ? settings.ssl_context : nullptr), timer(ex),
        resolver(ex)
  {
  }

  connection_settings settings;
  connection_counters* owner_counters{settings.counters.get()}; // the owner's, if any (kept alive by settings)
  io::stream sock; // plain or TLS
  asio::steady_timer timer;
  tcp::resolver resolver;

  enum class state { idle, connecting, open, draining, closed } st{state::idle};
  bootstrap_result boot;
  std::string detail;

  op_table ops;
  deadline_queue deadlines;
  std::list<batch_group> batches; // the deadlines of execute_batch's requests, one per call
  clock::time_point armed_for{clock::time_point::max()};
  // Is a deadline entry's operation still in flight (and the same one)?
  [[nodiscard]] auto live() noexcept
  {
    return [this](const deadline_queue::entry& e) {
      const pending* op = ops.find(e.opaque);
      return op != nullptr && op->seq == e.seq;
    };
  }

  // Requests are numbered in the order their bytes go out. An operation "was written" (the server
  // may have run it) when its number is at most written_upto, or while an asynchronous write
  // that holds it is in flight (part of it may be on the wire): a failure then reports
  // connection_closed, never the retry-safe not_connected.
  protocol::byte_buffer queued;   // requests waiting for the next flush
  std::uint64_t queued_last{0};   // number of the last request in `queued`
  protocol::byte_buffer writing;  // the asynchronous write in flight
  std::uint64_t writing_last{0};
  std::uint64_t written_upto{0};
  std::uint64_t next_seq{0};
  bool write_in_flight{false};
  bool flush_scheduled{false};

  protocol::byte_buffer rbuf = protocol::byte_buffer(conn_detail::initial_read_buffer);
  std::size_t rstart{0};
  std::size_t rend{0};
  bool reading{false};
  bool dispatching{false}; // inside dispatch_packets: handlers' new requests wait for one flush

  std::function<void(const protocol::packet_view&)> server_request_cb;
  std::function<void(std::error_code)> close_cb;
  // Written on the executor, read by stats() from any thread: relaxed atomics (counters only).
  struct counters {
    std::atomic<std::uint64_t> completed{0}, timeouts{0}, cancelled{0}, orphans{0}, flushes{0};
    void bump(std::atomic<std::uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  } stats;

  // The engine; every member function runs on the connection's executor. `self` keeps the
  // connection alive across the asynchronous steps.
  // A request's end: its response (p), or its error (p null). Tells its sink.
  void complete(kv_connection& c, std::uint32_t opaque, std::error_code ec, const protocol::packet_view* p);
  // The same for the entry found under `opaque`.
  void complete(kv_connection& c, std::uint32_t opaque, const pending& entry, std::error_code ec,
                const protocol::packet_view* p);
  // Adds one request (not a batch's) to the table and the write queue; the checks are the caller's.
  std::uint32_t enqueue(kv_connection& c, protocol::bytes_view packet,
                        clock::time_point deadline, response_sink& sink, std::size_t index);
  [[nodiscard]] std::error_code refusal(protocol::bytes_view packet, clock::time_point deadline);
  void schedule_flush(kv_connection& c);
  void expire_batches(kv_connection& c, clock::time_point now);
  std::error_code execute_batch(const std::shared_ptr<kv_connection>& self, protocol::bytes_view packets,
                                std::size_t count, clock::time_point deadline, batch_sink& sink);
  [[nodiscard]] bool was_written(std::uint64_t seq) const
  {
    return seq <= written_upto || (write_in_flight && seq <= writing_last);
  }
  void arm_timer(kv_connection& c);
  void flush(kv_connection& c);
  void read(const std::shared_ptr<kv_connection>& self);
  bool dispatch_packets(const std::shared_ptr<kv_connection>& self);
  void fail(const std::shared_ptr<kv_connection>& self, std::error_code reason, std::string why);
  void execute(const std::shared_ptr<kv_connection>& self, kv_request&& req,
               asio::any_completion_handler<execute_signature>&& handler, completion_executor&& handler_ex);
  std::error_code execute_sink(kv_connection& c, protocol::bytes_view packet,
                               clock::time_point deadline, response_sink& sink, std::size_t index);
  // Resolve, connect, TLS handshake, bootstrap (kv_connect.cpp); the error, with `detail` set.
  asio::awaitable<std::error_code> connect(std::shared_ptr<kv_connection> self);
};

} // namespace couchkv::io
