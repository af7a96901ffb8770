// node_pool against Debian's real memcached and against a fake node (answers, delays, stalls or
// stays silent). Every operation must complete exactly once; connections come back by themselves.
#include "io_test_support.hpp"

#include <couchkv/io/node_pool.hpp>
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/protocol/response.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>
#include <memcached_server.hpp>

#include <atomic>
#include <future>
#include <numeric>

using namespace couchkv;
using namespace couchkv::test;
using protocol::status;
using tcp = boost::asio::ip::tcp;

namespace {

// A fake node on loopback, on its own thread: accepts any number of connections and answers every
// request with SUCCESS after `delay`, except those whose key starts with "stall" (or all of them
// when silent), which it never answers.
struct fake_node_options {
  bool silent{false};
  std::chrono::milliseconds delay{0};
};

class fake_node {
public:
  using options = fake_node_options;
  explicit fake_node(options o = {}) : opts_(o)
  {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~fake_node()
  {
    io_.stop();
    thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] int accepted() const { return accepted_.load(); }

  // Sends `bytes` on every live connection (from the node's thread) and waits until done.
  void send_to_all(protocol::byte_buffer bytes)
  {
    on_node_thread([this, bytes] {
      for (auto& w : sessions_) {
        if (auto s = w.lock()) {
          boost::system::error_code ec;
          asio::write(s->socket, asio::buffer(bytes), ec);
        }
      }
    });
  }
  // Closes every connection, as a node restarting its process would.
  void drop_all()
  {
    on_node_thread([this] {
      for (auto& w : sessions_) {
        if (auto s = w.lock()) {
          boost::system::error_code ec;
          s->socket.close(ec);
        }
      }
    });
  }

private:
  struct session : std::enable_shared_from_this<session> {
    session(fake_node& n, tcp::socket s) : node(n), socket(std::move(s)) {}
    fake_node& node;
    tcp::socket socket;
    std::vector<std::byte> pending;
    std::array<std::byte, 16384> chunk{};

    void read()
    {
      socket.async_read_some(asio::buffer(chunk), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec) return;
        self->pending.insert(self->pending.end(), self->chunk.begin(), self->chunk.begin() + static_cast<std::ptrdiff_t>(n));
        self->answer();
        self->read();
      });
    }
    void answer()
    {
      protocol::byte_buffer out;
      std::span<const std::byte> rest(pending);
      while (true) {
        auto r = protocol::decode_packet(rest);
        if (r.state != protocol::decode_state::complete) break;
        bool stall = node.opts_.silent || protocol::as_string_view(r.packet.key).starts_with("stall");
        if (!stall) protocol::append_response(out, {.op = r.packet.hdr.opcode, .opaque = r.packet.opaque()});
        rest = rest.subspan(r.consumed);
      }
      pending.erase(pending.begin(), pending.end() - static_cast<std::ptrdiff_t>(rest.size()));
      if (out.empty()) return;
      if (node.opts_.delay.count() == 0) {
        boost::system::error_code ec;
        asio::write(socket, asio::buffer(out), ec);
        return;
      }
      auto timer = std::make_shared<asio::steady_timer>(socket.get_executor(), node.opts_.delay);
      timer->async_wait([self = shared_from_this(), timer, out = std::move(out)](boost::system::error_code) {
        boost::system::error_code ec;
        asio::write(self->socket, asio::buffer(out), ec);
      });
    }
  };

  void accept()
  {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++accepted_;
      auto sess = std::make_shared<session>(*this, std::move(s));
      sessions_.push_back(sess);
      sess->read();
      accept();
    });
  }
  template <class F>
  void on_node_thread(F f)
  {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  options opts_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::vector<std::weak_ptr<session>> sessions_;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

io::pool_settings memcached_pool(std::uint16_t port, std::size_t n)
{
  io::pool_settings s;
  s.connection.port = port;
  s.connection.bootstrap.hello = false; // plain memcached
  s.size = n;
  return s;
}

io::pool_settings fake_pool(std::uint16_t port, std::size_t n)
{
  io::pool_settings s;
  s.connection.port = port;
  s.connection.run_bootstrap = false;
  s.size = n;
  return s;
}

std::shared_ptr<io::node_pool> start(io_thread& t, io::pool_settings s, std::error_code* out_ec = nullptr)
{
  auto p = io::node_pool::create(t.io.get_executor(), std::move(s));
  std::promise<std::error_code> done;
  p->async_start([&done](std::error_code ec) { done.set_value(ec); });
  auto ec = done.get_future().get();
  if (out_ec) *out_ec = ec;
  else EXPECT_FALSE(ec) << ec.message();
  return p;
}

using result = std::pair<std::error_code, io::kv_response>;

std::future<result> submit(io::node_pool& p, protocol::byte_buffer packet,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5))
{
  auto prom = std::make_shared<std::promise<result>>();
  auto f = prom->get_future();
  p.async_execute(request(std::move(packet), timeout),
                  [prom](std::error_code ec, io::kv_response r) { prom->set_value({ec, std::move(r)}); });
  return f;
}

