// The mock cluster's TLS listeners (kvSSL, mgmtSSL, capiSSL) with a generated certificate, driven
// with couchkv's io layer: the config advertises them as Couchbase Server does, KV and HTTP work
// over them (the endless config stream included), the stats tell TLS from plain, and TLS material
// that cannot be used is a clear error at construction.
#include "../io/io_test_support.hpp"

#include <couchkv/io/http_client.hpp>
#include <couchkv/io/kv_connection.hpp>
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/topology/config.hpp>
#include <couchkv/topology/routing.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>
#include <tls_certificate.hpp>

#include <condition_variable>
#include <future>
#include <mutex>

using namespace couchkv;
using namespace couchkv::test;
using namespace std::chrono_literals;
using protocol::opcode;
using protocol::status;

namespace {

mock::cluster_options with_tls(const self_signed_certificate& cert)
{
  mock::cluster_options o;
  o.nodes = 3;
  o.vbuckets = 64;
  o.tls = mock::tls_options{cert.cert_file(), cert.key_file()};
  return o;
}

asio::ssl::context trusting(const self_signed_certificate& cert)
{
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  ctx.load_verify_file(cert.cert_file());
  return ctx;
}

topology::bucket_config parse(const std::string& text)
{
  topology::config_error err;
  auto cfg = topology::parse_config(text, "127.0.0.1", err);
  EXPECT_TRUE(cfg) << err.detail;
  return cfg ? *cfg : topology::bucket_config{};
}

std::shared_ptr<io::http_client> https(io_thread& t, std::uint16_t port, asio::ssl::context& ctx,
                                       std::string user = "default", std::string password = "password")
{
  io::http_settings s;
  s.port = port;
  s.tls = true;
  s.ssl_context = &ctx;
  s.username = std::move(user);
  s.password = std::move(password);
  s.connect_timeout = 10s;
  return io::http_client::create(t.io.get_executor(), s);
}

io::http_request request(std::string target, std::string method = "GET", std::string body = {})
{
  io::http_request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  if (!r.body.empty()) r.content_type = "application/json";
  r.deadline = std::chrono::steady_clock::now() + 10s;
  return r;
}

std::pair<std::error_code, std::shared_ptr<io::kv_connection>> kv_connect(io_thread& t, std::uint16_t port,
                                                                          asio::ssl::context* tls)
{
  io::connection_settings s;
  s.port = port;
  s.tls = tls != nullptr;
  s.ssl_context = tls;
  s.connect_timeout = 10s;
  s.bootstrap.creds = io::credentials{"default", "password"};
  s.bootstrap.bucket = "default";
  auto c = io::kv_connection::create(t.io.get_executor(), s);
  auto f = c->async_connect(asio::use_future);
  EXPECT_EQ(f.wait_for(8s), std::future_status::ready) << "connecting to " << port << " hung";
  return {f.get(), c};
}

} // namespace

TEST(mock_tls, config_advertises_kvssl_mgmtssl_and_capissl_like_couchbase_server)
{
  self_signed_certificate cert;
  mock::cluster cluster(with_tls(cert));
  cluster.start();
  ASSERT_EQ(cluster.kv_tls_ports().size(), 3u);
  auto cfg = parse(cluster.config_json("default"));
  ASSERT_EQ(cfg.nodes.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(cfg.nodes[i].plain.kv, cluster.kv_ports()[i]);
    EXPECT_EQ(cfg.nodes[i].plain.mgmt, cluster.mgmt_ports()[i]);
    EXPECT_EQ(cfg.nodes[i].plain.views, cluster.views_ports()[i]);
    EXPECT_EQ(cfg.nodes[i].tls.kv, cluster.kv_tls_ports()[i]);
    EXPECT_EQ(cfg.nodes[i].tls.mgmt, cluster.mgmt_tls_ports()[i]);
    EXPECT_EQ(cfg.nodes[i].tls.views, cluster.views_tls_ports()[i]);
    EXPECT_NE(cfg.nodes[i].tls.kv, cfg.nodes[i].plain.kv);
  }
  auto j = nlohmann::json::parse(cluster.config_json("default"));
  const auto& services = j["nodesExt"][1]["services"];
  EXPECT_EQ(services["kvSSL"], cluster.kv_tls_ports()[1]);
  EXPECT_EQ(services["mgmtSSL"], cluster.mgmt_tls_ports()[1]);
  EXPECT_EQ(services["capiSSL"], cluster.views_tls_ports()[1]);
  EXPECT_EQ(j["nodes"][1]["couchApiBaseHTTPS"],
            "https://$HOST:" + std::to_string(cluster.views_tls_ports()[1]) + "/default");
  auto p = cluster.kv_tls_ports();
  EXPECT_EQ(cluster.tls_connection_string(), "couchbases://127.0.0.1:" + std::to_string(p[0]) + ",127.0.0.1:" +
                                                 std::to_string(p[1]) + ",127.0.0.1:" + std::to_string(p[2]) + "/default");

  // Without TLS nothing of it exists: existing users of the mock see the config they always did.
  mock::cluster plain;
  plain.start();
  EXPECT_EQ(plain.config_json("default").find("SSL"), std::string::npos);
  EXPECT_EQ(plain.config_json("default").find("HTTPS"), std::string::npos);
  EXPECT_TRUE(plain.kv_tls_ports().empty());
  EXPECT_THROW((void)plain.tls_connection_string(), std::logic_error);
}

