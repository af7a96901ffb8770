#include <couchkv/io/node_pool.hpp>
#include <couchkv/io/executor.hpp>
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/request.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

namespace couchkv::io {

using protocol::client_errc;
using sys_error = boost::system::error_code;

namespace {

// Completions never run inline (see kv_connection.cpp).
template <class Handler, class... Args>
void post_completion(const asio::any_io_executor& ex, Handler h, Args... args)
{
  asio::post(ex, [h = std::move(h), ... args = std::move(args)]() mutable { std::move(h)(std::move(args)...); });
}

// An executor an operation's completion must go through; empty (the common case) when it is the
// pool's own. Optional rather than an empty any_io_executor: moving that one costs type-erased calls.
using completion_executor = std::optional<asio::any_io_executor>;

// One slot's statistics, across its connections: each of them keeps the connection_counters
// part (in flight, succeeded, failed, last heard: see connection_settings::counters), so an
// operation's handler and a batch's sink go to the connection as they are, with no layer of the
// pool around them; the pool keeps the rest. Atomics only: stats() reads them from any thread.
struct slot_counters : connection_counters {
  std::atomic<bool> open{false};
  std::atomic<std::uint64_t> routed{0};
  std::atomic<std::uint64_t> reconnects{0};

  void heard() { connection_counters::heard(clock::now()); }
};

void validate(const pool_settings& s)
{
  auto bad = [](const char* what) { throw std::invalid_argument(std::string("node_pool: ") + what); };
  if (s.size == 0) bad("size must be at least 1");
  if (s.reconnect_initial.count() <= 0) bad("reconnect_initial must be positive");
  if (s.reconnect_max < s.reconnect_initial) bad("reconnect_max must not be below reconnect_initial");
  if (!(s.reconnect_jitter >= 0.0 && s.reconnect_jitter <= 1.0)) bad("reconnect_jitter must be in [0, 1]");
  if (s.health_check_interval.count() < 0) bad("health_check_interval must not be negative");
  if (s.health_check_interval.count() > 0 && s.health_check_timeout.count() <= 0) {
    bad("health_check_timeout must be positive");
  }
  if (s.max_in_flight == 0) bad("max_in_flight must be at least 1");
  if (s.max_connection_wait.count() < 0) bad("max_connection_wait must not be negative");
  if (s.connection.tls && s.connection.ssl_context == nullptr) bad("tls requires an ssl_context");
}

} // namespace

std::chrono::milliseconds reconnect_delay(const pool_settings& s, unsigned attempt, double u) noexcept
{
  auto cap = s.reconnect_max.count();
  auto d = std::min(s.reconnect_initial.count(), cap);
  for (unsigned i = 0; i < attempt && d < cap; ++i) d = std::min(d * 2, cap);
  u = std::clamp(u, 0.0, 1.0);
  auto scaled = static_cast<double>(d) * (1.0 - s.reconnect_jitter * u);
  return std::chrono::milliseconds(std::max<std::chrono::milliseconds::rep>(
      1, static_cast<std::chrono::milliseconds::rep>(scaled)));
}

struct node_pool::impl {
  struct slot {
    enum class state { idle, connecting, open, backoff, closed } st{state::idle};
    explicit slot(const executor_type& ex) : timer(ex) {}
    std::shared_ptr<kv_connection> conn;
    std::uint64_t gen{0};     // bumped per connection; callbacks of older ones are ignored
    unsigned failures{0};     // consecutive failed connect attempts
    bool tried{false};        // the first attempt has completed
    bool ever_open{false};
    bool checking{false};     // a health-check NOOP is in flight
    asio::steady_timer timer; // reconnect backoff
    std::shared_ptr<slot_counters> counters{std::make_shared<slot_counters>()};
  };
  struct waiter {
    kv_request req;
    asio::any_completion_handler<execute_signature> handler;
    completion_executor handler_ex;
    clock::time_point until;
  };
  template <class Sig>
  struct stored_handler {
    asio::any_completion_handler<Sig> handler;
    asio::any_io_executor ex;
  };

