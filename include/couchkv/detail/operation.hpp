// Internal: one KV operation in flight, and the one path that runs every request type.
//
// An operation is one object, allocated once from the thread's handler cache: the request, the
// caller's handler (not type-erased), and the state the generic path keeps (deadline, attempts,
// where it went). It is the connection's response_sink itself, so a response reaches it as a view
// into the read buffer and its value is copied once, into the result.
#pragma once
#include <couchkv/completion.hpp>
#include <couchkv/io/handler_allocator.hpp>
#include <couchkv/io/response_sink.hpp>
#include <couchkv/operations.hpp>
#include <couchkv/protocol/errors.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace couchkv::detail {

class bucket_impl;
class retry_timer; // src/bucket_impl.hpp

enum class target : std::uint8_t { active, replica };

class op_base : public io::response_sink {
public:
  op_base(const op_base&) = delete;
  op_base& operator=(const op_base&) = delete;
  virtual ~op_base();

  // What routing and retrying need; set by the derived operation before submit().
  protocol::opcode opcode{protocol::opcode::get};
  std::string_view key{};                // the request's own (it lives as long as the operation)
  std::chrono::milliseconds timeout{0};  // 0: the bucket's kv_timeout
  target where{target::active};
  std::size_t replica_index{1};          // 1..numReplicas with target::replica
  bool had_cas{false};
  std::optional<std::size_t> node_index{}; // node-wide commands (STAT): this node, not the key's
  const durability_options* durability{nullptr}; // persist_to / replicate_to to poll after success
  bool removal{false};                   // ... for a removal
  std::optional<retry_strategy> retry{}; // the operation's own; else the bucket's
  protocol::feature_set needs{};         // HELLO features the request cannot go without

  // The generic path's state (src/bucket_impl.cpp).
  std::shared_ptr<bucket_impl> bucket;
  std::chrono::steady_clock::time_point started{};
  std::chrono::steady_clock::time_point deadline{};
  std::uint32_t attempts{0};
  retry_reason last_reason{retry_reason::none};
  std::uint16_t last_status{0}; // the last status a retried attempt got (0: none), for the context
  bool maybe_applied{false};
  std::uint16_t vbucket{0};   // where the key was routed
  std::string endpoint;       // "host:port" of the last node tried
  std::string failure_detail; // why the client refused or failed it, when it knows more than the code
  std::unique_ptr<retry_timer> timer;
  std::shared_ptr<op_base> in_flight; // itself, while a connection holds a plain pointer to it

  // The request for the routed vBucket (the connection sets the opaque). Once per attempt.
  virtual void encode(protocol::byte_buffer& out, const protocol::doc_key& k) = 0;
  // Once, on the bucket's strand: the final error, or the final response (any status; a view
  // valid during the call only). `self` is this operation.
  virtual void on_done(const std::shared_ptr<op_base>& self, std::error_code ec, const protocol::packet_view* response) = 0;
  // The end of the durability poll poll_durability() started.
  virtual void on_durable(std::error_code, durability_outcome) {}

  // This operation's error context: its attempts so far and `response` (null: none).
  [[nodiscard]] error_context context(const protocol::packet_view* response) const;

  // The connection's answer to the attempt in flight (response_sink).
  void on_response(std::size_t, const protocol::packet_view& response) final;
  void on_error(std::size_t, std::error_code ec) final;
  // The connection went away with the attempt pending (its io_context stopped): let go of itself.
  void on_abandoned(std::size_t) noexcept final { in_flight.reset(); }

protected:
  op_base(); // out of line, as the destructor: retry_timer is complete only in src/
};

// Runs an operation: its deadline from its timeout, routing, retries, on_done at the end.
void submit(std::shared_ptr<op_base> op);
// After a mutation succeeded: polls op.durability for it; op.on_durable at the end, on the strand.
void poll_durability(const std::shared_ptr<op_base>& op, const std::string& key, std::uint64_t cas,
                     const std::optional<mutation_token>& token);
// get_replica: refused for memcached buckets; with `any` every replica is asked and op.on_done gets
// the first success, or the last error; else the one replica op.replica_index names.
void race_replicas(std::shared_ptr<op_base> op, bool any);
// The bucket's strand; the system executor when there is no bucket.
[[nodiscard]] const asio::any_io_executor& executor_of(const bucket_impl* b) noexcept;

// Marks this thread as inside an initiating function (see completion.hpp's `initiating`).
struct initiating_scope {
  initiating_scope() noexcept { ++initiating; }
  ~initiating_scope() { --initiating; }
  initiating_scope(const initiating_scope&) = delete;
  initiating_scope& operator=(const initiating_scope&) = delete;
};

