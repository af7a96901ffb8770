// http_client against scripted loopback peers: each test's peer reads the request with Beast and
// answers with exact bytes, so keep-alive, auth, streaming and every failure path are visible.
// The TLS path runs against the same peers behind a TLS handshake with a generated certificate.
#include <couchkv/io/http_client.hpp>
#include <couchkv/protocol/errors.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>
#include <memcached_server.hpp>
#include <tls_certificate.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using couchkv::io::http_client;
using couchkv::io::http_request;
using couchkv::io::http_response;
using couchkv::io::http_settings;
using couchkv::protocol::client_errc;
using namespace std::chrono_literals;

// Accepts connections on 127.0.0.1 and runs `serve` for each on its own thread.
class scripted_peer {
public:
  using serve_fn = std::function<void(tcp::socket&, int connection_index)>;
  explicit scripted_peer(serve_fn serve) : serve_(std::move(serve)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0})
  {
    thread_ = std::thread([this] {
      for (int i = 0;; ++i) {
        tcp::socket s(io_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stopping_) return;
        ++accepted_;
        workers_.emplace_back([this, sock = std::move(s), i]() mutable {
          try {
            serve_(sock, i);
          } catch (...) {
          }
        });
      }
    });
  }
  ~scripted_peer()
  {
    stopping_ = true;
    boost::system::error_code ec;
    { // wake the accept call
      tcp::socket poke(io_);
      poke.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
    for (auto& w : workers_) w.join();
  }
  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] int accepted() const { return accepted_; }

private:
  serve_fn serve_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
};

// Reads one request; returns false when the peer closed.
template <class Stream>
bool read_request(Stream& s, beast::flat_buffer& buf, http::request<http::string_body>& req)
{
  boost::system::error_code ec;
  http::read(s, buf, req, ec);
  return !ec;
}

template <class Stream>
void write_all(Stream& s, std::string_view bytes)
{
  boost::system::error_code ec;
  asio::write(s, asio::buffer(bytes.data(), bytes.size()), ec);
}

std::string ok_response(std::string_view body, bool keep_alive = true)
{
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         (keep_alive ? "\r\n" : "\r\nConnection: close\r\n") + "\r\n" + std::string(body);
}

struct client_fixture : ::testing::Test {
  asio::io_context io;
  std::thread runner;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};

  void SetUp() override { runner = std::thread([this] { io.run(); }); }
  void TearDown() override
  {
    work.reset();
    io.stop();
    runner.join();
  }

  std::shared_ptr<http_client> make(std::uint16_t port, std::string user = {}, std::string pw = {})
  {
    http_settings s;
    s.port = port;
    s.username = std::move(user);
    s.password = std::move(pw);
    s.connect_timeout = 2s;
    return http_client::create(io.get_executor(), s);
  }

  static http_request get(std::string target, std::chrono::milliseconds timeout = 5s)
  {
    http_request r;
    r.target = std::move(target);
    r.deadline = std::chrono::steady_clock::now() + timeout;
    return r;
  }

  // Runs a request through the callback form and waits for its single completion.
  std::pair<std::error_code, http_response> call(const std::shared_ptr<http_client>& c, http_request r)
  {
    std::promise<std::pair<std::error_code, http_response>> p;
    std::atomic<int> calls{0};
    c->async_request(std::move(r), [&](std::error_code ec, http_response resp) {
      if (++calls == 1) p.set_value({ec, std::move(resp)});
    });
    auto v = p.get_future().get();
    EXPECT_EQ(calls.load(), 1);
    return v;
  }
};

