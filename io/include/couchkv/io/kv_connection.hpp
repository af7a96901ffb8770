// One KV connection (TCP or TLS): pipelined writes coalesced into one buffer per flush, responses
// matched by opaque, per-operation deadlines and cancellation, a bounded number in flight.
//
// Every operation completes exactly once:
//   - with the response (whatever its status),
//   - client_errc::timeout at its deadline, client_errc::cancelled when its cancellation slot fires
//     (a late response is then dropped and counted as an orphan),
//   - client_errc::queue_full when too many are in flight (nothing was sent),
//   - client_errc::not_connected when the connection is not open or died before the request was
//     written (nothing was sent: safe to retry anywhere),
//   - client_errc::connection_closed when it died after the request was written (it may have run).
//
// The connection runs on the executor it is created with and adds no strand of its own (as
// Beast's streams and Boost.Redis's connection): with one thread running the context nothing
// more is needed; with several, pass a strand. Every entry point dispatches to that executor, so
// it may be called from any thread. No mutex.
#pragma once
#include <couchkv/protocol/bootstrap.hpp>
#include <couchkv/io/handler_allocator.hpp>
#include <couchkv/io/initiate.hpp>
#include <couchkv/io/kv_response.hpp>
#include <couchkv/io/response_sink.hpp>
#include <couchkv/protocol/decoder.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>

namespace boost::asio::ssl {
class context;
}

namespace couchkv::io {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

// The handshake is sans-io (protocol/bootstrap.hpp); a connection's settings carry its types.
using protocol::bootstrap_fsm;
using protocol::bootstrap_result;
using protocol::bootstrap_settings;
using protocol::credentials;

struct kv_request {
  protocol::byte_buffer packet;                 // one complete request; its opaque is overwritten
  clock::time_point deadline{clock::time_point::max()};
};

// An empty buffer to build the next request in. The connection copies each request into its
// write queue and keeps the emptied buffer in a small cache of the thread it runs on; this takes
// one from the calling thread's cache, so a client that builds its requests here allocates no
// buffer per request once warm (empty, without capacity, when the cache is).
[[nodiscard]] protocol::byte_buffer request_buffer() noexcept;

// Counts a connection keeps for an owner that outlives it (a node_pool's slot, across
// reconnects), so that the owner needs no layer of its own around each completion: shared,
// atomic, readable from any thread. Optional (connection_settings::counters).
struct connection_counters {
  std::atomic<std::size_t> in_flight{0};   // accepted, not yet completed
  std::atomic<std::uint64_t> succeeded{0}; // completed with a response (any status)
  std::atomic<std::uint64_t> failed{0};    // completed with an error, or refused (async_execute, execute)
  std::atomic<clock::rep> last_heard{0};   // when bytes last arrived (clock ticks)

  void heard(clock::time_point t) noexcept { last_heard.store(t.time_since_epoch().count(), std::memory_order_relaxed); }
};

struct connection_settings {
  std::string host{"127.0.0.1"};
  std::uint16_t port{11210};
  bool tls{false};
  asio::ssl::context* ssl_context{nullptr}; // required with tls; must outlive the connection
  bool verify_hostname{true};
  std::string tls_server_name{}; // SNI and the name the certificate must carry; empty: host
  std::chrono::milliseconds connect_timeout{10000};
  bool run_bootstrap{true}; // false: a bare connection (no HELLO/SASL), for tests and tools
  bootstrap_settings bootstrap{};
  std::size_t max_in_flight{65536};
  protocol::decoder_limits limits{};
  std::shared_ptr<connection_counters> counters{}; // kept up to date when set
};

struct connection_stats {
  std::uint64_t completed{0};
  std::uint64_t timeouts{0};
  std::uint64_t cancelled{0};
  std::uint64_t orphans{0};  // responses nobody waited for any more
  std::uint64_t flushes{0};  // socket writes (one per coalesced batch)
};

class kv_connection : public std::enable_shared_from_this<kv_connection> {
public:
  using executor_type = asio::any_io_executor;
  using execute_signature = void(std::error_code, kv_response);
  using connect_signature = void(std::error_code);

  static std::shared_ptr<kv_connection> create(asio::any_io_executor ex, connection_settings settings);
  ~kv_connection();
  kv_connection(const kv_connection&) = delete;
  kv_connection& operator=(const kv_connection&) = delete;

