// Internal: one open bucket. Owns the connections (one per data node), the config tracker and the
// router; sends each request to the right node and retries per retry.hpp. All state on one strand
// (or on the executor itself, when the application promised a single io thread).
#pragma once
#include "retry.hpp"

#include <couchkv/detail/operation.hpp>
#include <couchkv/io/handler_allocator.hpp>
#include <couchkv/io/http_client.hpp>
#include <couchkv/io/kv_connection.hpp>
#include <couchkv/io/node_pool.hpp>
#include <couchkv/protocol/error_map.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/results.hpp>
#include <couchkv/topology/config_tracker.hpp>
#include <couchkv/topology/connection_string.hpp>
#include <couchkv/topology/routing.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace couchkv::detail {

// A document key as the server takes it: 1 to 250 bytes (docs/protocol.md 2). Each failure
// has its own error, so the message says which.
inline std::error_code validate_key(std::string_view key) noexcept
{
  if (key.empty()) return make_error_code(protocol::client_errc::key_empty);
  if (key.size() > 250) return make_error_code(protocol::client_errc::key_too_long);
  return {};
}

namespace asio = boost::asio;

struct bucket_settings {
  topology::connection_string cs;
  std::string username;
  std::string password;
  std::string bucket;
  std::shared_ptr<asio::ssl::context> ssl; // couchbases:// only
  bool single_threaded{false};             // cluster_options::single_threaded: no strand
};

// The retry timer of an operation (op_base::timer).
class retry_timer : public asio::steady_timer {
public:
  using asio::steady_timer::steady_timer;
};

// A request for the composite operations (observe, stats, durability polling, a view row's
// document): what execute(spec, done) sends, with a std::function encoder. The KV operations
// themselves are request types (operations.hpp) run as op_base objects.
struct request_spec {
  protocol::opcode op{protocol::opcode::get};
  std::string key;
  // Builds the packet for the routed vBucket (the connection sets the opaque).
  std::function<void(protocol::byte_buffer&, const protocol::doc_key&)> encode;
  std::chrono::milliseconds timeout{0}; // 0: the bucket's kv_timeout
  target where{target::active};
  std::size_t replica_index{1}; // 1..numReplicas with target::replica
  bool had_cas{false};
  // Node-wide commands (STAT): this node of the current config (or memcached:// server index)
  // instead of routing by key.
  std::optional<std::size_t> node_index{};
};

// Move-only; built with io::handler_allocator (see execute), so it costs no malloc once warm.
using request_done = asio::any_completion_handler<void(std::error_code, io::kv_response, error_context)>;

// A GET of many keys (get_multi), implemented by the facade and run by bucket_impl::execute_get_batch:
// the keys are routed once, each node's GETs leave in one write and their answers come back
// through one sink, with no handler, executor or allocation per key. A key the batch cannot finish
// (a retry, a connection lost, no connection to send it on) goes through execute()'s machinery
// from the point it reached, so every key ends as a single get() would. Every callback runs on
// the bucket's strand, exactly once per key; the bucket holds the batch until the last one.
class get_batch {
public:
  virtual ~get_batch() = default;
  // The keys, each once, valid until the last callback.
  std::vector<std::string_view> keys;
  std::chrono::milliseconds timeout{0}; // 0: the bucket's kv_timeout
  // The answer was a success: the packet, valid during the call only.
  virtual void found(std::size_t index, const protocol::packet_view& response) = 0;
  // Anything else: the final error, or the final response (a view valid during the call only),
  // with the key's error context.
  virtual void done(std::size_t index, std::error_code ec, const protocol::packet_view* response, error_context ctx) = 0;
};

// Where a key's vBucket lives in the current map (Couchbase buckets).
struct vbucket_placement {
  std::uint16_t vbucket{0};
  int active{-1};
  std::vector<int> replicas;           // node index per replica slot, -1 = none
  std::size_t configured_replicas{0};  // numReplicas of the bucket
  std::size_t data_nodes{0};
  [[nodiscard]] std::size_t available_replicas() const
  {
    std::size_t n = 0;
    for (int r : replicas) n += r >= 0 ? 1 : 0;
    return n;
  }
};

class bucket_impl : public std::enable_shared_from_this<bucket_impl> {
public:
  bucket_impl(asio::any_io_executor ex, bucket_settings settings);
  ~bucket_impl();