// Completes `handler` with (ec, args...) on `ex`: at once when that is what dispatch would do
// (this thread is in `ex`) and no initiating function is on the stack; otherwise posted.
template <class Handler, class... Args>
void complete_on(const asio::any_io_executor& ex, Handler&& handler, std::error_code ec, Args&&... args)
{
  if (initiating == 0 && running_on(ex)) {
    std::move(handler)(ec, std::forward<Args>(args)...);
    return;
  }
  asio::post(ex, asio::bind_allocator(io::handler_allocator<void>{},
                                      [h = std::move(handler), ec, ... a = std::forward<Args>(args)]() mutable {
                                        std::move(h)(ec, std::move(a)...);
                                      }));
}

// One request type's operation with the caller's handler.
template <class Request, class Handler>
class request_op final : public op_base {
public:
  using result_type = typename Request::result_type;

  // Whether the handler has an executor of its own; without one it completes on the bucket's
  // strand, which is then neither copied nor stored per operation.
  struct no_executor {};
  static constexpr bool own_executor =
      !std::is_same_v<asio::associated_executor_t<Handler, no_executor>, no_executor>;
  using executor_slot = std::conditional_t<own_executor, asio::any_io_executor, no_executor>;

  request_op(Request&& r, Handler&& h) : req_(std::move(r)), handler_(std::move(h))
  {
    if constexpr (own_executor) ex_ = asio::get_associated_executor(handler_);
    opcode = req_.opcode();
    key = req_.key;
    timeout = req_.options.timeout.value_or(std::chrono::milliseconds(0));
    if constexpr (requires { req_.with_cas(); }) had_cas = req_.with_cas();
    if constexpr (requires { req_.options.durability; }) {
      if (req_.options.durability.polled()) durability = &req_.options.durability;
    }
    if constexpr (requires { Request::removes; }) removal = Request::removes;
    if constexpr (requires { req_.options.retry; }) retry = req_.options.retry;
    if constexpr (requires { req_.required_features(); }) needs = req_.required_features();
    if constexpr (std::is_same_v<Request, get_replica_request>) {
      where = target::replica;
      replica_index = std::size_t{req_.options.index} + 1;
    }
  }

  [[nodiscard]] const Request& request() const noexcept { return req_; }

  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) override { req_.encode(out, k); }

  void on_done(const std::shared_ptr<op_base>& self, std::error_code ec, const protocol::packet_view* p) override
  {
    if (!ec && p != nullptr && p->status() != protocol::status::success) ec = protocol::make_kv_error(opcode, p->status(), had_cas);
    if (ec || p == nullptr) return fail(ec ? ec : make_error_code(protocol::client_errc::unexpected_response), context(p));
    auto r = req_.decode(*p, vbucket); // the request's key moves into the result
    if constexpr (mutates) {
      if (durability != nullptr) {
        pending_.emplace(std::move(r));
        key = pending_->key;
        poll_durability(self, pending_->key, pending_->cas, pending_->token);
        return;
      }
    }
    complete({}, std::move(r));
  }

  void on_durable(std::error_code ec, durability_outcome outcome) override
  {
    if constexpr (mutates) {
      auto r = std::move(*pending_);
      pending_.reset();
      if (ec) {
        r.context = context(nullptr);
        r.context.server_message = outcome.detail;
      }
      r.durability = std::move(outcome);
      complete(ec, std::move(r));
    }
  }

  // Fails before or without a response.
  void fail(std::error_code ec, error_context ctx)
  {
    result_type r{};
    r.context = std::move(ctx);
    complete(ec, std::move(r));
  }

private:
  void complete(std::error_code ec, result_type&& r)
  {
    if constexpr (own_executor) complete_on(ex_, std::move(handler_), ec, std::move(r));
    else complete_on(executor_of(bucket.get()), std::move(handler_), ec, std::move(r));
  }

  static constexpr bool mutates = std::is_base_of_v<mutation_result, result_type>;
  struct none {};
  Request req_;
  Handler handler_;
  [[no_unique_address]] executor_slot ex_; // the handler's own executor, if it has one
  // A mutation's result while its durability is polled.
  [[no_unique_address]] std::conditional_t<mutates, std::optional<result_type>, none> pending_;
};

// The one path every request type takes from its public line (async_bucket::execute).
template <class Request, class Handler>
void start_request(const std::shared_ptr<bucket_impl>& impl, Request&& r, Handler&& h)
{
  initiating_scope scope; // whatever completes from here on is posted
  using op_type = request_op<std::decay_t<Request>, std::decay_t<Handler>>;
  auto op = std::allocate_shared<op_type>(io::handler_allocator<op_type>{}, std::move(r), std::forward<Handler>(h));
  op->bucket = impl;
  op->started = std::chrono::steady_clock::now();
  if (auto ec = op->request().validate()) return op->fail(ec, op->context(nullptr));
  if (!impl) return op->fail(make_error_code(protocol::client_errc::not_connected), op->context(nullptr));
  if constexpr (std::is_same_v<std::decay_t<Request>, get_replica_request>) {
    const bool any = op->request().options.mode != replica_mode::index;
    return race_replicas(std::move(op), any);
  }
  submit(std::move(op));
}

} // namespace couchkv::detail