  impl(executor_type ex, pool_settings s)
      : settings(std::move(s)), executor(ex), waiter_timer(ex), health_timer(ex), rng(std::random_device{}())
  {
    slots.reserve(settings.size);
    for (std::size_t i = 0; i < settings.size; ++i) slots.push_back(std::make_unique<slot>(ex));
  }

  pool_settings settings;
  executor_type executor;
  std::vector<std::unique_ptr<slot>> slots;
  enum class state { idle, running, draining, closed } st{state::idle};
  std::size_t next_start{0}; // rotates the tie-break among equally loaded connections

  std::map<std::uint64_t, waiter> waiters; // by arrival: drained first come, first served
  std::set<std::pair<clock::time_point, std::uint64_t>> waiter_deadlines;
  std::uint64_t next_waiter{0};
  asio::steady_timer waiter_timer;
  clock::time_point armed_for{clock::time_point::max()};

  asio::steady_timer health_timer;
  std::minstd_rand rng;

  std::optional<stored_handler<start_signature>> start_handler;
  std::size_t first_attempts_failed{0};
  std::vector<stored_handler<close_signature>> graceful_handlers;
  std::shared_ptr<node_pool> keep_alive; // while a graceful close is pending

  std::function<void(const protocol::packet_view&)> server_request_cb;
  std::function<void(std::error_code)> close_cb;
  std::function<void()> open_cb;
  std::function<void(std::error_code, const std::string&)> connect_error_cb;
  protocol::feature_set features;                 // of the connection that opened last
  std::optional<connect_failure> last_failure;   // of the last attempt, when it failed
  std::optional<connect_failure> last_loss;      // why the last open connection died

  std::atomic<std::size_t> open_count{0};
  std::atomic<std::size_t> waiting_count{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> health_checks{0};
  std::atomic<std::uint64_t> health_failures{0};

  // The engine; every member function runs on the executor.
  void connect_slot(const std::shared_ptr<node_pool>& self, std::size_t i);
  void connected(const std::shared_ptr<node_pool>& self, std::size_t i, std::uint64_t gen, std::error_code ec);
  void connection_lost(const std::shared_ptr<node_pool>& self, std::size_t i, std::uint64_t gen, std::error_code why);
  void schedule_reconnect(const std::shared_ptr<node_pool>& self, std::size_t i);
  void mark_closed(slot& s);
  int pick();
  void execute(const std::shared_ptr<node_pool>& self, kv_request req,
               asio::any_completion_handler<execute_signature> handler, completion_executor handler_ex);
  void send(std::size_t i, kv_request req, asio::any_completion_handler<execute_signature> handler,
            completion_executor handler_ex);
  void wait_for_connection(const std::shared_ptr<node_pool>& self, kv_request req,
                           asio::any_completion_handler<execute_signature> handler, completion_executor handler_ex);
  // Where a completion goes: the handler's executor, or ours.
  [[nodiscard]] const asio::any_io_executor& target(const completion_executor& handler_ex) const
  {
    return handler_ex ? *handler_ex : executor;
  }
  void finish_waiter(std::uint64_t id, std::error_code ec);
  void drain_waiters();
  template <class Send>
  std::error_code send_now(std::size_t count, Send&& send);
  void arm_waiter_timer(const std::shared_ptr<node_pool>& self);
  void health_tick(const std::shared_ptr<node_pool>& self);
  void complete_start(std::error_code ec);
  void stop(std::error_code start_error); // shared by close() and the destructor
  void maybe_finish_graceful(const executor_type& ex);
};

std::shared_ptr<node_pool> node_pool::create(asio::any_io_executor ex, pool_settings settings)
{
  validate(settings);
  return std::shared_ptr<node_pool>(new node_pool(std::move(ex), std::move(settings)));
}

node_pool::node_pool(asio::any_io_executor ex, pool_settings settings)
    : ex_(std::move(ex)), impl_(std::make_unique<impl>(ex_, std::move(settings)))
{
}

// Only callbacks holding a strong reference touch the pool, so none runs concurrently with this.
node_pool::~node_pool() { impl_->stop(client_errc::cancelled); }

const pool_settings& node_pool::settings() const noexcept { return impl_->settings; }

pool_stats node_pool::stats() const
{
  const auto& m = *impl_;
  pool_stats s;
  s.open_connections = m.open_count.load(std::memory_order_relaxed);
  s.reconnects = m.reconnects.load(std::memory_order_relaxed);
  s.connect_failures = m.connect_failures.load(std::memory_order_relaxed);
  s.health_checks = m.health_checks.load(std::memory_order_relaxed);
  s.health_check_failures = m.health_failures.load(std::memory_order_relaxed);
  s.waiting = m.waiting_count.load(std::memory_order_relaxed);
  s.connections.reserve(m.slots.size()); // the slot vector itself never changes after construction
  for (const auto& sl : m.slots) {
    const auto& c = *sl->counters;
    s.connections.push_back({c.open.load(std::memory_order_relaxed), c.in_flight.load(std::memory_order_relaxed),
                             c.routed.load(std::memory_order_relaxed), c.succeeded.load(std::memory_order_relaxed),
                             c.failed.load(std::memory_order_relaxed), c.reconnects.load(std::memory_order_relaxed)});
  }
  return s;
}

void node_pool::on_server_request(std::function<void(const protocol::packet_view&)> cb)
{
  asio::dispatch(ex_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
    auto& m = *self->impl_;
    m.server_request_cb = std::move(cb);
    for (auto& s : m.slots) {
      if (s->conn) s->conn->on_server_request(m.server_request_cb);
    }
  });
}

void node_pool::on_close(std::function<void(std::error_code)> cb)
{
  asio::dispatch(ex_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
    self->impl_->close_cb = std::move(cb);
  });
}