TEST_F(client_fixture, keep_alive_connection_is_reused_and_auth_is_basic)
{
  std::mutex m;
  std::vector<std::string> auth, targets;
  scripted_peer peer([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      if (!read_request(s, buf, req)) return;
      {
        std::lock_guard lk(m);
        auth.emplace_back(req[http::field::authorization]);
        targets.emplace_back(req.target());
      }
      write_all(s, ok_response(R"({"n":)" + std::to_string(targets.size()) + "}"));
    }
  });
  auto c = make(peer.port(), "Administrator", "password");
  for (int i = 1; i <= 3; ++i) {
    auto [ec, resp] = call(c, get("/pools/default?i=" + std::to_string(i)));
    ASSERT_FALSE(ec) << ec.message() << " " << resp.detail;
    EXPECT_EQ(resp.status, 200u);
    EXPECT_EQ(resp.content_type, "application/json");
    EXPECT_EQ(resp.body, R"({"n":)" + std::to_string(i) + "}");
  }
  EXPECT_EQ(peer.accepted(), 1);
  EXPECT_EQ(c->stats().connections_opened, 1u);
  EXPECT_EQ(c->stats().connections_reused, 2u);
  std::lock_guard lk(m);
  ASSERT_EQ(auth.size(), 3u);
  EXPECT_EQ(auth[0], "Basic QWRtaW5pc3RyYXRvcjpwYXNzd29yZA=="); // base64("Administrator:password")
  EXPECT_EQ(targets[2], "/pools/default?i=3");
  EXPECT_EQ(couchkv::io::basic_authorization("a", "b"), "Basic YTpi");
}

TEST_F(client_fixture, post_body_and_error_status_are_returned_not_failed)
{
  scripted_peer peer([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (!read_request(s, buf, req)) return;
    std::string body = R"({"method":")" + std::string(req.method_string()) + R"(","ct":")" +
                       std::string(req[http::field::content_type]) + R"(","body":)" + req.body() + "}";
    write_all(s, "HTTP/1.1 404 Object Not Found\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  });
  auto c = make(peer.port());
  http_request r = get("/default/_design/x/_view/y");
  r.method = "POST";
  r.body = R"({"keys":[1,2]})";
  r.content_type = "application/json";
  auto [ec, resp] = call(c, r);
  ASSERT_FALSE(ec) << resp.detail;
  EXPECT_EQ(resp.status, 404u);
  EXPECT_EQ(resp.body, R"({"method":"POST","ct":"application/json","body":{"keys":[1,2]}})");
}