TEST(mock_tls, kv_over_kvssl_serves_documents_and_plain_text_there_is_refused)
{
  self_signed_certificate cert;
  mock::cluster cluster(with_tls(cert));
  cluster.start();
  io_thread t;
  auto ctx = trusting(cert);
  auto cfg = parse(cluster.config_json("default"));
  const std::string key = "tls::doc";
  const auto vb = topology::vbucket_of(key, cfg.vbmap->num_vbuckets());
  const auto node = static_cast<std::size_t>(topology::node_for_vbucket(*cfg.vbmap, vb, 0));
  auto [ec, c] = kv_connect(t, cluster.kv_tls_ports().at(node), &ctx);
  ASSERT_FALSE(ec) << ec.message() << ": " << c->last_error_detail();
  protocol::byte_buffer set;
  protocol::append_store(set, opcode::set, 0, {.key = key, .vbucket = vb},
                         {.value = protocol::as_bytes(R"({"over":"tls"})"), .flags = 0x02000000, .datatype = 1});
  auto [sec, sr] = run(*c, std::move(set));
  ASSERT_FALSE(sec) << sec.message();
  EXPECT_EQ(sr.status(), status::success);
  protocol::byte_buffer get;
  protocol::append_get(get, 0, {.key = key, .vbucket = vb});
  auto [gec, gr] = run(*c, std::move(get));
  ASSERT_FALSE(gec);
  EXPECT_EQ(gr.value_string(), R"({"over":"tls"})");
  auto s = cluster.stats();
  EXPECT_EQ(s.connections_accepted, 1u);
  EXPECT_EQ(s.tls_connections_accepted, 1u);

  // Plain text on the TLS port, and TLS on the plain port: both fail promptly, neither hangs.
  auto [pec, pc] = kv_connect(t, cluster.kv_tls_ports().at(0), nullptr);
  EXPECT_TRUE(pec) << "plain KV on the kvSSL port must not work";
  auto [tec, tc] = kv_connect(t, cluster.kv_ports().at(0), &ctx);
  EXPECT_EQ(tec, protocol::client_errc::handshake_failed) << tec.message() << ": " << tc->last_error_detail();
  s = cluster.stats();
  EXPECT_EQ(s.connections_accepted, 3u);
  EXPECT_EQ(s.tls_connections_accepted, 2u);
  EXPECT_GE(s.tls_handshakes_failed, 1u);
}

TEST(mock_tls, management_and_the_config_stream_over_mgmtssl)
{
  self_signed_certificate cert;
  mock::cluster cluster(with_tls(cert));
  cluster.start();
  io_thread t;
  auto ctx = trusting(cert);
  auto port = cluster.mgmt_tls_ports().at(0);

  auto c = https(t, port, ctx);
  auto [ec, r] = c->async_request(request("/pools/default/b/default"), asio::use_future).get();
  ASSERT_FALSE(ec) << ec.message() << ": " << r.detail;
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(parse(r.body).nodes.at(2).tls.views, cluster.views_tls_ports()[2]);
  auto anonymous = https(t, port, ctx, "", "");
  auto [aec, ar] = anonymous->async_request(request("/pools/default/b/default"), asio::use_future).get();
  ASSERT_FALSE(aec) << ar.detail;
  EXPECT_EQ(ar.status, 401u); // the credentials, or their absence, arrive through TLS

  // The streaming config: the first one at once, a newer one after a failover.
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> configs;
  std::string pending;
  auto stream = c->async_stream(
      request("/pools/default/bs/default"),
      [&](const io::http_response& head, std::string_view chunk, bool is_head) {
        if (is_head) return head.status == 200;
        std::lock_guard lk(m);
        pending.append(chunk);
        for (auto at = pending.find("\n\n\n\n"); at != std::string::npos; at = pending.find("\n\n\n\n")) {
          configs.push_back(pending.substr(0, at));
          pending.erase(0, at + 4);
        }
        cv.notify_all();
        return true;
      },
      asio::use_future);
  auto wait_for_configs = [&](std::size_t n) {
    std::unique_lock lk(m);
    return cv.wait_for(lk, 10s, [&] { return configs.size() >= n; });
  };
  ASSERT_TRUE(wait_for_configs(1));
  cluster.failover(1);
  ASSERT_TRUE(wait_for_configs(2));
  {
    std::lock_guard lk(m);
    EXPECT_GT(parse(configs[1]).rev, parse(configs[0]).rev);
  }
  c->close();
  ASSERT_EQ(stream.wait_for(5s), std::future_status::ready);

  // The views port's TLS twin answers the views API.
  auto views = https(t, cluster.views_tls_ports().at(1), ctx);
  auto [vec, vr] = views->async_request(request("/default/_design/nothing"), asio::use_future).get();
  ASSERT_FALSE(vec) << vr.detail;
  EXPECT_EQ(vr.status, 404u);
  EXPECT_NE(vr.body.find("not_found"), std::string::npos) << vr.body;

  auto s = cluster.stats();
  EXPECT_EQ(s.http_requests, 4u);
  EXPECT_EQ(s.tls_http_requests, 4u);
}

TEST(mock_tls, tls_material_that_cannot_be_used_is_a_clear_error)
{
  self_signed_certificate cert, other;
  auto message_of = [](mock::tls_options t) -> std::string {
    mock::cluster_options o;
    o.tls = std::move(t);
    try {
      mock::cluster c(o);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  auto missing = cert.dir() + "/missing.pem";
  EXPECT_NE(message_of({missing, cert.key_file()}).find("certificate chain \"" + missing + "\""), std::string::npos)
      << message_of({missing, cert.key_file()});
  EXPECT_NE(message_of({cert.cert_file(), missing}).find("private key \"" + missing + "\""), std::string::npos);
  EXPECT_NE(message_of({cert.cert_file(), other.key_file()}).find("mismatch"), std::string::npos)
      << message_of({cert.cert_file(), other.key_file()});
}