void node_pool::on_open(std::function<void()> cb)
{
  asio::dispatch(ex_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
    self->impl_->open_cb = std::move(cb);
  });
}

void node_pool::on_connect_error(std::function<void(std::error_code, const std::string&)> cb)
{
  asio::dispatch(ex_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
    self->impl_->connect_error_cb = std::move(cb);
  });
}

const protocol::feature_set& node_pool::features() const noexcept { return impl_->features; }

const std::optional<node_pool::connect_failure>& node_pool::last_connect_failure() const noexcept
{
  return impl_->last_failure;
}

const std::optional<node_pool::connect_failure>& node_pool::last_connection_loss() const noexcept
{
  return impl_->last_loss;
}

bool node_pool::has_open_connection() const noexcept
{
  return impl_->open_count.load(std::memory_order_relaxed) != 0;
}

// ---- connections: connect, lose, back off, reconnect ----------------------------------------

void node_pool::impl::connect_slot(const std::shared_ptr<node_pool>& self, std::size_t i)
{
  auto& s = *slots[i];
  s.st = slot::state::connecting;
  s.checking = false;
  auto gen = ++s.gen;
  auto cs = settings.connection;
  cs.max_in_flight = settings.max_in_flight;
  cs.counters = s.counters;
  s.conn = kv_connection::create(executor, std::move(cs));
  if (server_request_cb) s.conn->on_server_request(server_request_cb);
  std::weak_ptr<node_pool> weak = self;
  // Both are dispatched to the executor in this order: on_close is set before it can open.
  s.conn->on_close([weak, i, gen](std::error_code why) {
    if (auto p = weak.lock()) {
      asio::dispatch(p->ex_, [p, i, gen, why]() { p->impl_->connection_lost(p, i, gen, why); });
    }
  });
  s.conn->async_connect(asio::bind_executor(executor, [weak, i, gen](std::error_code ec) {
    if (auto p = weak.lock()) p->impl_->connected(p, i, gen, ec);
  }));
}