TEST_F(client_fixture, streamed_chunked_body_arrives_in_order_and_can_be_stopped)
{
  scripted_peer peer([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      if (!read_request(s, buf, req)) return;
      write_all(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      // 200 chunks of 1000 bytes: the client never needs the whole body at once.
      for (int i = 0; i < 200; ++i) {
        std::string piece(1000, static_cast<char>('a' + i % 26));
        char head[16];
        std::snprintf(head, sizeof head, "%zx\r\n", piece.size());
        write_all(s, std::string(head) + piece + "\r\n");
      }
      write_all(s, "0\r\n\r\n");
    }
  });
  auto c = make(peer.port());
  std::string got;
  int heads = 0;
  std::size_t largest_piece = 0;
  auto [ec, head] = c->async_stream(
                         get("/pools/default/bs/default"),
                         [&](const http_response& h, std::string_view chunk, bool is_head) {
                           if (is_head) {
                             ++heads;
                             EXPECT_EQ(h.status, 200u);
                           }
                           largest_piece = std::max(largest_piece, chunk.size());
                           got.append(chunk);
                           return true;
                         },
                         asio::use_future)
                         .get()
      ;
  (void)head;
  ASSERT_FALSE(ec);
  EXPECT_EQ(heads, 1);
  ASSERT_EQ(got.size(), 200'000u);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i) * 1000], 'a' + i % 26) << i;
  EXPECT_LE(largest_piece, 16384u);

  // Stopping early completes successfully and does not reuse the half-read connection.
  std::size_t seen = 0;
  auto [ec2, head2] = c->async_stream(
                           get("/again"),
                           [&](const http_response&, std::string_view chunk, bool) {
                             seen += chunk.size();
                             return seen < 5000;
                           },
                           asio::use_future)
                           .get();
  (void)head2;
  EXPECT_FALSE(ec2);
  EXPECT_GE(seen, 5000u);
  EXPECT_LT(seen, 200'000u);
  auto [ec3, r3] = c->async_stream(get("/third"), [](const http_response&, std::string_view, bool) { return true; },
                                   asio::use_future)
                       .get();
  EXPECT_FALSE(ec3) << r3.detail;
  EXPECT_EQ(peer.accepted(), 2); // the first connection was reused once, the stopped one was not
}

TEST_F(client_fixture, silent_server_times_out_at_the_deadline)
{
  std::atomic<bool> release{false};
  scripted_peer peer([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    read_request(s, buf, req);
    while (!release) std::this_thread::sleep_for(10ms);
  });
  auto c = make(peer.port());
  auto t0 = std::chrono::steady_clock::now();
  auto [ec, resp] = call(c, get("/slow", 200ms));
  auto took = std::chrono::steady_clock::now() - t0;
  release = true;
  EXPECT_EQ(ec, client_errc::timeout) << ec.message();
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 3s);
  EXPECT_NE(resp.detail.find("/slow"), std::string::npos) << resp.detail;
}

TEST_F(client_fixture, a_server_that_never_pauses_still_meets_the_deadline)
{
  // Issue 20: a views server streaming rows without a pause kept a query alive past its deadline
  // (each read completed in time; none was ever the one to time out).
  std::atomic<bool> stop{false};
  scripted_peer peer([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (!read_request(s, buf, req)) return;
    write_all(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    boost::system::error_code ec;
    while (!stop && !ec) {
      asio::write(s, asio::buffer(std::string_view("10\r\n{\"key\":1,\"v\":1},\r\n")), ec);
    }
  });
  auto c = make(peer.port());
  std::size_t bytes = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto f = c->async_stream(get("/default/_design/d/_view/v", 300ms),
                           [&](const http_response&, std::string_view chunk, bool) {
                             bytes += chunk.size();
                             return true;
                           },
                           asio::use_future);
  auto status = f.wait_for(5s);
  stop = true;
  ASSERT_EQ(status, std::future_status::ready) << "the stream ran past its deadline";
  auto took = std::chrono::steady_clock::now() - t0;
  auto [ec, head] = f.get();
  EXPECT_EQ(ec, client_errc::timeout) << ec.message() << ": " << head.detail;
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
  EXPECT_GT(bytes, 0u); // it was streaming all along
}

TEST_F(client_fixture, refused_connection_is_connection_failed)
{
  couchkv::test::refused_loopback_port refused; // bound, never listening: connections are refused
  const auto port = refused.port();
  auto c = make(port);
  auto [ec, resp] = call(c, get("/pools"));
  EXPECT_EQ(ec, client_errc::connection_failed) << ec.message();
  EXPECT_NE(resp.detail.find(std::to_string(port)), std::string::npos) << resp.detail;
}

TEST_F(client_fixture, malformed_and_truncated_responses_are_errors)
{
  scripted_peer peer([&](tcp::socket& s, int i) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (!read_request(s, buf, req)) return;
    switch (i) {
      case 0: write_all(s, "HTTP/1.1 2x0 What\r\n\r\n"); break;                                  // bad status line
      case 1: write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"short\":"); break; // then close
      case 2: write_all(s, "garbage garbage garbage\r\n\r\n"); break;
      case 3: write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n"); break; // above the limit
      default: break;                                                                           // close at once
    }
    s.shutdown(tcp::socket::shutdown_both);
  });
  auto c = make(peer.port());
  auto [e0, r0] = call(c, get("/0"));
  // Issue 20, item 10: named as HTTP, not as "malformed packet payload".
  EXPECT_EQ(e0, client_errc::malformed_http) << e0.message() << " " << r0.detail;
  EXPECT_NE(e0.message().find("HTTP"), std::string::npos) << e0.message();
  auto [e1, r1] = call(c, get("/1"));
  EXPECT_EQ(e1, client_errc::connection_closed) << e1.message() << " " << r1.detail;
  auto [e2, r2] = call(c, get("/2"));
  EXPECT_EQ(e2, client_errc::malformed_http) << e2.message() << " " << r2.detail;
  auto [e3, r3] = call(c, get("/3"));
  EXPECT_EQ(e3, client_errc::body_too_large) << e3.message() << " " << r3.detail;
  auto [e4, r4] = call(c, get("/4"));
  EXPECT_EQ(e4, client_errc::connection_closed) << e4.message() << " " << r4.detail;
}

