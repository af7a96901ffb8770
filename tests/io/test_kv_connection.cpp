// kv_connection against Debian's real memcached (plain, SASL, TLS) and against fake peers that
// misbehave. Every operation must complete exactly once.
#include "io_test_support.hpp"

#include <couchkv/errors.hpp> // the conditions the results are compared with
#include <couchkv/protocol/request.hpp>
#include <couchkv/protocol/response.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>
#include <memcached_server.hpp>
#include <tls_certificate.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>

using namespace couchkv;
using namespace couchkv::test;
using protocol::opcode;
using protocol::status;

namespace {

io::connection_settings memcached_settings(std::uint16_t port)
{
  io::connection_settings s;
  s.port = port;
  s.bootstrap.hello = false; // plain memcached (see bootstrap_settings::hello)
  return s;
}

std::shared_ptr<io::kv_connection> connect(io_thread& t, io::connection_settings s, std::error_code* out_ec = nullptr)
{
  auto c = io::kv_connection::create(t.io.get_executor(), std::move(s));
  std::promise<std::error_code> p;
  c->async_connect([&p](std::error_code ec) { p.set_value(ec); });
  auto ec = p.get_future().get();
  if (out_ec) {
    *out_ec = ec;
  } else {
    EXPECT_FALSE(ec) << ec.message() << " / " << c->last_error_detail();
  }
  return c;
}

protocol::byte_buffer set_packet(std::string_view key, std::string_view value, opcode op = opcode::set,
                                 std::uint64_t cas = 0)
{
  protocol::byte_buffer b;
  protocol::append_store(b, op, 0, {.key = key}, {.value = protocol::as_bytes(value), .flags = 0x02000000, .cas = cas});
  return b;
}

protocol::byte_buffer get_packet(std::string_view key)
{
  protocol::byte_buffer b;
  protocol::append_get(b, 0, {.key = key});
  return b;
}

} // namespace

TEST(kv_connection_memcached, every_memcached_operation)
{
  memcached_server server;
  io_thread t;
  auto c = connect(t, memcached_settings(server.port()));

  auto [ec, r] = run(*c, set_packet("k1", "hello"));
  ASSERT_FALSE(ec);
  EXPECT_EQ(r.status(), status::success);
  auto cas = r.cas();
  EXPECT_NE(cas, 0u);

  std::tie(ec, r) = run(*c, get_packet("k1"));
  EXPECT_EQ(r.status(), status::success);
  EXPECT_EQ(r.value_string(), "hello");
  ASSERT_EQ(r.extras().size(), 4u);
  EXPECT_EQ(protocol::load_be32(r.extras().data()), 0x02000000u);
  EXPECT_EQ(r.cas(), cas);

  std::tie(ec, r) = run(*c, set_packet("k1", "x", opcode::add));
  EXPECT_EQ(protocol::make_kv_error(opcode::add, r.status()), couchkv::errc::document_exists);
  std::tie(ec, r) = run(*c, set_packet("k1", "x", opcode::replace, cas + 1000));
  EXPECT_EQ(protocol::make_kv_error(opcode::replace, r.status(), true), couchkv::errc::cas_mismatch);
  std::tie(ec, r) = run(*c, set_packet("k1", "hello2", opcode::replace, cas));
  EXPECT_EQ(r.status(), status::success);
  std::tie(ec, r) = run(*c, set_packet("nope", "x", opcode::replace));
  EXPECT_EQ(protocol::make_kv_error(opcode::replace, r.status()), couchkv::errc::document_not_found);

  protocol::byte_buffer b;
  protocol::append_concat(b, opcode::append, 0, {.key = "k1"}, protocol::as_bytes("!"), 0);
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(r.status(), status::success);
  b.clear();
  protocol::append_concat(b, opcode::prepend, 0, {.key = "k1"}, protocol::as_bytes("<"), 0);
  std::tie(ec, r) = run(*c, b);
  std::tie(ec, r) = run(*c, get_packet("k1"));
  EXPECT_EQ(r.value_string(), "<hello2!");

  b.clear();
  protocol::append_counter(b, opcode::increment, 0, {.key = "ctr"}, {.delta = 5, .initial = 100});
  std::tie(ec, r) = run(*c, b);
  ASSERT_EQ(r.status(), status::success);
  EXPECT_EQ(protocol::load_be64(r.value().data()), 100u); // created with the initial value
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(protocol::load_be64(r.value().data()), 105u);
  b.clear();
  protocol::append_counter(b, opcode::decrement, 0, {.key = "ctr"}, {.delta = 1000});
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(protocol::load_be64(r.value().data()), 0u); // floors at zero
  b.clear();
  protocol::append_counter(b, opcode::increment, 0, {.key = "k1"}, {.delta = 1});
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(protocol::make_kv_error(opcode::increment, r.status()), couchkv::errc::delta_invalid);
  b.clear();
  protocol::append_counter(b, opcode::increment, 0, {.key = "missing-ctr"}, {.delta = 1, .expiry = 0xffffffff});
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(r.status(), status::key_enoent);

  b.clear();
  protocol::append_touch(b, 0, {.key = "k1"}, 100);
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(r.status(), status::success);
  b.clear();
  protocol::append_gat(b, 0, {.key = "k1"}, 100);
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(r.status(), status::success);
  EXPECT_EQ(r.value_string(), "<hello2!");

  b.clear();
  protocol::append_delete(b, 0, {.key = "k1"}, 0);
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(r.status(), status::success);
  std::tie(ec, r) = run(*c, get_packet("k1"));
  EXPECT_EQ(r.status(), status::key_enoent);

  b.clear();
  protocol::append_noop(b, 0);
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(r.status(), status::success);
  b.clear();
  protocol::append_version(b, 0);
  std::tie(ec, r) = run(*c, b);
  EXPECT_EQ(r.value_string().substr(0, 2), "1.");
}