void node_pool::impl::connected(const std::shared_ptr<node_pool>& self, std::size_t i, std::uint64_t gen,
                                std::error_code ec)
{
  auto& s = *slots[i];
  if (gen != s.gen || s.st != slot::state::connecting) return;
  if (st != state::running) { // closing while it connected
    s.conn->close();
    s.st = slot::state::closed;
    maybe_finish_graceful(self->ex_);
    return;
  }
  if (ec) {
    connect_failures.fetch_add(1, std::memory_order_relaxed);
    ++s.failures;
    last_failure = connect_failure{ec, s.conn->last_error_detail()};
    if (!s.tried) {
      s.tried = true;
      if (++first_attempts_failed == slots.size()) complete_start(ec); // nobody came up
    }
    schedule_reconnect(self, i);
    if (connect_error_cb) connect_error_cb(ec, last_failure->detail); // last: it may close the pool
    return;
  }
  features = s.conn->bootstrap().features;
  last_failure.reset();
  s.tried = true;
  s.st = slot::state::open;
  s.failures = 0;
  if (s.ever_open) {
    reconnects.fetch_add(1, std::memory_order_relaxed);
    s.counters->reconnects.fetch_add(1, std::memory_order_relaxed);
  }
  s.ever_open = true;
  s.counters->heard();
  s.counters->open.store(true, std::memory_order_relaxed);
  open_count.fetch_add(1, std::memory_order_relaxed);
  complete_start({});
  drain_waiters();
  if (open_cb) open_cb(); // last: it may close the pool
}

void node_pool::impl::mark_closed(slot& s)
{
  if (s.st == slot::state::open) {
    s.counters->open.store(false, std::memory_order_relaxed);
    open_count.fetch_sub(1, std::memory_order_relaxed);
  }
  s.st = slot::state::closed;
}

void node_pool::impl::connection_lost(const std::shared_ptr<node_pool>& self, std::size_t i, std::uint64_t gen,
                                      std::error_code why)
{
  auto& s = *slots[i];
  if (gen != s.gen || s.st != slot::state::open) return;
  last_loss = connect_failure{why, s.conn ? s.conn->last_error_detail() : std::string{}};
  s.counters->open.store(false, std::memory_order_relaxed);
  open_count.fetch_sub(1, std::memory_order_relaxed);
  if (st != state::running) { // a graceful close finished on this connection
    s.st = slot::state::closed;
    maybe_finish_graceful(self->ex_);
    return;
  }
  s.failures = 0;
  schedule_reconnect(self, i);
  if (close_cb) close_cb(why); // last: it may close the pool
}

void node_pool::impl::schedule_reconnect(const std::shared_ptr<node_pool>& self, std::size_t i)
{
  auto& s = *slots[i];
  s.st = slot::state::backoff;
  auto delay = reconnect_delay(settings, s.failures, std::uniform_real_distribution<double>(0.0, 1.0)(rng));
  s.timer.expires_after(delay);
  std::weak_ptr<node_pool> weak = self;
  s.timer.async_wait([weak, i, gen = s.gen](sys_error ec) {
    if (ec) return;
    auto p = weak.lock();
    if (!p) return;
    auto& m = *p->impl_;
    auto& sl = *m.slots[i];
    if (m.st != state::running || sl.gen != gen || sl.st != slot::state::backoff) return;
    m.connect_slot(p, i);
  });
}

void node_pool::impl::complete_start(std::error_code ec)
{
  if (!start_handler) return;
  auto h = std::move(*start_handler);
  start_handler.reset();
  post_completion(h.ex, std::move(h.handler), ec);
}

// ---- operations --------------------------------------------------------------------------------

// The open connection with the fewest operations in flight (counted by the pool, so a burst routed
// before any connection has seen it still spreads); ties go round-robin.
int node_pool::impl::pick()
{
  int best = -1;
  std::size_t best_load = 0;
  const auto n = slots.size();
  for (std::size_t k = 0; k < n; ++k) {
    auto j = (next_start + k) % n;
    const auto& s = *slots[j];
    if (s.st != slot::state::open || !s.conn->is_open()) continue;
    auto load = s.counters->in_flight.load(std::memory_order_relaxed);
    if (best < 0 || load < best_load) {
      best = static_cast<int>(j);
      best_load = load;
    }
  }
  next_start = (next_start + 1) % n;
  return best;
}

void node_pool::impl::execute(const std::shared_ptr<node_pool>& self, kv_request req,
                              asio::any_completion_handler<execute_signature> handler, completion_executor handler_ex)
{
  if (st != state::running) {
    post_completion(target(handler_ex), std::move(handler), std::error_code(client_errc::not_connected), kv_response{});
    return;
  }
  if (int j = pick(); j >= 0) {
    send(static_cast<std::size_t>(j), std::move(req), std::move(handler), std::move(handler_ex));
    return;
  }
  if (!settings.wait_for_connection) {
    post_completion(target(handler_ex), std::move(handler), std::error_code(client_errc::not_connected), kv_response{});
    return;
  }
  wait_for_connection(self, std::move(req), std::move(handler), std::move(handler_ex));
}