TEST_F(client_fixture, concurrent_requests_each_complete_once_on_their_own_connections)
{
  std::atomic<int> served{0};
  scripted_peer peer([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      if (!read_request(s, buf, req)) return;
      std::this_thread::sleep_for(20ms);
      ++served;
      write_all(s, ok_response(std::string(req.target())));
    }
  });
  auto c = make(peer.port());
  constexpr int n = 16;
  std::vector<std::future<std::tuple<std::error_code, http_response>>> fs;
  for (int i = 0; i < n; ++i) fs.push_back(c->async_request(get("/r" + std::to_string(i)), asio::use_future));
  for (int i = 0; i < n; ++i) {
    auto [ec, resp] = fs[static_cast<std::size_t>(i)].get();
    ASSERT_FALSE(ec) << resp.detail;
    EXPECT_EQ(resp.body, "/r" + std::to_string(i));
  }
  EXPECT_EQ(served.load(), n);
  EXPECT_GT(peer.accepted(), 1); // they ran side by side
}

TEST_F(client_fixture, close_aborts_a_request_in_flight)
{
  std::atomic<bool> release{false};
  scripted_peer peer([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    read_request(s, buf, req);
    while (!release) std::this_thread::sleep_for(10ms);
  });
  auto c = make(peer.port());
  auto f = c->async_request(get("/hang", 30s), asio::use_future);
  std::this_thread::sleep_for(100ms);
  c->close();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto [ec, resp] = f.get();
  release = true;
  EXPECT_TRUE(ec == client_errc::connection_closed || ec == client_errc::cancelled) << ec.message();
  auto [ec2, r2] = call(c, get("/after"));
  EXPECT_EQ(ec2, client_errc::cancelled);
}

} // namespace

namespace {
TEST_F(client_fixture, a_stream_hands_over_each_piece_as_it_arrives)
{
  // A config stream: a small chunk, then nothing until something changes. The client must pass
  // the first piece on at once, not wait to fill its buffer.
  std::promise<void> got_first;
  auto first = got_first.get_future();
  scripted_peer peer([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (!read_request(s, buf, req)) return;
    write_all(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
    if (first.wait_for(5s) != std::future_status::ready) return; // the client never saw it
    write_all(s, "6\r\nsecond\r\n0\r\n\r\n");
  });
  auto c = make(peer.port());
  std::string got;
  bool signalled = false;
  auto f = c->async_stream(get("/pools/default/bs/default"),
                           [&](const http_response&, std::string_view chunk, bool) {
                             got.append(chunk);
                             if (!signalled && got == "first") {
                               signalled = true;
                               got_first.set_value();
                             }
                             return true;
                           },
                           asio::use_future);
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto [ec, head] = f.get();
  EXPECT_FALSE(ec) << head.detail;
  EXPECT_TRUE(signalled);
  EXPECT_EQ(got, "firstsecond");
}
} // namespace

// ---- TLS ------------------------------------------------------------------------------------------

namespace {

using couchkv::test::self_signed_certificate;
using tls_stream = asio::ssl::stream<tcp::socket>;

asio::ssl::context server_context(const self_signed_certificate& cert)
{
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  ctx.use_certificate_chain_file(cert.cert_file());
  ctx.use_private_key_file(cert.key_file(), asio::ssl::context::pem);
  return ctx;
}

// What couchbases:// makes: verify the peer against one CA file (none: trust nothing).
asio::ssl::context client_context(const self_signed_certificate* ca)
{
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  if (ca) ctx.load_verify_file(ca->cert_file());
  return ctx;
}

struct tls_counts {
  std::atomic<int> handshakes{0}; // completed on the server side
  std::atomic<int> refused{0};    // the handshake failed (the client gave up on the certificate)
  std::atomic<int> requests{0};   // read after a handshake
  std::mutex m;
  std::vector<std::string> server_names; // SNI of each completed handshake ("" when none was sent)

  std::vector<std::string> names()
  {
    std::lock_guard lk(m);
    return server_names;
  }
};

// A scripted peer's serve function behind the server side of a TLS handshake.
scripted_peer::serve_fn over_tls(asio::ssl::context& ctx, tls_counts& counts,
                                 std::function<void(tls_stream&, int connection_index)> serve)
{
  return [&ctx, &counts, serve = std::move(serve)](tcp::socket& s, int i) {
    tls_stream tls(std::move(s), ctx);
    boost::system::error_code ec;
    tls.handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      ++counts.refused;
      return;
    }
    {
      const char* sni = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name);
      std::lock_guard lk(counts.m);
      counts.server_names.emplace_back(sni ? sni : "");
    }
    ++counts.handshakes;
    serve(tls, i);
  };
}