TEST(kv_connection_memcached, ten_thousand_pipelined_operations_match_their_results)
{
  memcached_server server;
  io_thread t;
  auto c = connect(t, memcached_settings(server.port()));
  constexpr int n = 10000;
  std::vector<std::promise<std::pair<std::error_code, io::kv_response>>> sets(n), gets(n);
  for (int i = 0; i < n; ++i) {
    auto key = "key-" + std::to_string(i);
    c->async_execute(request(set_packet(key, "value-" + std::to_string(i))), [&sets, i](std::error_code ec, io::kv_response r) {
      sets[i].set_value({ec, std::move(r)});
    });
  }
  for (int i = 0; i < n; ++i) {
    c->async_execute(request(get_packet("key-" + std::to_string(i))), [&gets, i](std::error_code ec, io::kv_response r) {
      gets[i].set_value({ec, std::move(r)});
    });
  }
  for (int i = 0; i < n; ++i) {
    auto [ec, r] = sets[i].get_future().get();
    ASSERT_FALSE(ec) << i;
    ASSERT_EQ(r.status(), status::success) << i;
  }
  for (int i = 0; i < n; ++i) {
    auto [ec, r] = gets[i].get_future().get();
    ASSERT_FALSE(ec) << i;
    ASSERT_EQ(r.value_string(), "value-" + std::to_string(i)) << i;
  }
  auto st = c->stats();
  EXPECT_EQ(st.completed, 2u * n);
  EXPECT_LT(st.flushes, 2u * n); // writes were coalesced
  EXPECT_EQ(st.orphans, 0u);
}

// A request built in io::request_buffer() on the connection's thread comes back to that thread's
// cache once the connection has queued it: the next request reuses its memory. A buffer too large
// to be worth keeping is freed instead.
TEST(kv_connection_memcached, request_buffers_are_reused_on_the_connections_thread)
{
  memcached_server server;
  io_thread t;
  auto c = connect(t, memcached_settings(server.port()));
  ASSERT_TRUE(run(*c, set_packet("recycled", "v")).first == std::error_code{});

  // Runs on the io thread: issue a GET built in request_buffer(), then report which memory the
  // next request_buffer() returns.
  auto round = [&](std::size_t padding) {
    std::promise<std::pair<const std::byte*, const std::byte*>> p;
    asio::post(t.io, [&] {
      auto b = io::request_buffer();
      b.reserve(padding);
      protocol::append_get(b, 0, {.key = "recycled"});
      const std::byte* sent = b.data();
      c->async_execute(request(std::move(b)), [&p, sent](std::error_code ec, io::kv_response r) {
        EXPECT_FALSE(ec);
        EXPECT_EQ(r.value_string(), "v");
        auto next = io::request_buffer();
        EXPECT_TRUE(next.empty());
        p.set_value({sent, next.capacity() > 0 ? next.data() : nullptr});
      });
    });
    return p.get_future().get();
  };
  auto [sent, reused] = round(64);
  EXPECT_EQ(reused, sent) << "the request's buffer was not handed back for the next request";
  auto [big, after_big] = round(1 << 20);
  EXPECT_NE(after_big, big) << "a 1 MiB request buffer was kept in the cache";
}

// A handler without an allocator of its own is type-erased in the thread's handler block cache
// (io::handler_allocator), not through malloc: issuing a request from a completion, where the
// cache holds the block the completed handler gave back, takes a block from it.
TEST(kv_connection_memcached, a_requests_handler_comes_from_the_threads_block_cache)
{
  memcached_server server;
  io_thread t;
  auto c = connect(t, memcached_settings(server.port()));
  ASSERT_TRUE(run(*c, set_packet("cached", "v")).first == std::error_code{});
  auto cached = [] {
    std::size_t n = 0;
    for (std::size_t size = 64; size <= io::detail::max_pooled_size; size *= 2) n += io::detail::pooled_cached(size);
    return n;
  };
  std::promise<std::pair<std::size_t, std::size_t>> p;
  asio::post(t.io, [&] {
    c->async_execute(request(get_packet("cached")), [&](std::error_code ec, io::kv_response r) {
      EXPECT_FALSE(ec);
      EXPECT_EQ(r.value_string(), "v");
      // Once this completion is over (its handler and its sink given back), the next request
      // takes both blocks from the cache.
      asio::post(t.io, [&] {
        const auto before = cached();
        c->async_execute(request(get_packet("cached")), [](std::error_code, io::kv_response) {});
        p.set_value({before, cached()});
      });
    });
  });
  auto [before, after] = p.get_future().get();
  EXPECT_GT(before, 1u) << "the completed request's blocks were not given back to the cache";
  // Two blocks: the type-erased handler and the sink that holds it (response_sink.hpp).
  EXPECT_EQ(after, before - 2) << "the new request's handler and sink did not come from the cache";
}