result run(io::node_pool& p, protocol::byte_buffer packet, std::chrono::milliseconds timeout = std::chrono::seconds(5))
{
  return submit(p, std::move(packet), timeout).get();
}

protocol::byte_buffer get_packet(std::string_view key)
{
  protocol::byte_buffer b;
  protocol::append_get(b, 0, {.key = key});
  return b;
}

protocol::byte_buffer set_packet(std::string_view key, std::string_view value)
{
  protocol::byte_buffer b;
  protocol::append_store(b, protocol::opcode::set, 0, {.key = key}, {.value = protocol::as_bytes(value)});
  return b;
}

// Polls a condition on the pool's counters (which have no completion to wait on), bounded.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10))
{
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

} // namespace

// ---- pure pieces ------------------------------------------------------------------------------

TEST(node_pool_unit, reconnect_delay_doubles_is_capped_and_jittered)
{
  io::pool_settings s; // 50 ms doubling to 2 s, jitter 0.5
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(io::reconnect_delay(s, 0, 0.0), ms(50));
  EXPECT_EQ(io::reconnect_delay(s, 1, 0.0), ms(100));
  EXPECT_EQ(io::reconnect_delay(s, 5, 0.0), ms(1600));
  EXPECT_EQ(io::reconnect_delay(s, 6, 0.0), ms(2000));
  EXPECT_EQ(io::reconnect_delay(s, 1000, 0.0), ms(2000)); // no overflow however long it lasts
  EXPECT_EQ(io::reconnect_delay(s, 0, 1.0), ms(25));       // jitter only shortens
  EXPECT_EQ(io::reconnect_delay(s, 1000, 0.5), ms(1500));
  EXPECT_EQ(io::reconnect_delay(s, 0, 7.0), ms(25)); // u out of range is clamped
  s.reconnect_jitter = 0.0;
  EXPECT_EQ(io::reconnect_delay(s, 3, 0.9), ms(400));
  s.reconnect_initial = ms(1);
  s.reconnect_jitter = 1.0;
  EXPECT_EQ(io::reconnect_delay(s, 0, 1.0), ms(1)); // never zero: no busy loop
}

TEST(node_pool_unit, bad_settings_are_refused_with_a_clear_error)
{
  asio::io_context io;
  auto expect_refused = [&](io::pool_settings s, std::string_view what) {
    try {
      io::node_pool::create(io.get_executor(), s);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find(what), std::string_view::npos) << e.what();
    }
  };
  io::pool_settings s;
  s.size = 0;
  expect_refused(s, "size");
  s = {};
  s.reconnect_initial = std::chrono::milliseconds(0);
  expect_refused(s, "reconnect_initial");
  s = {};
  s.reconnect_max = std::chrono::milliseconds(10);
  expect_refused(s, "reconnect_max");
  s = {};
  s.reconnect_jitter = 1.5;
  expect_refused(s, "jitter");
  s = {};
  s.max_in_flight = 0;
  expect_refused(s, "max_in_flight");
  s = {};
  s.connection.tls = true;
  expect_refused(s, "ssl_context");
}

// ---- against memcached --------------------------------------------------------------------------