// Answers every request on the connection with 200 and {"n":<requests so far>}.
std::function<void(tls_stream&, int)> answer_all(tls_counts& counts, std::mutex& m, std::vector<std::string>& auth)
{
  return [&counts, &m, &auth](tls_stream& s, int) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      if (!read_request(s, buf, req)) return;
      const int n = ++counts.requests;
      {
        std::lock_guard lk(m);
        auth.emplace_back(req[http::field::authorization]);
      }
      write_all(s, ok_response(R"({"n":)" + std::to_string(n) + "}"));
    }
  };
}

// A TLS server showing `cert` that answers every request (answer_all), with what it saw.
struct tls_server {
  explicit tls_server(const self_signed_certificate& cert)
      : ctx(server_context(cert)), peer(over_tls(ctx, counts, answer_all(counts, m, auth)))
  {
  }
  asio::ssl::context ctx;
  tls_counts counts;
  std::mutex m;
  std::vector<std::string> auth; // Authorization headers, under m
  scripted_peer peer;            // last: it serves with the members above
};

struct tls_client_fixture : client_fixture {
  std::shared_ptr<http_client> make_tls(std::uint16_t port, asio::ssl::context& ctx, std::string server_name = {},
                                        std::string user = {}, std::string pw = {})
  {
    http_settings s;
    s.port = port; // host 127.0.0.1: hostname verification checks the address
    s.tls = true;
    s.ssl_context = &ctx;
    s.tls_server_name = std::move(server_name);
    s.username = std::move(user);
    s.password = std::move(pw);
    s.connect_timeout = 20s; // far beyond what the tests allow: a failure must not wait for it
    return http_client::create(io.get_executor(), s);
  }
};

} // namespace

TEST_F(tls_client_fixture, tls_request_with_the_right_ca_succeeds_keeps_alive_and_sends_basic_auth)
{
  self_signed_certificate cert; // names localhost and 127.0.0.1
  tls_server server(cert);
  auto& counts = server.counts;
  auto& peer = server.peer;
  auto cctx = client_context(&cert);
  auto c = make_tls(peer.port(), cctx, {}, "Administrator", "password");
  for (int i = 1; i <= 3; ++i) {
    auto [ec, resp] = call(c, get("/pools/default/b/default"));
    ASSERT_FALSE(ec) << ec.message() << " " << resp.detail;
    EXPECT_EQ(resp.status, 200u);
    EXPECT_EQ(resp.body, R"({"n":)" + std::to_string(i) + "}");
  }
  // One TCP connection and one handshake carried all three: the client's stats say so and the
  // server saw the same.
  EXPECT_EQ(peer.accepted(), 1);
  EXPECT_EQ(counts.handshakes.load(), 1);
  EXPECT_EQ(c->stats().connections_opened, 1u);
  EXPECT_EQ(c->stats().connections_reused, 2u);
  // No Server Name Indication for an address: RFC 6066 forbids IP literals there.
  EXPECT_EQ(counts.names(), std::vector<std::string>{""});
  std::lock_guard lk(server.m);
  ASSERT_EQ(server.auth.size(), 3u);
  for (const auto& a : server.auth) EXPECT_EQ(a, "Basic QWRtaW5pc3RyYXRvcjpwYXNzd29yZA=="); // through TLS, intact
}