  // The strand (or the executor, single-threaded) everything of this bucket runs on.
  [[nodiscard]] const asio::any_io_executor& executor() const { return strand_; }
  [[nodiscard]] const std::string& name() const noexcept { return settings_.bucket; }
  [[nodiscard]] std::chrono::milliseconds kv_timeout() const noexcept { return settings_.cs.options.kv_timeout; }
  [[nodiscard]] bool is_memcached() const noexcept { return settings_.cs.scheme == topology::scheme::memcached; }
  // The strategy of operations that do not choose their own (retry_strategy). Any thread.
  void set_retry_strategy(retry_strategy s) noexcept { retry_strategy_.store(s, std::memory_order_relaxed); }
  [[nodiscard]] retry_strategy default_retry_strategy() const noexcept { return retry_strategy_.load(std::memory_order_relaxed); }

  // Bootstrap: first reachable endpoint, then the config; completes on the strand.
  void open(std::function<void(std::error_code, std::string)> done);
  // Routes and runs one request with retries; `done` runs on the strand, once.
  template <class Done>
  void execute(request_spec spec, Done&& done)
  {
    execute_erased(std::move(spec), request_done(io::with_handler_allocator(std::forward<Done>(done))));
  }
  void execute_erased(request_spec spec, request_done done);
  // Runs an operation (see submit() in detail/operation.hpp; its deadline is set here).
  void execute(std::shared_ptr<op_base> o);
  // The outcome of an attempt (op_base's sink calls, a batch key's): finished, or retried per
  // retry.hpp. On the strand.
  void on_attempt_done(const std::shared_ptr<op_base>& o, std::error_code ec, const protocol::packet_view* r);
  // Routes and runs a multi-key GET (see get_batch); its callbacks run on the strand.
  void execute_get_batch(std::shared_ptr<get_batch> batch);
  void close();
  // The last user handle (async_bucket) is gone: no new operations can come. Stops the config
  // polling, whose timer is the only thing besides the operations that holds the bucket; the
  // operations in flight finish, and with the last of them the bucket and its connections go.
  // Any thread.
  void detach();
  // The execution context is being destroyed (its threads stopped) with this bucket still alive:
  // drops the connections, breaking the operation -> bucket -> pool -> connection -> operation
  // cycle, so that every pending operation is destroyed with the context's handlers (its
  // handler uncalled: a future reports broken_promise) instead of never. Called from the
  // context's shutdown (bucket_registry), when no thread runs it.
  void abandon() noexcept;

  [[nodiscard]] std::size_t num_replicas() const;

  // HTTP services of the current config (on the strand): "host", port — TLS ports with couchbases://.
  enum class http_service { views, mgmt };
  [[nodiscard]] std::vector<std::pair<std::string, std::uint16_t>> http_endpoints(http_service s) const;
  // A keep-alive HTTP client per endpoint, with the bucket's credentials (on the strand).
  std::shared_ptr<io::http_client> http_client_for(const std::string& host, std::uint16_t port);
  // Round-robin cursor for spreading HTTP requests over the nodes of a service.
  std::size_t next_http_index() { return http_rr_++; }
  // On the strand. nullopt for memcached buckets or before the first config.
  [[nodiscard]] std::optional<vbucket_placement> placement_of(std::string_view key) const;
  // Where a key routes under the current config (on the strand); nullopt before the first config.
  [[nodiscard]] std::optional<key_location> locate(std::string_view key) const;
  // The nodes that serve KV now (on the strand): config indexes, or memcached:// server indexes.
  [[nodiscard]] std::vector<std::size_t> kv_nodes() const;
  [[nodiscard]] bool has_config() const { return static_cast<bool>(tracker_.current()); }
  // A memcached bucket (memcached:// or a config with the ketama locator): no vBuckets, no replicas.
  [[nodiscard]] bool is_ketama() const
  {
    const auto& cfg = tracker_.current();
    return is_memcached() || (cfg && cfg->locator == topology::node_locator::ketama);
  }
  // The error map's words for a status ("KEY_ENOENT: Not Found"), empty when it has none.
  [[nodiscard]] std::string error_map_text(protocol::status st) const;
  // The data nodes open() could not connect to (set before open completes, never changed after).
  [[nodiscard]] const std::vector<node_problem>& unreachable_nodes() const noexcept { return unreachable_; }

private:
  using op = op_base;
  class node_batch;
  // One pool of kv_pool_size connections per data node (io::node_pool: least-loaded choice,
  // reconnect with backoff, NOOP health checks). It fails fast with not_connected while it has
  // no open connection; the bucket then parks the operation until a connection comes up (see
  // not_sent), and retry.hpp decides everything else.
  struct node_conn {
    std::shared_ptr<io::node_pool> pool;
    // Operations the pool turned away (not_connected) while it had no connection: each waits on
    // its backoff timer, which wake() cuts short when a connection comes up or the config
    // changes. An entry is stale once its operation has run another attempt (attempts moved on).
    struct parked_op {
      std::weak_ptr<op> o;
      std::uint32_t attempts;
    };
    std::vector<parked_op> parked;
    std::size_t parked_live{0}; // entries left by the last pruning
  };