TEST(node_pool_memcached, ten_thousand_pipelined_gets_spread_over_all_four_connections)
{
  memcached_server server;
  io_thread t;
  auto p = start(t, memcached_pool(server.port(), 4));
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 4; }));
  auto [ec, r] = run(*p, set_packet("shared", "value"));
  ASSERT_FALSE(ec);
  ASSERT_EQ(r.status(), status::success);

  constexpr int n = 10000;
  std::vector<std::future<result>> gets;
  gets.reserve(n);
  for (int i = 0; i < n; ++i) gets.push_back(submit(*p, get_packet("shared")));
  for (int i = 0; i < n; ++i) {
    auto [gec, gr] = gets[static_cast<std::size_t>(i)].get();
    ASSERT_FALSE(gec) << i << ": " << gec.message();
    ASSERT_EQ(gr.value_string(), "value") << i;
  }
  auto st = p->stats();
  ASSERT_EQ(st.connections.size(), 4u);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GT(st.connections[i].succeeded, 0u) << "connection " << i << " served nothing";
    EXPECT_EQ(st.connections[i].in_flight, 0u);
    EXPECT_EQ(st.connections[i].failed, 0u);
    total += st.connections[i].succeeded;
  }
  EXPECT_EQ(total, n + 1u);
  p->close();
}

TEST(node_pool_memcached, killed_server_fails_every_op_once_and_a_restart_is_found_by_itself)
{
  memcached_server server;
  io_thread t;
  auto p = start(t, memcached_pool(server.port(), 4));
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 4; }));

  constexpr int n = 4000;
  std::atomic<int> completions{0}, errors{0}, doubles{0};
  std::vector<std::atomic<int>> seen(n);
  std::promise<void> all;
  std::string big(4000, 'v');
  for (int i = 0; i < n; ++i) {
    p->async_execute(request(set_packet("k" + std::to_string(i), big), std::chrono::seconds(2)),
                     [&, i](std::error_code ec, io::kv_response) {
                       if (seen[static_cast<std::size_t>(i)].fetch_add(1) != 0) ++doubles;
                       if (ec) ++errors;
                       if (++completions == n) all.set_value();
                     });
    if (i == n / 4) server.kill();
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(completions.load(), n);
  EXPECT_EQ(doubles.load(), 0);
  EXPECT_GT(errors.load(), 0);
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 0; }));

  // While the node is down, operations wait (bounded by their deadline) for a connection ...
  constexpr int m = 100;
  std::vector<std::future<result>> waiting;
  for (int i = 0; i < m; ++i) waiting.push_back(submit(*p, set_packet("after-" + std::to_string(i), "x"), std::chrono::seconds(20)));
  ASSERT_TRUE(eventually([&] { return p->stats().waiting == m; }));
  ASSERT_TRUE(eventually([&] { return p->stats().connect_failures >= 4; })); // every slot keeps trying
  // ... and once it is back on the same port, the pool reconnects without being asked.
  server.start();
  for (auto& f : waiting) {
    auto [ec, r] = f.get();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.status(), status::success);
  }
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 4; }));
  auto st = p->stats();
  EXPECT_GE(st.reconnects, 4u);
  auto [ec, r] = run(*p, get_packet("after-7"));
  ASSERT_FALSE(ec);
  EXPECT_EQ(r.value_string(), "x");
  // Every operation routed to a slot was counted there once, by whichever of its connections had
  // it, dead or alive: in flight none, succeeded + failed = routed, some failed.
  st = p->stats();
  std::uint64_t routed = 0, finished = 0, failed = 0;
  for (const auto& c : st.connections) {
    EXPECT_EQ(c.in_flight, 0u);
    routed += c.routed;
    finished += c.succeeded + c.failed;
    failed += c.failed;
  }
  EXPECT_EQ(finished, routed);
  EXPECT_GT(failed, 0u);
  EXPECT_LE(failed, static_cast<std::uint64_t>(errors.load()));
  p->close();
}

// A batch is counted in its connection's statistics like as many operations, with no layer of
// the pool around its sink: routed, in flight until answered, then succeeded.
TEST(node_pool_memcached, batches_are_counted_per_connection_like_operations)
{
  memcached_server server;
  io_thread t;
  auto p = start(t, memcached_pool(server.port(), 2));
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 2; }));
  ASSERT_FALSE(run(*p, set_packet("batched", "value")).first);
  struct counting_sink final : io::batch_sink {
    std::atomic<int> ok{0}, bad{0};
    void on_response(std::size_t, const protocol::packet_view& r) override { ++(r.status() == status::success ? ok : bad); }
    void on_error(std::size_t, std::error_code) override { ++bad; }
  } sink;
  constexpr int batches = 10, per_batch = 100;
  std::promise<std::vector<std::error_code>> sent;
  asio::post(p->get_executor(), [&] {
    protocol::byte_buffer packets;
    for (int k = 0; k < per_batch; ++k) protocol::append_plain_get(packets, "batched", 0);
    std::vector<std::error_code> out;
    for (int b = 0; b < batches; ++b) out.push_back(p->execute_batch(packets, per_batch, io::clock::time_point::max(), sink));
    sent.set_value(out);
  });
  for (auto ec : sent.get_future().get()) ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(eventually([&] { return sink.ok + sink.bad == batches * per_batch; }));
  EXPECT_EQ(sink.bad.load(), 0);
  auto st = p->stats();
  std::uint64_t routed = 0, succeeded = 0;
  for (const auto& c : st.connections) {
    EXPECT_EQ(c.in_flight, 0u);
    EXPECT_EQ(c.failed, 0u);
    routed += c.routed;
    succeeded += c.succeeded;
  }
  EXPECT_EQ(routed, batches * per_batch + 1u); // and the SET
  EXPECT_EQ(succeeded, routed);
  p->close();
}