void node_pool::impl::send(std::size_t i, kv_request req, asio::any_completion_handler<execute_signature> handler,
                           completion_executor handler_ex)
{
  auto& s = *slots[i];
  auto& c = *s.counters;
  if (c.in_flight.load(std::memory_order_relaxed) >= settings.max_in_flight) { // the least loaded is full
    post_completion(target(handler_ex), std::move(handler), std::error_code(client_errc::queue_full), kv_response{});
    return;
  }
  c.routed.fetch_add(1, std::memory_order_relaxed);
  // The handler goes to the connection as it is, erased once (the connection counts the
  // operation in c itself, before it runs the handler), with the caller's executor when it has
  // one, so the connection posts the completion straight there; otherwise it completes on the
  // connection's executor, ours. The connection is on our executor: it takes the operation (and
  // counts it in flight) before this returns, so the next pick() sees it.
  s.conn->execute(std::move(req), std::move(handler), handler_ex ? &*handler_ex : nullptr);
}

// The least-loaded open connection with room for `count` more, or why there is none; `send`
// then gives it the requests (the connection counts them in its counters itself).
template <class Send>
std::error_code node_pool::impl::send_now(std::size_t count, Send&& send)
{
  if (st != state::running) return client_errc::not_connected;
  int j = pick();
  if (j < 0) return client_errc::not_connected;
  auto& s = *slots[static_cast<std::size_t>(j)];
  auto& c = *s.counters;
  if (c.in_flight.load(std::memory_order_relaxed) + count > settings.max_in_flight) return client_errc::queue_full;
  if (auto ec = send(*s.conn)) return ec;
  c.routed.fetch_add(count, std::memory_order_relaxed);
  return {};
}

std::error_code node_pool::execute(protocol::bytes_view packet, clock::time_point deadline, response_sink& sink,
                                   std::size_t index)
{
  return impl_->send_now(1, [&](kv_connection& c) { return c.execute(packet, deadline, sink, index); });
}

std::error_code node_pool::execute_batch(protocol::bytes_view packets, std::size_t count,
                                         clock::time_point deadline, batch_sink& sink)
{
  return impl_->send_now(count, [&](kv_connection& c) { return c.execute_batch(packets, count, deadline, sink); });
}

void node_pool::impl::wait_for_connection(const std::shared_ptr<node_pool>& self, kv_request req,
                                          asio::any_completion_handler<execute_signature> handler,
                                          completion_executor handler_ex)
{
  auto now = clock::now();
  std::error_code refuse;
  if (req.deadline <= now) refuse = client_errc::timeout;
  else if (settings.max_connection_wait.count() == 0) refuse = client_errc::not_connected; // waiting is off
  if (refuse) {
    post_completion(target(handler_ex), std::move(handler), refuse, kv_response{});
    return;
  }
  auto until = req.deadline;
  if (settings.max_connection_wait < until - now) until = now + settings.max_connection_wait;
  auto id = ++next_waiter;
  auto cancel_slot = asio::get_associated_cancellation_slot(handler);
  if (cancel_slot.is_connected()) {
    std::weak_ptr<node_pool> weak = self;
    cancel_slot.assign([weak, id](asio::cancellation_type type) {
      if (type == asio::cancellation_type::none) return;
      if (auto p = weak.lock()) {
        asio::dispatch(p->ex_, [p, id]() { p->impl_->finish_waiter(id, client_errc::cancelled); });
      }
    });
  }
  waiters.emplace(id, waiter{std::move(req), std::move(handler), std::move(handler_ex), until});
  waiter_deadlines.emplace(until, id);
  waiting_count.store(waiters.size(), std::memory_order_relaxed);
  arm_waiter_timer(self);
}

