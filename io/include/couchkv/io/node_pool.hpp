// N KV connections to one node, kept up: each operation goes to the least-loaded open connection;
// a connection that dies (or fails its health check) is replaced after a jittered, doubling backoff,
// forever, until the pool is closed.
//
// Every operation completes exactly once, with what kv_connection says (see kv_connection.hpp), or:
//   - client_errc::not_connected when the pool is not running (not started, closing or closed), or
//     when no connection is open and wait_for_connection is off (nothing was sent: retry anywhere);
//   - client_errc::timeout when it waited for a connection to come up and its deadline (or
//     max_connection_wait) passed first (nothing was sent);
//   - client_errc::cancelled when its cancellation slot fires while it waits for a connection;
//   - client_errc::queue_full when every open connection has max_in_flight operations.
// Waiting (the default) is bounded: by the request's deadline and by max_connection_wait.
//
// The pool holds itself alive only while a graceful close is pending; dropping the last reference
// closes every connection (like close()). The pool and its connections run on the executor it is
// created with (no strand of their own: pass a strand if several threads run the context); every
// entry point dispatches there, so it may be called from any thread. stats() reads atomics.
#pragma once
#include <couchkv/io/handler_allocator.hpp>
#include <couchkv/io/kv_connection.hpp>

#include <boost/asio/detached.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace couchkv::io {

struct pool_settings {
  connection_settings connection{}; // the template every connection is made from
  std::size_t size{1};              // connections (>= 1)
  // Reconnect backoff: initial, doubling per consecutive failure, capped; each delay is scaled by a
  // random factor in [1 - jitter, 1] so that N connections (and N clients) do not reconnect in step.
  std::chrono::milliseconds reconnect_initial{50};
  std::chrono::milliseconds reconnect_max{2000};
  double reconnect_jitter{0.5};
  // A connection that has received nothing for this long is sent a NOOP; a NOOP that fails or is not
  // answered within health_check_timeout closes the connection (which is then replaced). 0: off.
  std::chrono::milliseconds health_check_interval{std::chrono::seconds(30)};
  std::chrono::milliseconds health_check_timeout{std::chrono::seconds(2)};
  std::size_t max_in_flight{65536}; // per connection; overrides connection.max_in_flight
  // No open connection while the pool is (re)connecting: wait for one (true) or fail at once with
  // not_connected (false).
  bool wait_for_connection{true};
  std::chrono::milliseconds max_connection_wait{std::chrono::seconds(10)};
};

// The delay before reconnect attempt `attempt` (0 = the first after a loss), for a random `u` in
// [0, 1). Pure, so that the schedule is testable without sockets or clocks.
std::chrono::milliseconds reconnect_delay(const pool_settings& s, unsigned attempt, double u) noexcept;

struct pool_connection_stats {
  bool open{false};
  std::size_t in_flight{0};      // routed to this connection and not yet completed
  std::uint64_t routed{0};       // operations given to this connection (all its generations)
  std::uint64_t succeeded{0};    // ... that completed with a response
  std::uint64_t failed{0};       // ... that completed with an error
  std::uint64_t reconnects{0};   // times this slot's connection was re-established
};

struct pool_stats {
  std::size_t open_connections{0};
  std::uint64_t reconnects{0};            // connections re-established after a loss
  std::uint64_t connect_failures{0};      // connect attempts that failed
  std::uint64_t health_checks{0};         // NOOPs sent to idle connections
  std::uint64_t health_check_failures{0}; // ... that failed or timed out (each closed a connection)
  std::size_t waiting{0};                 // operations waiting for a connection to come up
  std::vector<pool_connection_stats> connections;
};

class node_pool : public std::enable_shared_from_this<node_pool> {
public:
  using executor_type = asio::any_io_executor;
  using execute_signature = kv_connection::execute_signature;
  using start_signature = void(std::error_code);
  using close_signature = void(std::error_code);

  // Throws std::invalid_argument for size 0, a zero backoff or a jitter outside [0, 1].
  static std::shared_ptr<node_pool> create(asio::any_io_executor ex, pool_settings settings);
  ~node_pool();
  node_pool(const node_pool&) = delete;
  node_pool& operator=(const node_pool&) = delete;

  [[nodiscard]] executor_type get_executor() const noexcept { return ex_; }

  // Connects all N; completes when the first is up, or with the last error when every first
  // attempt failed (the pool keeps retrying either way, until closed).
  template <class Token>
  auto async_start(Token&& token)
  {
    return detail::initiate<start_signature>(token,
                                             [self = shared_from_this()](auto handler, const asio::any_io_executor* ex) {
                                               self->start_start(std::move(handler), ex != nullptr ? *ex : self->ex_);
                                             });
  }