TEST(node_pool_memcached, health_checks_on_a_healthy_node_close_nothing)
{
  memcached_server server;
  io_thread t;
  auto s = memcached_pool(server.port(), 2);
  s.health_check_interval = std::chrono::milliseconds(20);
  auto p = start(t, s);
  ASSERT_TRUE(eventually([&] { return p->stats().health_checks >= 8; }));
  auto st = p->stats();
  EXPECT_EQ(st.health_check_failures, 0u);
  EXPECT_EQ(st.reconnects, 0u);
  EXPECT_EQ(st.open_connections, 2u);
  p->close();
}

// ---- against a fake node ------------------------------------------------------------------------

TEST(node_pool_fake_peer, health_check_recycles_a_connection_whose_peer_stopped_answering)
{
  fake_node node({.silent = true});
  io_thread t;
  auto s = fake_pool(node.port(), 1);
  s.health_check_interval = std::chrono::milliseconds(50);
  s.health_check_timeout = std::chrono::milliseconds(100);
  auto p = start(t, s);
  ASSERT_TRUE(eventually([&] {
    auto st = p->stats();
    return st.health_check_failures >= 1 && st.reconnects >= 1;
  })) << "failures " << p->stats().health_check_failures << " reconnects " << p->stats().reconnects;
  // The silent connection was replaced by a new one. The pool counts the reconnect when its
  // connect completes, which can be before the fake node's thread has run its accept handler.
  EXPECT_TRUE(eventually([&] { return node.accepted() >= 2; })) << "accepted " << node.accepted();
  EXPECT_EQ(p->stats().connections[0].reconnects, p->stats().reconnects);
  p->close();
}

TEST(node_pool_fake_peer, new_operations_avoid_the_busy_connection)
{
  fake_node node;
  io_thread t;
  auto p = start(t, fake_pool(node.port(), 2));
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 2; }));
  auto stalled = submit(*p, get_packet("stall-1"), std::chrono::seconds(20)); // never answered
  for (int i = 0; i < 50; ++i) {
    auto [ec, r] = run(*p, get_packet("k" + std::to_string(i)));
    ASSERT_FALSE(ec) << ec.message();
  }
  auto st = p->stats();
  auto busy = st.connections[0].in_flight == 1 ? 0u : 1u;
  EXPECT_EQ(st.connections[busy].in_flight, 1u);
  EXPECT_EQ(st.connections[busy].routed, 1u);
  EXPECT_EQ(st.connections[1 - busy].routed, 50u);
  EXPECT_EQ(st.connections[1 - busy].succeeded, 50u);
  p->close(); // the stalled one was written: it may have run
  EXPECT_EQ(stalled.get().first, protocol::client_errc::connection_closed);
}

TEST(node_pool_fake_peer, queue_full_when_every_connection_is_at_max_in_flight)
{
  fake_node node;
  io_thread t;
  auto s = fake_pool(node.port(), 2);
  s.max_in_flight = 2;
  auto p = start(t, s);
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 2; }));
  std::vector<std::future<result>> stalled;
  for (int i = 0; i < 4; ++i) stalled.push_back(submit(*p, get_packet("stall-" + std::to_string(i)), std::chrono::seconds(20)));
  EXPECT_EQ(run(*p, get_packet("one-more")).first, protocol::client_errc::queue_full);
  auto st = p->stats();
  EXPECT_EQ(st.connections[0].in_flight, 2u); // the four were spread two and two
  EXPECT_EQ(st.connections[1].in_flight, 2u);
  p->close();
  for (auto& f : stalled) EXPECT_EQ(f.get().first, protocol::client_errc::connection_closed);
}