// An application that runs one thread may tell Asio so (BOOST_ASIO_CONCURRENCY_HINT_UNSAFE: no
// locking, and no resolver thread can post to it). Connecting to an address must not need the
// resolver; a host name still goes through it.
TEST(kv_connection_memcached, an_address_connects_without_the_resolver_thread)
{
  memcached_server server;
  {
    asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
    // The connection keeps a read pending, so run() would not return: run until `done` (5 s at most).
    auto run_until = [&io](const auto& done) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!done() && std::chrono::steady_clock::now() < give_up) io.run_one_for(std::chrono::milliseconds(100));
    };
    auto c = io::kv_connection::create(io.get_executor(), memcached_settings(server.port()));
    std::optional<std::error_code> connected;
    c->async_connect([&](std::error_code ec) { connected = ec; });
    run_until([&] { return connected.has_value(); });
    ASSERT_TRUE(connected.has_value()) << "connect never completed";
    ASSERT_FALSE(*connected) << connected->message() << " / " << c->last_error_detail();
    std::optional<std::error_code> got;
    c->async_execute(request(set_packet("unsafe-hint", "v")), [&](std::error_code ec, io::kv_response r) {
      got = ec ? ec : (r.status() == status::success ? std::error_code{} : make_error_code(std::errc::io_error));
    });
    run_until([&] { return got.has_value(); });
    ASSERT_TRUE(got.has_value());
    EXPECT_FALSE(*got) << got->message();
    c->close();
    run_until([&] { return !c->is_open(); });
  }
  io_thread t;
  auto settings = memcached_settings(server.port());
  settings.host = "localhost";
  auto named = connect(t, settings);
  EXPECT_TRUE(named->is_open()) << named->last_error_detail();
}

TEST(kv_connection_memcached, sasl_plain_against_memcached_dash_S)
{
  auto dir = temp_dir("sasl");
  ASSERT_EQ(std::system(("echo secret | saslpasswd2 -p -a memcached -c -f " + dir + "/sasldb alice").c_str()), 0)
      << "saslpasswd2 (sasl2-bin) is required";
  std::ofstream(dir + "/memcached.conf") << "mech_list: plain\nsasldb_path: " << dir << "/sasldb\n";
  memcached_server server({.extra_args = {"-S"}, .env = {"SASL_CONF_PATH=" + dir}});
  io_thread t;
  auto settings = memcached_settings(server.port());
  settings.bootstrap.creds = io::credentials{"alice", "secret"};
  settings.bootstrap.allow_plain = true;
  auto c = connect(t, settings);
  EXPECT_EQ(c->bootstrap().mechanism, protocol::sasl_mechanism::plain);
  auto [ec, r] = run(*c, set_packet("authed", "yes"));
  EXPECT_EQ(r.status(), status::success);

  settings.bootstrap.creds = io::credentials{"alice", "wrong"};
  std::error_code ec2;
  auto bad = connect(t, settings, &ec2);
  EXPECT_EQ(ec2, couchkv::errc::authentication_failure) << ec2.message();
  EXPECT_NE(bad->last_error_detail().find("PLAIN"), std::string::npos);
  EXPECT_FALSE(bad->is_open());

  // Without allow_plain, PLAIN over plain TCP is refused before a password is sent.
  settings.bootstrap.creds = io::credentials{"alice", "secret"};
  settings.bootstrap.allow_plain = false;
  auto refused = connect(t, settings, &ec2);
  EXPECT_EQ(ec2, protocol::client_errc::sasl_no_common_mechanism);
  std::filesystem::remove_all(dir);
}

TEST(kv_connection_memcached, tls_with_a_generated_certificate)
{
  self_signed_certificate cert; // names localhost and 127.0.0.1
  memcached_server server({.extra_args = {"-Z", "-o", "ssl_chain_cert=" + cert.cert_file() + ",ssl_key=" + cert.key_file()}});
  io_thread t;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(cert.cert_file());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  auto settings = memcached_settings(server.port());
  settings.tls = true;
  settings.ssl_context = &ctx;
  auto c = connect(t, settings);
  auto [ec, r] = run(*c, set_packet("tls-key", "over tls"));
  ASSERT_FALSE(ec);
  std::tie(ec, r) = run(*c, get_packet("tls-key"));
  EXPECT_EQ(r.value_string(), "over tls");

  // The certificate does not name this host: hostname verification must refuse it.
  settings.tls_server_name = "db.example.com";
  std::error_code ec2;
  auto wrong = connect(t, settings, &ec2);
  EXPECT_EQ(ec2, protocol::client_errc::handshake_failed);
  EXPECT_NE(wrong->last_error_detail().find("TLS handshake"), std::string::npos) << wrong->last_error_detail();
  settings.tls_server_name = "localhost"; // a name the certificate does carry
  auto named = connect(t, settings);
  EXPECT_TRUE(named->is_open());
  // A client that trusts nothing refuses the self-signed certificate.
  asio::ssl::context empty(asio::ssl::context::tls_client);
  empty.set_verify_mode(asio::ssl::verify_peer);
  auto untrusting = memcached_settings(server.port());
  untrusting.tls = true;
  untrusting.ssl_context = &empty;
  auto refused = connect(t, untrusting, &ec2);
  EXPECT_EQ(ec2, protocol::client_errc::handshake_failed);
}