  void try_http_bootstrap(std::size_t index, std::shared_ptr<std::function<void(std::error_code, std::string)>> done,
                          std::error_code last_ec, std::string last_detail);
  void start_config_stream();
  void try_bootstrap(std::size_t index, std::shared_ptr<std::function<void(std::error_code, std::string)>> done,
                     std::error_code last_ec, std::string last_detail);
  void attempt(std::shared_ptr<op> o);
  void run_get_batch(const std::shared_ptr<get_batch>& b);
  // One key of a batch continues as a single operation (built with the batch's deadline).
  std::shared_ptr<op> batch_key_op(const std::shared_ptr<get_batch>& b, std::size_t index,
                                   io::clock::time_point deadline);
  void retry(std::shared_ptr<op> o, retry_decision d, std::error_code final_ec);
  void finish(const std::shared_ptr<op>& o, std::error_code ec, const protocol::packet_view* resp);
  void not_sent(const std::shared_ptr<op>& o, bool not_connected);
  void park(node_conn& nc, const std::shared_ptr<op>& o);
  static void wake(node_conn& nc);
  void apply_config(std::string_view json, const std::string& origin);
  io::node_pool* connection_for(std::size_t node_index, std::string& endpoint,
                                const std::shared_ptr<const topology::bucket_config>& cfg);
  io::node_pool* resolve_connection(std::size_t node_index, std::string& endpoint);
  // A pool for a node not connected yet (null: it has one, the bucket is closed or no port); started
  // unless `start` is false (the caller starts it, to learn how its first attempts went).
  std::shared_ptr<io::node_pool> connect_node(const std::string& identity, const std::string& host, std::uint16_t port,
                                              bool start = true);
  void connect_data_nodes(std::shared_ptr<std::function<void(std::error_code, std::string)>> done);
  void watch(const std::shared_ptr<io::node_pool>& p, const std::string& identity);
  void poll_config();
  io::connection_settings connection_settings_for(const std::string& host, std::uint16_t port) const;

  // A strand of the cluster's executor, or that executor itself with single_threaded. Type-erased
  // once: converting a typed strand to any_io_executor per call would allocate every time.
  asio::any_io_executor strand_;
  bucket_settings settings_;
  std::atomic<retry_strategy> retry_strategy_;
  topology::config_tracker tracker_;
  topology::ketama_router ketama_;
  std::vector<std::pair<std::string, std::uint16_t>> static_nodes_; // memcached://
  std::map<std::string, node_conn> conns_;
  struct route {
    io::node_pool* pool{nullptr}; // owned by conns_
    std::string endpoint;
  };
  std::vector<route> routes_; // by node index, valid for routes_config_ (see connection_for)
  protocol::byte_buffer send_buf_; // one attempt's request, before the connection copies it
  std::unique_ptr<std::byte[]> batch_scratch_; // run_get_batch's requests, before the connection copies them
  std::size_t batch_scratch_size_{0};
  std::shared_ptr<const topology::bucket_config> routes_config_;
  std::optional<protocol::error_map> error_map_; // from the bootstrap connection
  std::map<std::string, std::shared_ptr<io::http_client>> http_clients_;
  std::size_t http_rr_{0};
  std::size_t poll_rr_{0};
  asio::steady_timer poll_timer_;
  // Bootstrapped over HTTP (no CCCP): configs come from the streaming URI instead of polling.
  bool http_mode_{false};
  std::pair<std::string, std::uint16_t> http_origin_;
  asio::steady_timer stream_timer_;
  std::size_t stream_rr_{0};
  bool closed_{false};
  bool detached_{false};            // on the strand: see detach()
  std::atomic<bool> abandoned_{false}; // see abandon(): the context is gone, nothing may be posted
  std::vector<node_problem> unreachable_;
};

} // namespace couchkv::detail