TEST_F(tls_client_fixture, tls_with_an_untrusted_certificate_fails_at_the_handshake_without_hanging)
{
  self_signed_certificate cert, other; // the client trusts `other`, the server shows `cert`
  tls_server server(cert);
  auto& counts = server.counts;
  auto& peer = server.peer;
  // Trusting another CA, and trusting nothing at all.
  for (const self_signed_certificate* ca : std::initializer_list<const self_signed_certificate*>{&other, nullptr}) {
    auto cctx = client_context(ca);
    auto c = make_tls(peer.port(), cctx);
    const auto t0 = std::chrono::steady_clock::now();
    auto [ec, resp] = call(c, get("/pools", 30s));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s); // refused at once, not at a deadline
    EXPECT_EQ(ec, client_errc::handshake_failed) << ec.message() << " " << resp.detail;
    EXPECT_NE(resp.detail.find("TLS handshake with 127.0.0.1:" + std::to_string(peer.port())), std::string::npos)
        << resp.detail;
    EXPECT_NE(resp.detail.find("certificate verify failed"), std::string::npos) << resp.detail;
    EXPECT_EQ(c->stats().connections_opened, 0u);
  }
  EXPECT_EQ(counts.handshakes.load(), 0);
  EXPECT_EQ(counts.requests.load(), 0); // nothing, not even the credentials, was sent
}

TEST_F(tls_client_fixture, tls_with_a_certificate_for_another_host_fails_unless_that_name_is_asked_for)
{
  self_signed_certificate cert("DNS:db.example.com"); // trusted, but not for 127.0.0.1
  tls_server server(cert);
  auto& counts = server.counts;
  auto& peer = server.peer;
  auto cctx = client_context(&cert);
  auto c = make_tls(peer.port(), cctx);
  const auto t0 = std::chrono::steady_clock::now();
  auto [ec, resp] = call(c, get("/pools", 30s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(ec, client_errc::handshake_failed) << ec.message() << " " << resp.detail;
  EXPECT_NE(resp.detail.find("TLS handshake"), std::string::npos) << resp.detail;
  EXPECT_NE(resp.detail.find("certificate verify failed"), std::string::npos) << resp.detail;
  EXPECT_EQ(counts.requests.load(), 0);

  // The same CA with the name the certificate carries: the trust was fine, the name was not.
  auto named = make_tls(peer.port(), cctx, "db.example.com");
  auto [ec2, resp2] = call(named, get("/pools"));
  EXPECT_FALSE(ec2) << ec2.message() << " " << resp2.detail;
  EXPECT_EQ(resp2.status, 200u);
  EXPECT_EQ(counts.requests.load(), 1);
  EXPECT_EQ(counts.names(), std::vector<std::string>{"db.example.com"}); // and SNI carries it
}

// close() reaches a request whose connection is still being set up (here: a TLS handshake the
// server never answers), not only those already talking HTTP.
TEST_F(tls_client_fixture, close_aborts_a_request_still_in_its_tls_handshake)
{
  std::atomic<bool> release{false};
  scripted_peer peer([&](tcp::socket&, int) {
    while (!release) std::this_thread::sleep_for(10ms); // accepted, never answers the ClientHello
  });
  self_signed_certificate cert;
  auto cctx = client_context(&cert);
  auto c = make_tls(peer.port(), cctx); // connect_timeout 20 s
  auto f = c->async_request(get("/pools", 30s), asio::use_future);
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  c->close();
  auto status = f.wait_for(5s);
  release = true; // the peer's thread must end whatever happened
  ASSERT_EQ(status, std::future_status::ready) << "close() left a connecting request to its timeout";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  auto [ec, resp] = f.get();
  EXPECT_EQ(ec, client_errc::cancelled) << ec.message() << " " << resp.detail;
}

TEST_F(tls_client_fixture, tls_client_against_a_plain_http_server_fails_clearly)
{
  // A plain HTTP server reads the ClientHello as a bad request, answers 400 and hangs up.
  scripted_peer peer([&](tcp::socket& s, int) {
    char junk[512];
    boost::system::error_code ec;
    s.read_some(asio::buffer(junk), ec);
    write_all(s, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  self_signed_certificate cert;
  auto cctx = client_context(&cert);
  auto c = make_tls(peer.port(), cctx);
  const auto t0 = std::chrono::steady_clock::now();
  auto [ec, resp] = call(c, get("/pools", 30s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(ec, client_errc::handshake_failed) << ec.message() << " " << resp.detail;
  EXPECT_NE(resp.detail.find("TLS handshake with 127.0.0.1:" + std::to_string(peer.port())), std::string::npos)
      << resp.detail;
}