TEST(kv_connection_memcached, server_killed_mid_flight_completes_every_operation_once)
{
  memcached_server server;
  io_thread t;
  auto c = connect(t, memcached_settings(server.port()));
  constexpr int n = 2000;
  std::atomic<int> completions{0}, errors{0}, doubles{0};
  std::vector<std::atomic<int>> seen(n);
  std::promise<void> all;
  std::string big(4000, 'v');
  for (int i = 0; i < n; ++i) {
    c->async_execute(request(set_packet("k" + std::to_string(i), big)), [&, i](std::error_code ec, io::kv_response) {
      if (seen[i].fetch_add(1) != 0) ++doubles;
      if (ec) ++errors;
      if (++completions == n) all.set_value();
    });
    if (i == n / 4) server.kill();
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(completions.load(), n);
  EXPECT_EQ(doubles.load(), 0);
  EXPECT_GT(errors.load(), 0);
  EXPECT_FALSE(c->is_open());
  // After the connection died, new operations fail at once as "not sent".
  auto [ec, r] = run(*c, get_packet("k1"));
  EXPECT_EQ(ec, protocol::client_errc::not_connected);
}

namespace {
// A fake server: accepts one connection and runs `behaviour` on it.
template <class Behaviour>
struct fake_peer {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::thread thread;
  explicit fake_peer(Behaviour b)
      : thread([this, b]() mutable {
          asio::ip::tcp::socket s(io);
          acceptor.accept(s);
          b(s);
        })
  {
  }
  ~fake_peer() { thread.join(); }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
};

// A bare connection (no bootstrap) to a fake server.
std::shared_ptr<io::kv_connection> connect_bare(io_thread& t, std::uint16_t port)
{
  io::connection_settings s;
  s.port = port;
  s.run_bootstrap = false;
  return connect(t, s);
}

// A fake server's behaviour: read every request and answer none until `released` is ready, then
// answer each (success, its opaque) in the order received, and keep the socket open a little.
auto answer_all_when_released(std::shared_future<void> released)
{
  return [released](asio::ip::tcp::socket& s) {
    std::vector<std::byte> got;
    std::array<std::byte, 4096> buf;
    s.non_blocking(true);
    while (released.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
      boost::system::error_code ec;
      auto n = s.read_some(asio::buffer(buf), ec);
      if (!ec) got.insert(got.end(), buf.begin(), buf.begin() + n);
    }
    s.non_blocking(false);
    std::span<const std::byte> rest(got);
    protocol::byte_buffer out;
    for (auto r = protocol::decode_packet(rest); r.state == protocol::decode_state::complete;
         r = protocol::decode_packet(rest)) {
      protocol::append_response(out, {.op = r.packet.hdr.opcode, .opaque = r.packet.opaque()});
      rest = rest.subspan(r.consumed);
    }
    boost::system::error_code ec;
    asio::write(s, asio::buffer(out), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  };
}
} // namespace

TEST(kv_connection_fake_peer, garbage_from_the_server_fails_the_connection_cleanly)
{
  fake_peer peer([](asio::ip::tcp::socket& s) {
    std::array<char, 24> req{};
    boost::system::error_code ec;
    asio::read(s, asio::buffer(req), ec);
    std::string junk = "HTTP/1.1 400 Bad Request\r\n\r\n";
    asio::write(s, asio::buffer(junk), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  io_thread t;
  auto c = connect_bare(t, peer.port());
  auto [ec, r] = run(*c, get_packet("x"));
  EXPECT_EQ(ec, protocol::client_errc::connection_closed);
  EXPECT_NE(c->last_error_detail().find("undecodable"), std::string::npos) << c->last_error_detail();
  EXPECT_NE(c->last_error_detail().find("answered in HTTP"), std::string::npos) << c->last_error_detail();
  EXPECT_FALSE(c->is_open());
}

namespace {
// A fake HTTP server where the client expects KV: reads the first request bytes and, if `answer`,
// answers them as an HTTP server answers a request it cannot parse; then holds the connection
// until the client leaves, so that only the bytes can tell the client what it reached.
auto http_server(bool answer)
{
  return [answer](asio::ip::tcp::socket& s) {
    std::array<char, 4096> buf;
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);
    if (answer) {
      std::string reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      asio::write(s, asio::buffer(reply), ec);
    }
    while (!ec) s.read_some(asio::buffer(buf), ec);
  };
}
} // namespace

TEST(kv_connection_fake_peer, a_handshake_answered_in_http_fails_at_once_and_names_http)
{
  // Issue 19, item 6: it failed as "invalid magic byte", which named neither HTTP nor the remedy.
  fake_peer peer(http_server(true));
  io_thread t;
  io::connection_settings s;
  s.port = peer.port();
  ASSERT_EQ(s.connect_timeout, std::chrono::seconds(10));
  std::error_code ec;
  const auto t0 = io::clock::now();
  auto c = connect(t, s, &ec);
  EXPECT_LT(io::clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(ec, protocol::client_errc::kv_port_speaks_http) << ec.message();
  EXPECT_EQ(ec, errc::network_error);
  EXPECT_NE(ec.message().find("HTTP"), std::string::npos) << ec.message();
  const auto detail = c->last_error_detail();
  const auto port = std::to_string(peer.port());
  EXPECT_NE(detail.find("port " + port + " answered in HTTP (\"HTTP/1.1 400 Bad Request\")"), std::string::npos) << detail;
  EXPECT_NE(detail.find("not a KV port"), std::string::npos) << detail;
  EXPECT_NE(detail.find("host:" + port + "=http"), std::string::npos) << detail;
  EXPECT_FALSE(c->is_open());
}

TEST(kv_connection_fake_peer, a_handshake_without_a_byte_back_asks_whether_the_port_is_kv)
{
  // An HTTP server that waits for a request line never answers the binary HELLO.
  fake_peer peer(http_server(false));
  io_thread t;
  io::connection_settings s;
  s.port = peer.port();
  s.connect_timeout = std::chrono::milliseconds(300);
  std::error_code ec;
  auto c = connect(t, s, &ec);
  EXPECT_EQ(ec, protocol::client_errc::timeout);
  const auto detail = c->last_error_detail();
  const auto port = std::to_string(peer.port());
  EXPECT_NE(detail.find("without a byte from port " + port), std::string::npos) << detail;
  EXPECT_NE(detail.find("host:" + port + "=http"), std::string::npos) << detail;
}

TEST(kv_connection_fake_peer, an_answer_with_the_right_opaque_and_another_opcode_closes_the_connection)
{
  // Issue 20: responses were matched by opaque alone, so this SET answer was taken for the GET's.
  fake_peer peer([](asio::ip::tcp::socket& s) {
    std::array<std::byte, 4096> buf;
    boost::system::error_code ec;
    auto n = s.read_some(asio::buffer(buf), ec);
    auto r = protocol::decode_packet(std::span<const std::byte>(buf.data(), n));
    if (r.state != protocol::decode_state::complete) return;
    protocol::byte_buffer out;
    protocol::append_response(out, {.op = static_cast<std::uint8_t>(protocol::opcode::set), .opaque = r.packet.opaque()});
    asio::write(s, asio::buffer(out), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  io_thread t;
  auto c = connect_bare(t, peer.port());
  auto [ec, r] = run(*c, get_packet("x"));
  EXPECT_EQ(ec, protocol::client_errc::connection_closed);
  EXPECT_NE(c->last_error_detail().find("response SET to request GET"), std::string::npos) << c->last_error_detail();
  EXPECT_NE(c->last_error_detail().find("out of step"), std::string::npos) << c->last_error_detail();
  EXPECT_FALSE(c->is_open());
}

TEST(kv_connection_fake_peer, deadlines_cancellation_queue_limit_and_orphans)
{
  std::promise<void> release;
  auto released = release.get_future().share();
  fake_peer peer(answer_all_when_released(released));
  io_thread t;
  io::connection_settings s;
  s.port = peer.port();
  s.run_bootstrap = false;
  s.max_in_flight = 3;
  auto c = connect(t, s);

  std::promise<std::error_code> timed_out, cancelled, long_lived, refused;
  auto t0 = io::clock::now();
  c->async_execute(request(get_packet("a"), std::chrono::milliseconds(50)),
                   [&](std::error_code ec, io::kv_response) { timed_out.set_value(ec); });
  asio::cancellation_signal signal;
  c->async_execute(request(get_packet("b")),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, io::kv_response) {
                     cancelled.set_value(ec);
                   }));
  c->async_execute(request(get_packet("c")),
                   [&](std::error_code ec, io::kv_response) { long_lived.set_value(ec); });
  EXPECT_EQ(timed_out.get_future().get(), protocol::client_errc::timeout);
  EXPECT_GE(io::clock::now() - t0, std::chrono::milliseconds(50));
  // Two still in flight ("b", "c") plus one more fills the limit of 3; the next is refused.
  c->async_execute(request(get_packet("d")), [&](std::error_code, io::kv_response) {});
  c->async_execute(request(get_packet("e")), [&](std::error_code ec, io::kv_response) { refused.set_value(ec); });
  EXPECT_EQ(refused.get_future().get(), protocol::client_errc::queue_full);
  asio::post(c->get_executor(), [&] { signal.emit(asio::cancellation_type::terminal); });
  EXPECT_EQ(cancelled.get_future().get(), protocol::client_errc::cancelled);
  release.set_value();
  EXPECT_FALSE(long_lived.get_future().get());
  // "a" (timed out) and "b" (cancelled) were answered late: dropped and counted.
  for (int i = 0; i < 100 && c->stats().orphans < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(c->stats().orphans, 2u);
  EXPECT_EQ(c->stats().timeouts, 1u);
  EXPECT_EQ(c->stats().cancelled, 1u);
}

// Deadlines that arrive out of order (a shorter timeout after a longer one) expire in deadline
// order, each at its own time; an operation that completes otherwise (cancelled) never times out
// later; operations without a deadline wait for their answer.
TEST(kv_connection_fake_peer, deadlines_in_any_order_expire_in_order_and_on_time)
{
  std::promise<void> release;
  auto released = release.get_future().share();
  fake_peer peer(answer_all_when_released(released));
  io_thread t;
  auto c = connect_bare(t, peer.port());

  using ms = std::chrono::milliseconds;
  struct outcome {
    std::error_code ec;
    io::clock::time_point at;
  };
  const std::vector<int> timeouts{400, 100, 600, 50, 300, 250, 150};
  std::vector<std::promise<outcome>> done(timeouts.size());
  std::promise<outcome> cancelled, untimed;
  asio::cancellation_signal signal;
  const auto t0 = io::clock::now();
  asio::post(c->get_executor(), [&] { // issued together, on the connection's thread
    for (std::size_t i = 0; i < timeouts.size(); ++i) {
      if (i == 3) {
        c->async_execute(request(get_packet("cancelled"), ms(200)),
                         asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, io::kv_response) {
                           cancelled.set_value({ec, io::clock::now()});
                         }));
        c->async_execute({get_packet("untimed"), io::clock::time_point::max()},
                         [&](std::error_code ec, io::kv_response) { untimed.set_value({ec, io::clock::now()}); });
      }
      c->async_execute({get_packet("k" + std::to_string(i)), t0 + ms(timeouts[i])},
                       [&, i](std::error_code ec, io::kv_response) { done[i].set_value({ec, io::clock::now()}); });
    }
  });
  std::this_thread::sleep_for(ms(20));
  asio::post(c->get_executor(), [&] { signal.emit(asio::cancellation_type::terminal); });
  auto cancel_outcome = cancelled.get_future().get();
  EXPECT_EQ(cancel_outcome.ec, protocol::client_errc::cancelled);

  std::vector<std::pair<int, outcome>> got;
  for (std::size_t i = 0; i < timeouts.size(); ++i) got.emplace_back(timeouts[i], done[i].get_future().get());
  for (const auto& [timeout, o] : got) {
    EXPECT_EQ(o.ec, protocol::client_errc::timeout) << timeout << " ms";
    EXPECT_GE(o.at - t0, ms(timeout)) << "expired early";
    EXPECT_LT(o.at - t0, ms(timeout + 1000)) << "expired late: " << timeout << " ms";
  }
  std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
  for (std::size_t i = 1; i < got.size(); ++i) EXPECT_LT(got[i - 1].first, got[i].first) << "expired out of order";

  release.set_value();
  auto u = untimed.get_future().get();
  EXPECT_FALSE(u.ec) << u.ec.message();
  EXPECT_EQ(c->stats().timeouts, timeouts.size());
  EXPECT_EQ(c->stats().cancelled, 1u);
}

TEST(kv_connection_fake_peer, connection_refused_and_connect_timeout)
{
  io_thread t;
  io::connection_settings s;
  refused_loopback_port refused;
  s.port = refused.port(); // nobody listens
  s.run_bootstrap = false;
  std::error_code ec;
  auto c = connect(t, s, &ec);
  EXPECT_EQ(ec, protocol::client_errc::connection_failed);
  EXPECT_NE(c->last_error_detail().find(std::to_string(s.port)), std::string::npos);
}

// ---- execute_batch: many requests, one sink ---------------------------------------------------

namespace {

// Records what the connection tells a batch's sink, per index; `all` is set when every index was
// told (once or more: `told` says how often).
struct recording_sink final : io::batch_sink {
  explicit recording_sink(std::size_t n) : told(n), ec(n), status(n), value(n) {}
  std::vector<int> told;
  std::vector<std::error_code> ec;
  std::vector<std::uint16_t> status;
  std::vector<std::string> value;
  std::atomic<std::size_t> total{0}; // read by the test thread while the io thread tells
  std::promise<void> all;

  void on_response(std::size_t i, const protocol::packet_view& p) override
  {
    status.at(i) = p.hdr.specific;
    value.at(i) = std::string(protocol::as_string_view(p.value));
    told_one(i);
  }
  void on_error(std::size_t i, std::error_code e) override
  {
    ec.at(i) = e;
    told_one(i);
  }
  void told_one(std::size_t i)
  {
    if (++told.at(i) == 1 && ++total == told.size()) all.set_value();
  }
  [[nodiscard]] bool each_once() const
  {
    return std::all_of(told.begin(), told.end(), [](int n) { return n == 1; });
  }
};

// GETs of `keys` as one batch, sent from the connection's executor; the index of key i is i.
std::error_code send_batch(io::kv_connection& c, const std::vector<std::string>& keys, io::batch_sink& sink,
                           io::clock::time_point deadline)
{
  std::promise<std::error_code> p;
  asio::post(c.get_executor(), [&] {
    protocol::byte_buffer packets;
    for (const auto& k : keys) protocol::append_get(packets, 0, {.key = k});
    p.set_value(c.execute_batch(packets, keys.size(), deadline, sink));
  });
  return p.get_future().get();
}

std::vector<std::string> numbered(const std::string& prefix, int n)
{
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

} // namespace

TEST(kv_connection_batch, gets_of_present_and_missing_keys_against_memcached)
{
  memcached_server server;
  io_thread t;
  auto c = connect(t, memcached_settings(server.port()));
  constexpr int n = 3000;
  auto keys = numbered("bk", n);
  for (int i = 0; i < n; i += 2) ASSERT_FALSE(run(*c, set_packet(keys[i], "v" + std::to_string(i))).first);
  recording_sink sink(n);
  ASSERT_FALSE(send_batch(*c, keys, sink, io::clock::now() + std::chrono::seconds(5)));
  ASSERT_EQ(sink.all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  // Whatever arrives after the last one would break each_once: give it a moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(sink.each_once());
  for (int i = 0; i < n; ++i) {
    ASSERT_FALSE(sink.ec[i]) << i;
    if (i % 2 == 0) {
      EXPECT_EQ(sink.status[i], static_cast<std::uint16_t>(status::success)) << i;
      EXPECT_EQ(sink.value[i], "v" + std::to_string(i));
    } else {
      EXPECT_EQ(sink.status[i], static_cast<std::uint16_t>(status::key_enoent)) << i;
    }
  }
  EXPECT_EQ(c->in_flight(), 0u);
  // Single operations still work beside (and after) a batch.
  EXPECT_FALSE(run(*c, get_packet(keys[0])).first);
}

// execute_batch copies the caller's requests before it returns. The second batch is sent from
// inside the first one's sink (in the read loop, where the write waits for the loop's end) and
// its buffer is scribbled over and freed at once: it is still answered key by key, correctly.
TEST(kv_connection_batch, the_callers_buffer_is_copied_and_free_when_execute_batch_returns)
{
  memcached_server server;
  io_thread t;
  auto c = connect(t, memcached_settings(server.port()));
  auto first = numbered("cp-a", 50);
  auto second = numbered("cp-b", 50);
  for (const auto& k : second) ASSERT_FALSE(run(*c, set_packet(k, "value of " + k)).first);
  recording_sink then(second.size());
  struct chaining_sink final : io::batch_sink {
    io::kv_connection* c{};
    const std::vector<std::string>* next{};
    io::batch_sink* next_sink{};
    std::size_t left{0};
    std::promise<std::error_code> sent;
    void on_response(std::size_t, const protocol::packet_view&) override { one(); }
    void on_error(std::size_t, std::error_code) override { one(); }
    void one()
    {
      if (--left != 0) return;
      auto packets = std::make_unique<protocol::byte_buffer>();
      for (const auto& k : *next) protocol::append_get(*packets, 0, {.key = k});
      auto ec = c->execute_batch(*packets, next->size(), io::clock::now() + std::chrono::seconds(5), *next_sink);
      std::fill(packets->begin(), packets->end(), std::byte{0xff}); // not a request any more
      packets.reset();
      sent.set_value(ec);
    }
  } chain;
  chain.c = c.get();
  chain.next = &second;
  chain.next_sink = &then;
  chain.left = first.size();
  ASSERT_FALSE(send_batch(*c, first, chain, io::clock::now() + std::chrono::seconds(5)));
  auto sent = chain.sent.get_future();
  ASSERT_EQ(sent.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_FALSE(sent.get());
  ASSERT_EQ(then.all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  for (std::size_t i = 0; i < second.size(); ++i) {
    EXPECT_FALSE(then.ec[i]) << i;
    EXPECT_EQ(then.status[i], 0) << i;
    EXPECT_EQ(then.value[i], "value of " + second[i]) << i;
  }
  EXPECT_TRUE(c->is_open());
}

TEST(kv_connection_batch, refused_as_a_whole_without_telling_the_sink)
{
  memcached_server server;
  io_thread t;
  auto s = memcached_settings(server.port());
  s.max_in_flight = 10;
  auto c = connect(t, s);
  recording_sink sink(20);
  EXPECT_EQ(send_batch(*c, numbered("r", 20), sink, io::clock::time_point::max()), protocol::client_errc::queue_full);
  EXPECT_EQ(send_batch(*c, numbered("r", 20), sink, io::clock::now() - std::chrono::milliseconds(1)),
            protocol::client_errc::queue_full);
  recording_sink small(3);
  EXPECT_EQ(send_batch(*c, numbered("r", 3), small, io::clock::now() - std::chrono::milliseconds(1)),
            protocol::client_errc::timeout);
  EXPECT_EQ(send_batch(*c, {}, small, io::clock::time_point::max()), protocol::client_errc::invalid_argument);
  // Packets that are not `count` complete requests, or a STAT (answered by many packets).
  std::promise<std::vector<std::error_code>> malformed;
  asio::post(c->get_executor(), [&] {
    std::vector<std::error_code> out;
    protocol::byte_buffer three;
    for (auto k : {"a", "b", "c"}) protocol::append_get(three, 0, {.key = k});
    auto copy = three;
    out.push_back(c->execute_batch(copy, 2, io::clock::time_point::max(), small));
    copy = three;
    out.push_back(c->execute_batch(copy, 4, io::clock::time_point::max(), small));
    copy = three;
    copy.pop_back();
    out.push_back(c->execute_batch(copy, 3, io::clock::time_point::max(), small));
    protocol::byte_buffer stat;
    protocol::append_get(stat, 0, {.key = "a"});
    protocol::append_stat(stat, 0, "");
    out.push_back(c->execute_batch(stat, 2, io::clock::time_point::max(), small));
    malformed.set_value(out);
  });
  for (auto ec : malformed.get_future().get()) EXPECT_EQ(ec, protocol::client_errc::invalid_argument);
  c->close();
  EXPECT_EQ(send_batch(*c, numbered("r", 3), small, io::clock::time_point::max()), protocol::client_errc::not_connected);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(sink.total + small.total, 0u);
  EXPECT_EQ(c->in_flight(), 0u);
}

TEST(kv_connection_batch, answers_out_of_order_then_garbage_tell_each_index_once)
{
  constexpr int n = 200;
  fake_peer peer([](asio::ip::tcp::socket& s) {
    // Read the whole batch, answer the first half in reverse order (with the key as the value),
    // then send garbage: the other half must end with connection_closed.
    std::vector<std::byte> got;
    std::array<std::byte, 4096> buf;
    std::vector<protocol::packet_view> reqs;
    boost::system::error_code ec;
    while (true) {
      auto m = s.read_some(asio::buffer(buf), ec);
      if (ec) return;
      got.insert(got.end(), buf.begin(), buf.begin() + m);
      reqs.clear();
      std::span<const std::byte> rest(got);
      for (auto r = protocol::decode_packet(rest); r.state == protocol::decode_state::complete; r = protocol::decode_packet(rest)) {
        reqs.push_back(r.packet);
        rest = rest.subspan(r.consumed);
      }
      if (reqs.size() == n) break;
    }
    protocol::byte_buffer out;
    for (int i = n / 2 - 1; i >= 0; --i) {
      protocol::append_response(out, {.op = reqs[i].hdr.opcode, .opaque = reqs[i].opaque(), .value = reqs[i].key});
    }
    std::string junk = "HTTP/1.1 400 Bad Request\r\n\r\n";
    out.insert(out.end(), reinterpret_cast<const std::byte*>(junk.data()),
               reinterpret_cast<const std::byte*>(junk.data() + junk.size()));
    asio::write(s, asio::buffer(out), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  io_thread t;
  auto c = connect_bare(t, peer.port());
  auto keys = numbered("ooo", n);
  recording_sink sink(n);
  ASSERT_FALSE(send_batch(*c, keys, sink, io::clock::now() + std::chrono::seconds(5)));
  ASSERT_EQ(sink.all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(sink.each_once());
  for (int i = 0; i < n; ++i) {
    if (i < n / 2) {
      EXPECT_FALSE(sink.ec[i]) << i;
      EXPECT_EQ(sink.value[i], keys[i]) << "answer " << i << " went to another index";
    } else {
      EXPECT_EQ(sink.ec[i], protocol::client_errc::connection_closed) << i;
    }
  }
  EXPECT_FALSE(c->is_open());
  EXPECT_EQ(c->in_flight(), 0u);
}

TEST(kv_connection_batch, the_deadline_times_out_what_is_unanswered_and_late_answers_are_orphans)
{
  std::promise<void> release;
  auto released = release.get_future().share();
  fake_peer peer(answer_all_when_released(released));
  io_thread t;
  auto c = connect_bare(t, peer.port());
  // Two batches with different deadlines, and a single operation with no deadline beside them.
  recording_sink early(50), late(30);
  std::promise<std::error_code> single;
  c->async_execute(io::kv_request{get_packet("single"), io::clock::time_point::max()},
                   [&](std::error_code ec, io::kv_response) { single.set_value(ec); });
  auto t0 = io::clock::now();
  ASSERT_FALSE(send_batch(*c, numbered("late", 30), late, t0 + std::chrono::milliseconds(150)));
  ASSERT_FALSE(send_batch(*c, numbered("early", 50), early, t0 + std::chrono::milliseconds(50)));
  ASSERT_EQ(early.all.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto early_done = io::clock::now();
  EXPECT_GE(early_done - t0, std::chrono::milliseconds(50));
  EXPECT_EQ(late.total, 0u) << "the later deadline must not fire with the earlier one";
  ASSERT_EQ(late.all.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_GE(io::clock::now() - t0, std::chrono::milliseconds(150));
  EXPECT_TRUE(early.each_once());
  EXPECT_TRUE(late.each_once());
  for (auto e : early.ec) EXPECT_EQ(e, protocol::client_errc::timeout);
  for (auto e : late.ec) EXPECT_EQ(e, protocol::client_errc::timeout);
  EXPECT_EQ(c->stats().timeouts, 80u);
  release.set_value();
  EXPECT_FALSE(single.get_future().get());
  for (int i = 0; i < 100 && c->stats().orphans < 80; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(c->stats().orphans, 80u);
  EXPECT_TRUE(early.each_once());
  EXPECT_TRUE(late.each_once());
}

TEST(kv_connection_batch, server_killed_mid_batch_tells_every_index_once)
{
  memcached_server server;
  io_thread t;
  auto c = connect(t, memcached_settings(server.port()));
  std::string big(2000, 'v');
  constexpr int n = 5000;
  auto keys = numbered("kb", n);
  for (int i = 0; i < 200; ++i) ASSERT_FALSE(run(*c, set_packet(keys[i], big)).first);
  std::vector<std::unique_ptr<recording_sink>> sinks;
  for (int b = 0; b < 5; ++b) {
    sinks.push_back(std::make_unique<recording_sink>(n));
    if (auto ec = send_batch(*c, keys, *sinks.back(), io::clock::now() + std::chrono::seconds(10))) {
      // The connection noticed the death already: refused whole, the sink never told.
      EXPECT_EQ(ec, protocol::client_errc::not_connected);
      EXPECT_GE(b, 2);
      sinks.pop_back();
    }
    if (b == 1) server.kill();
  }
  int errors = 0;
  for (auto& sk : sinks) {
    ASSERT_EQ(sk->all.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (auto& sk : sinks) {
    EXPECT_TRUE(sk->each_once());
    for (auto e : sk->ec) {
      if (e) {
        ++errors;
        EXPECT_TRUE(e == protocol::client_errc::connection_closed || e == protocol::client_errc::not_connected) << e.message();
      }
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_FALSE(c->is_open());
  EXPECT_EQ(c->in_flight(), 0u);
}