TEST(node_pool_fake_peer, close_gracefully_lets_in_flight_operations_finish)
{
  fake_node node({.delay = std::chrono::milliseconds(100)});
  io_thread t;
  auto p = start(t, fake_pool(node.port(), 2));
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 2; }));
  constexpr int n = 20;
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < n; ++i) {
    p->async_execute(request(get_packet("k" + std::to_string(i))), [&](std::error_code ec, io::kv_response) {
      ++(ec ? failed : ok);
    });
  }
  std::promise<int> closed; // how many had succeeded when the close completed
  p->async_close_gracefully([&](std::error_code ec) {
    EXPECT_FALSE(ec);
    closed.set_value(ok.load());
  });
  auto [ec, r] = run(*p, get_packet("late"));
  EXPECT_EQ(ec, protocol::client_errc::not_connected); // no new operations once closing
  auto f = closed.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(f.get(), n);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(p->stats().open_connections, 0u);
  // Closing again completes at once.
  std::promise<std::error_code> again;
  p->async_close_gracefully([&](std::error_code e) { again.set_value(e); });
  EXPECT_FALSE(again.get_future().get());
}

TEST(node_pool_fake_peer, close_fails_every_pending_operation_once_and_stops_reconnecting)
{
  fake_node node({.silent = true});
  io_thread t;
  auto p = start(t, fake_pool(node.port(), 2));
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 2; }));
  constexpr int n = 10;
  std::vector<std::future<result>> ops;
  for (int i = 0; i < n; ++i) ops.push_back(submit(*p, get_packet("k" + std::to_string(i)), std::chrono::seconds(30)));
  ASSERT_TRUE(eventually([&] {
    auto st = p->stats();
    return st.connections[0].in_flight + st.connections[1].in_flight == n;
  }));
  auto t0 = std::chrono::steady_clock::now();
  p->close();
  for (auto& f : ops) {
    auto ec = f.get().first;
    EXPECT_TRUE(ec == protocol::client_errc::connection_closed || ec == protocol::client_errc::not_connected) << ec.message();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)); // not their deadlines
  EXPECT_EQ(run(*p, get_packet("x")).first, protocol::client_errc::not_connected);
  EXPECT_EQ(p->stats().open_connections, 0u);
  EXPECT_EQ(node.accepted(), 2);
}

TEST(node_pool_fake_peer, server_requests_opened_and_lost_connections_are_forwarded)
{
  fake_node node;
  io_thread t;
  auto p = io::node_pool::create(t.io.get_executor(), fake_pool(node.port(), 1));
  std::promise<std::uint8_t> pushed;
  std::promise<std::error_code> lost;
  std::atomic<int> pushes{0}, losses{0}, opens{0};
  EXPECT_FALSE(p->has_open_connection());
  p->on_open([&] {
    EXPECT_TRUE(p->has_open_connection()); // called once the connection counts as open
    ++opens;
  });
  p->on_server_request([&](const protocol::packet_view& pkt) {
    if (pushes++ == 0) pushed.set_value(pkt.hdr.opcode);
  });
  p->on_close([&](std::error_code ec) {
    if (losses++ == 0) lost.set_value(ec);
  });
  std::promise<std::error_code> started;
  p->async_start([&](std::error_code ec) { started.set_value(ec); });
  ASSERT_FALSE(started.get_future().get());
  EXPECT_TRUE(p->has_open_connection());
  EXPECT_TRUE(eventually([&] { return opens.load() == 1; }));

  // The client's connect can complete before the node's accept handler ran: a push sent before
  // then would go to nobody.
  ASSERT_TRUE(eventually([&] { return node.accepted() == 1; }));
  protocol::byte_buffer push;
  protocol::append_server_request(push, {.op = protocol::server_opcode::clustermap_change_notification});
  node.send_to_all(push);
  EXPECT_EQ(pushed.get_future().get(), static_cast<std::uint8_t>(protocol::server_opcode::clustermap_change_notification));

  node.drop_all();
  EXPECT_EQ(lost.get_future().get(), protocol::client_errc::connection_closed);
  ASSERT_TRUE(eventually([&] { return p->stats().reconnects == 1 && p->stats().open_connections == 1; }));
  EXPECT_TRUE(eventually([&] { return opens.load() == 2; })); // the replacement is announced too
  EXPECT_FALSE(run(*p, get_packet("again")).first);
  p->close();
  EXPECT_EQ(opens.load(), 2);
}