  [[nodiscard]] executor_type get_executor() const noexcept { return ex_; }

  // Resolve, connect, TLS handshake, bootstrap. On failure last_error_detail() says which step.
  template <class Token>
  auto async_connect(Token&& token)
  {
    return detail::initiate<connect_signature>(
        token, [self = shared_from_this()](auto handler, const asio::any_io_executor* ex) {
          self->start_connect(std::move(handler), ex != nullptr ? *ex : self->ex_);
        });
  }

  template <class Token>
  auto async_execute(kv_request request, Token&& token)
  {
    return detail::initiate<execute_signature>(
        token,
        [self = shared_from_this()](auto handler, const asio::any_io_executor* ex, kv_request req) {
          self->start_execute(self, std::move(req), std::move(handler), ex);
        },
        std::move(request));
  }

  // async_execute for a layer that holds the handler type-erased already (node_pool): it is not
  // erased a second time. `handler_ex`: the executor it must complete on, or null for this
  // connection's. The handler's cancellation slot and allocator are its own (any_completion_handler
  // keeps them).
  void execute(kv_request request, asio::any_completion_handler<execute_signature> handler,
               const asio::any_io_executor* handler_ex = nullptr)
  {
    start_execute(shared_from_this(), std::move(request), std::move(handler), handler_ex);
  }

  // One request answered through `sink` under `index` (see response_sink.hpp): no handler, no
  // executor, no copy of the response. Must be called on the connection's executor; `packet` (one
  // complete request; its opaque is replaced) is copied before this returns. Refused (nothing
  // sent, the sink never told) with not_connected, queue_full, timeout (deadline passed) or
  // invalid_argument (not one complete request).
  [[nodiscard]] std::error_code execute(protocol::bytes_view packet, clock::time_point deadline, response_sink& sink,
                                        std::size_t index = 0);

  // Several requests in one write, each answered through `sink` (no handler, executor or
  // allocation per request): `packets` holds `count` complete requests back to back, request k
  // told as index k (the opaques are the connection's: whatever `packets` has there is replaced).
  // One deadline for all of them. Must be called on the connection's executor. `packets` is
  // copied before this returns: the caller keeps its buffer (and may fill it for the next batch).
  // Refused as a whole (nothing sent, the sink never called) with not_connected, queue_full (not
  // room for all of them), timeout (deadline passed) or invalid_argument (no request, a STAT, or
  // packets that are not `count` complete requests).
  [[nodiscard]] std::error_code execute_batch(protocol::bytes_view packets, std::size_t count,
                                              clock::time_point deadline, batch_sink& sink);

  // Immediate close: every pending operation completes (not_connected / connection_closed).
  void close();
  // Refuse new operations, let those in flight finish (or time out), then close.
  void close_gracefully();

  // Called on the executor for server-initiated requests (magic 0x82), e.g. clustermap pushes.
  void on_server_request(std::function<void(const protocol::packet_view&)> cb);
  // Called once, on the executor, when an open connection dies (with the reason).
  void on_close(std::function<void(std::error_code)> cb);

  [[nodiscard]] bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  // Valid once async_connect completed successfully.
  [[nodiscard]] const bootstrap_result& bootstrap() const noexcept;
  [[nodiscard]] const std::string& last_error_detail() const noexcept;
  [[nodiscard]] connection_stats stats() const noexcept;
  [[nodiscard]] const connection_settings& settings() const noexcept;

private:
  struct impl;
  kv_connection(asio::any_io_executor ex, connection_settings settings);
  void start_connect(asio::any_completion_handler<connect_signature> handler, asio::any_io_executor handler_ex);
  // handler_ex: the executor the handler is associated with; null when it has none (ours).
  // self: this connection (the initiation holds it already).
  void start_execute(const std::shared_ptr<kv_connection>& self, kv_request req,
                     asio::any_completion_handler<execute_signature> handler, const asio::any_io_executor* handler_ex);

  executor_type ex_;
  std::unique_ptr<impl> impl_;
  std::atomic<bool> open_{false};
  std::atomic<std::size_t> in_flight_{0};
};

} // namespace couchkv::io