  template <class Token>
  auto async_execute(kv_request request, Token&& token)
  {
    return detail::initiate<execute_signature>(
        token,
        [self = shared_from_this()](auto handler, const asio::any_io_executor* ex, kv_request req) {
          self->start_execute(std::move(req), std::move(handler), ex);
        },
        std::move(request));
  }

  // No new operations (not_connected), waiting ones fail with not_connected, those in flight
  // finish (or time out); completes when every connection is closed.
  template <class Token>
  auto async_close_gracefully(Token&& token)
  {
    return detail::initiate<close_signature>(
        token, [self = shared_from_this()](auto handler, const asio::any_io_executor* ex) {
          self->start_close_gracefully(std::move(handler), ex != nullptr ? *ex : self->ex_);
        });
  }
  void close_gracefully() { async_close_gracefully(asio::detached); }

  // kv_connection::execute (one request, answered through `sink`) on the least-loaded open
  // connection. Must be called on the executor. Never waits for a connection: refused (the sink
  // never told) as kv_connection refuses, or with not_connected when the pool is not running or
  // has no open connection, queue_full when the least-loaded connection is full.
  [[nodiscard]] std::error_code execute(protocol::bytes_view packet, clock::time_point deadline, response_sink& sink,
                                        std::size_t index = 0);

  // kv_connection::execute_batch on the least-loaded open connection, counted in that connection's
  // statistics like as many operations. Must be called on the executor. Refused as a whole (the
  // sink never called) as kv_connection refuses, or with not_connected when the pool is not
  // running or has no open connection (it never waits for one), queue_full when the least-loaded
  // connection has no room for all of them.
  [[nodiscard]] std::error_code execute_batch(protocol::bytes_view packets, std::size_t count,
                                              clock::time_point deadline, batch_sink& sink);

  // Immediate: every pending operation completes with an error, no reconnects any more.
  void close();

  // Server-initiated requests (clustermap pushes) from any connection; called on the executor, the
  // packet valid only during the call.
  void on_server_request(std::function<void(const protocol::packet_view&)> cb);
  // Called on the executor each time an open connection dies other than by close(); the pool
  // replaces it by itself.
  void on_close(std::function<void(std::error_code)> cb);
  // Called on the executor each time a connection comes up (the first and every replacement), after
  // the operations waiting for one were given to it. Lets a caller that does not wait in the pool
  // (wait_for_connection off) retry at once instead of on a timer.
  void on_open(std::function<void()> cb);
  // Called on the executor each time a connection attempt fails (the handshake included), with
  // the error and what the connection said of it (kv_connection::last_error_detail).
  void on_connect_error(std::function<void(std::error_code, const std::string&)> cb);
  // Safe from any thread: some connection is open now.
  [[nodiscard]] bool has_open_connection() const noexcept;
  // On the executor. The HELLO features the server granted the connection that opened last (every
  // connection of a pool asks the same node for the same ones); empty before the first.
  [[nodiscard]] const protocol::feature_set& features() const noexcept;
  // On the executor. Why the last connection attempt failed, when the last attempt failed (a
  // connection that opens clears it): the error and its detail ("SCRAM-SHA512 authentication:
  // ..."). Lets a caller tell a node that is coming up from one that refuses it.
  struct connect_failure {
    std::error_code ec;
    std::string detail;
  };
  [[nodiscard]] const std::optional<connect_failure>& last_connect_failure() const noexcept;
  // On the executor. Why the last open connection died, once one has (what its operations in
  // flight got connection_closed for): the reason and the connection's detail ("server closed
  // the connection", "malformed packet ...", "the port answers in HTTP ..."). Known before those
  // operations complete.
  [[nodiscard]] const std::optional<connect_failure>& last_connection_loss() const noexcept;

  // Safe from any thread.
  [[nodiscard]] pool_stats stats() const;
  [[nodiscard]] const pool_settings& settings() const noexcept;

private:
  struct impl;
  node_pool(asio::any_io_executor ex, pool_settings settings);
  void start_start(asio::any_completion_handler<start_signature> handler, asio::any_io_executor handler_ex);
  // handler_ex: the executor the handler is associated with; null when it has none (ours).
  void start_execute(kv_request req, asio::any_completion_handler<execute_signature> handler,
                     const asio::any_io_executor* handler_ex);
  void start_close_gracefully(asio::any_completion_handler<close_signature> handler, asio::any_io_executor handler_ex);

  executor_type ex_;
  std::unique_ptr<impl> impl_;
};

} // namespace couchkv::io