void node_pool::impl::finish_waiter(std::uint64_t id, std::error_code ec)
{
  auto it = waiters.find(id);
  if (it == waiters.end()) return;
  auto w = std::move(it->second);
  waiters.erase(it);
  waiter_deadlines.erase({w.until, id});
  waiting_count.store(waiters.size(), std::memory_order_relaxed);
  auto cancel_slot = asio::get_associated_cancellation_slot(w.handler);
  if (cancel_slot.is_connected()) cancel_slot.clear();
  post_completion(target(w.handler_ex), std::move(w.handler), ec, kv_response{});
}

void node_pool::impl::drain_waiters()
{
  while (!waiters.empty()) {
    int j = pick();
    if (j < 0) return;
    auto it = waiters.begin();
    auto w = std::move(it->second);
    waiter_deadlines.erase({w.until, it->first});
    waiters.erase(it);
    waiting_count.store(waiters.size(), std::memory_order_relaxed);
    auto cancel_slot = asio::get_associated_cancellation_slot(w.handler);
    if (cancel_slot.is_connected()) cancel_slot.clear(); // the connection installs its own
    send(static_cast<std::size_t>(j), std::move(w.req), std::move(w.handler), std::move(w.handler_ex));
  }
}

void node_pool::impl::arm_waiter_timer(const std::shared_ptr<node_pool>& self)
{
  if (waiter_deadlines.empty()) return;
  auto earliest = waiter_deadlines.begin()->first;
  if (earliest >= armed_for) return;
  armed_for = earliest;
  waiter_timer.expires_at(earliest);
  std::weak_ptr<node_pool> weak = self;
  waiter_timer.async_wait([weak](sys_error ec) {
    if (ec == asio::error::operation_aborted) return;
    auto p = weak.lock();
    if (!p) return;
    auto& m = *p->impl_;
    m.armed_for = clock::time_point::max();
    auto now = clock::now();
    while (!m.waiter_deadlines.empty() && m.waiter_deadlines.begin()->first <= now) {
      m.finish_waiter(m.waiter_deadlines.begin()->second, client_errc::timeout);
    }
    m.arm_waiter_timer(p);
  });
}

// ---- health checks -----------------------------------------------------------------------------

void node_pool::impl::health_tick(const std::shared_ptr<node_pool>& self)
{
  if (st != state::running) return;
  auto now = clock::now();
  std::weak_ptr<node_pool> weak = self;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    auto& s = *slots[i];
    if (s.st != slot::state::open || s.checking || !s.conn->is_open()) continue;
    auto heard = clock::time_point(clock::duration(s.counters->last_heard.load(std::memory_order_relaxed)));
    if (now - heard < settings.health_check_interval) continue;
    s.checking = true;
    health_checks.fetch_add(1, std::memory_order_relaxed);
    protocol::byte_buffer noop;
    protocol::append_noop(noop, 0);
    s.conn->async_execute(kv_request{std::move(noop), now + settings.health_check_timeout},
                          asio::bind_executor(executor, [weak, i, gen = s.gen](std::error_code ec, kv_response r) {
                            auto p = weak.lock();
                            if (!p) return;
                            auto& m = *p->impl_;
                            auto& sl = *m.slots[i];
                            if (sl.gen != gen || sl.st != slot::state::open) return;
                            sl.checking = false;
                            if (!ec && r.status() == protocol::status::success) {
                              sl.counters->heard();
                              return;
                            }
                            if (ec == client_errc::queue_full) return; // no room to ask: no verdict
                            if (!sl.conn->is_open()) return; // died anyway; on_close replaces it
                            m.health_failures.fetch_add(1, std::memory_order_relaxed);
                            sl.conn->close(); // its on_close schedules the replacement
                          }));
  }
  auto period = std::max(settings.health_check_interval / 2, std::chrono::milliseconds(1));
  health_timer.expires_after(period);
  health_timer.async_wait([weak](sys_error ec) {
    if (ec) return;
    if (auto p = weak.lock()) p->impl_->health_tick(p);
  });
}

// ---- start and close ---------------------------------------------------------------------------