TEST(node_pool_no_server, fails_fast_or_waits_until_the_deadline_and_honours_cancellation)
{
  io_thread t;
  refused_loopback_port refused;
  auto port = refused.port(); // nobody listens, nobody can
  auto s = fake_pool(port, 2);
  s.wait_for_connection = false;
  auto before = io::node_pool::create(t.io.get_executor(), s);
  EXPECT_EQ(run(*before, get_packet("x")).first, protocol::client_errc::not_connected); // not started

  std::error_code ec;
  auto fast = start(t, s, &ec);
  EXPECT_EQ(ec, protocol::client_errc::connection_failed); // every first attempt failed
  EXPECT_EQ(run(*fast, get_packet("x")).first, protocol::client_errc::not_connected);
  EXPECT_GE(fast->stats().connect_failures, 2u);
  fast->close();

  s.wait_for_connection = true;
  auto waiting = start(t, s, &ec);
  EXPECT_EQ(ec, protocol::client_errc::connection_failed);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run(*waiting, get_packet("x"), std::chrono::milliseconds(150)).first, protocol::client_errc::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));

  // Waiting is bounded by max_connection_wait as well as by the deadline; 0 turns it off.
  s.max_connection_wait = std::chrono::milliseconds(0);
  auto no_wait = start(t, s, &ec);
  EXPECT_EQ(run(*no_wait, get_packet("x"), std::chrono::seconds(30)).first, protocol::client_errc::not_connected);
  no_wait->close();
  s.max_connection_wait = std::chrono::milliseconds(100);
  auto short_wait = start(t, s, &ec);
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run(*short_wait, get_packet("x"), std::chrono::seconds(30)).first, protocol::client_errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  short_wait->close();

  asio::cancellation_signal signal;
  std::promise<std::error_code> cancelled;
  waiting->async_execute(request(get_packet("y"), std::chrono::seconds(30)),
                         asio::bind_cancellation_slot(signal.slot(), [&](std::error_code e, io::kv_response) {
                           cancelled.set_value(e);
                         }));
  ASSERT_TRUE(eventually([&] { return waiting->stats().waiting == 1; }));
  asio::post(waiting->get_executor(), [&] { signal.emit(asio::cancellation_type::terminal); });
  EXPECT_EQ(cancelled.get_future().get(), protocol::client_errc::cancelled);

  auto parked = submit(*waiting, get_packet("z"), std::chrono::seconds(30));
  ASSERT_TRUE(eventually([&] { return waiting->stats().waiting == 1; }));
  waiting->close(); // waiting operations were never sent
  EXPECT_EQ(parked.get().first, protocol::client_errc::not_connected);
  EXPECT_EQ(waiting->stats().waiting, 0u);
}

TEST(node_pool_no_server, reconnect_attempts_back_off)
{
  io_thread t;
  refused_loopback_port refused;
  auto s = fake_pool(refused.port(), 1); // nobody listens, nobody can
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  auto p = start(t, s, &ec);
  EXPECT_EQ(ec, protocol::client_errc::connection_failed);
  // The first attempt, then retries after at least 50, 100 and 200 ms (nominal 100, 200, 400,
  // shortened by at most half by the jitter): a busy loop would get there at once.
  ASSERT_TRUE(eventually([&] { return p->stats().connect_failures >= 4; }));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, std::chrono::milliseconds(350));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  p->close();
  auto failures = p->stats().connect_failures;
  EXPECT_LE(failures, 5u);
}

TEST(node_pool_fake_peer, dropping_the_last_reference_closes_the_pool)
{
  fake_node node({.silent = true});
  io_thread t;
  auto p = start(t, fake_pool(node.port(), 2));
  ASSERT_TRUE(eventually([&] { return p->stats().open_connections == 2; }));
  auto op = submit(*p, get_packet("k"), std::chrono::seconds(30));
  ASSERT_TRUE(eventually([&] { return p->stats().connections[0].in_flight + p->stats().connections[1].in_flight == 1; }));
  std::weak_ptr<io::node_pool> weak = p;
  p.reset();
  EXPECT_EQ(op.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(op.get().first);
  EXPECT_TRUE(eventually([&] { return weak.expired(); }));
}