void node_pool::start_start(asio::any_completion_handler<start_signature> handler, asio::any_io_executor handler_ex)
{
  asio::dispatch(ex_, [self = shared_from_this(), h = std::move(handler), hex = std::move(handler_ex)]() mutable {
    auto& m = *self->impl_;
    if (m.st != impl::state::idle) {
      post_completion(hex, std::move(h), std::error_code(client_errc::invalid_argument));
      return;
    }
    m.st = impl::state::running;
    m.start_handler.emplace(impl::stored_handler<start_signature>{std::move(h), std::move(hex)});
    for (std::size_t i = 0; i < m.slots.size(); ++i) m.connect_slot(self, i);
    if (m.settings.health_check_interval.count() > 0) m.health_tick(self);
  });
}

void node_pool::start_execute(kv_request req, asio::any_completion_handler<execute_signature> handler,
                              const asio::any_io_executor* handler_ex)
{
  // A handler that completes on our executor needs no executor of its own (see send()).
  completion_executor hex;
  if (handler_ex != nullptr && *handler_ex != ex_) hex.emplace(*handler_ex);
  if (running_on(ex_)) { // what dispatch would do, without the type-erased wrapping
    impl_->execute(shared_from_this(), std::move(req), std::move(handler), std::move(hex));
    return;
  }
  asio::dispatch(ex_, [self = shared_from_this(), req = std::move(req), h = std::move(handler),
                           hex = std::move(hex)]() mutable {
    self->impl_->execute(self, std::move(req), std::move(h), std::move(hex));
  });
}

void node_pool::impl::stop(std::error_code start_error)
{
  st = state::closed;
  health_timer.cancel();
  waiter_timer.cancel();
  armed_for = clock::time_point::max();
  for (auto& s : slots) {
    s->timer.cancel();
    ++s->gen; // whatever the old connection reports from now on is ignored
    if (s->conn) s->conn->close();
    mark_closed(*s);
  }
  while (!waiters.empty()) finish_waiter(waiters.begin()->first, client_errc::not_connected);
  complete_start(start_error);
  for (auto& g : graceful_handlers) post_completion(g.ex, std::move(g.handler), std::error_code{});
  graceful_handlers.clear();
}

void node_pool::impl::maybe_finish_graceful(const executor_type& ex)
{
  if (st != state::draining) return;
  for (const auto& s : slots) {
    if (s->st != slot::state::closed) return;
  }
  st = state::closed;
  for (auto& g : graceful_handlers) post_completion(g.ex, std::move(g.handler), std::error_code{});
  graceful_handlers.clear();
  // Released from a later handler: this may be the last reference, and we are inside the pool.
  asio::post(ex, [keep = std::move(keep_alive)]() {});
}

void node_pool::close()
{
  asio::dispatch(ex_, [self = shared_from_this()]() {
    auto& m = *self->impl_;
    if (m.st == impl::state::closed) return;
    m.stop(client_errc::cancelled);
    asio::post(self->ex_, [keep = std::move(m.keep_alive)]() {});
  });
}

void node_pool::start_close_gracefully(asio::any_completion_handler<close_signature> handler,
                                       asio::any_io_executor handler_ex)
{
  asio::dispatch(ex_, [self = shared_from_this(), h = std::move(handler), hex = std::move(handler_ex)]() mutable {
    auto& m = *self->impl_;
    if (m.st == impl::state::closed || m.st == impl::state::idle) {
      m.st = impl::state::closed;
      post_completion(hex, std::move(h), std::error_code{});
      return;
    }
    m.graceful_handlers.push_back({std::move(h), std::move(hex)});
    if (m.st == impl::state::draining) return;
    m.st = impl::state::draining;
    m.keep_alive = self;
    m.health_timer.cancel();
    m.waiter_timer.cancel();
    m.armed_for = clock::time_point::max();
    while (!m.waiters.empty()) m.finish_waiter(m.waiters.begin()->first, client_errc::not_connected);
    m.complete_start(client_errc::cancelled);
    for (auto& s : m.slots) {
      switch (s->st) {
      case impl::slot::state::open:
        s->conn->close_gracefully(); // its on_close marks the slot closed
        break;
      case impl::slot::state::connecting:
        s->conn->close(); // its connect completion marks the slot closed
        break;
      default:
        s->timer.cancel();
        s->st = impl::slot::state::closed;
        break;
      }
    }
    m.maybe_finish_graceful(self->ex_);
  });
}

} // namespace couchkv::io
