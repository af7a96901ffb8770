// The mock cluster's HTTP side over real sockets, with a plain Beast client (not couchkv's): the
// management REST API and its config streams, Basic auth, the fault controls, bad requests, and
// (when the views engine is built) design documents and view queries on the views port.
#include "../io/io_test_support.hpp"

#include <couchkv/protocol/request.hpp>
#include <couchkv/protocol/scram.hpp>
#include <couchkv/topology/config.hpp>
#include <couchkv/topology/routing.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <future>

using namespace couchkv;
using namespace couchkv::test;
using protocol::opcode;
using protocol::status;
namespace beast = boost::beast;
namespace http = beast::http;
using sys_error = boost::system::error_code;
using response = http::response<http::string_body>;

namespace {

struct credentials {
  std::string user, password;
};
const credentials admin{"Administrator", "password"};
const credentials bucket_user{"default", "password"};

// A client connection whose every operation has a deadline (no test can hang on the mock).
struct client {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buf;

  // Runs the io_context until the operation started by `start` completes.
  template <class Start>
  sys_error complete(Start&& start)
  {
    sys_error result = asio::error::timed_out;
    bool done = false;
    stream.expires_after(std::chrono::seconds(10));
    start([&](sys_error ec, auto&&...) {
      result = ec;
      done = true;
    });
    io.restart();
    io.run();
    EXPECT_TRUE(done);
    return result;
  }
  sys_error connect(std::uint16_t port)
  {
    return complete([&](auto h) { stream.async_connect({asio::ip::make_address("127.0.0.1"), port}, h); });
  }
  sys_error write_raw(const std::string& bytes)
  {
    return complete([&](auto h) { asio::async_write(stream, asio::buffer(bytes), h); });
  }
  sys_error write(http::request<http::string_body>& req)
  {
    return complete([&](auto h) { http::async_write(stream, req, h); });
  }
  sys_error read(response& res)
  {
    return complete([&](auto h) { http::async_read(stream, buf, res, h); });
  }
};

http::request<http::string_body> make_request(http::verb method, std::uint16_t port, std::string target,
                                              std::optional<credentials> creds, std::string body = {},
                                              std::string content_type = "application/json")
{
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  if (creds) {
    req.set(http::field::authorization, "Basic " + protocol::scram::base64_encode(creds->user + ":" + creds->password));
  }
  if (!body.empty() || method == http::verb::post || method == http::verb::put) {
    req.set(http::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
  }
  return req;
}

// One request on a fresh connection.
response fetch(http::verb method, std::uint16_t port, const std::string& target,
               std::optional<credentials> creds = admin, std::string body = {},
               std::string content_type = "application/json")
{
  client c;
  response res;
  auto ec = c.connect(port);
  EXPECT_FALSE(ec) << ec.message();
  if (ec) return res;
  auto req = make_request(method, port, target, creds, std::move(body), std::move(content_type));
  ec = c.write(req);
  EXPECT_FALSE(ec) << ec.message();
  ec = c.read(res);
  EXPECT_FALSE(ec) << target << ": " << ec.message();
  return res;
}
response get(std::uint16_t port, const std::string& target, std::optional<credentials> creds = admin)
{
  return fetch(http::verb::get, port, target, std::move(creds));
}
response post(std::uint16_t port, const std::string& target, std::optional<credentials> creds = admin)
{
  return fetch(http::verb::post, port, target, std::move(creds));
}

nlohmann::json json_of(const response& r)
{
  auto j = nlohmann::json::parse(r.body(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.body();
  return j;
}

topology::bucket_config parse(const std::string& json)
{
  topology::config_error err;
  auto cfg = topology::parse_config(json, "127.0.0.1", err);
  EXPECT_TRUE(cfg) << err.message() << "\n" << json.substr(0, 500);
  return cfg ? *cfg : topology::bucket_config{};
}

mock::cluster_options two_buckets()
{
  mock::cluster_options o;
  o.buckets = {mock::bucket_options{}, mock::bucket_options{.name = "cache", .password = "secret",
                                                              .type = mock::bucket_type::memcached}};
  return o;
}

// KV access to the mock (documents for views, effects of the controls), routed by its map.
struct kv_fixture {
  explicit kv_fixture(mock::cluster& c) : cluster(c)
  {
    config = parse(cluster.config_json("default"));
    for (std::size_t i = 0; i < cluster.kv_ports().size(); ++i) {
      io::connection_settings s;
      s.port = cluster.kv_ports()[i];
      s.bootstrap.creds = io::credentials{"default", "password"};
      s.bootstrap.bucket = "default";
      auto conn = io::kv_connection::create(t.io.get_executor(), s);
      std::promise<std::error_code> p;
      conn->async_connect([&p](std::error_code ec) { p.set_value(ec); });
      auto ec = p.get_future().get();
      EXPECT_FALSE(ec) << ec.message();
      conns.push_back(conn);
    }
  }
  std::pair<std::uint16_t, io::kv_connection*> route(std::string_view key)
  {
    auto vb = topology::vbucket_of(key, config.vbmap->num_vbuckets());
    auto node = topology::node_for_vbucket(*config.vbmap, vb, 0);
    return {vb, conns.at(static_cast<std::size_t>(node)).get()};
  }
  status upsert(std::string_view key, std::string_view value, std::uint32_t expiry = 0)
  {
    auto [vb, conn] = route(key);
    protocol::byte_buffer b;
    protocol::append_store(b, opcode::set, 0, {.key = key, .vbucket = vb},
                           {.value = protocol::as_bytes(value), .flags = 0x02000000, .expiry = expiry, .datatype = 1});
    auto [ec, r] = run(*conn, b);
    EXPECT_FALSE(ec) << ec.message();
    return r.status();
  }
  status read(std::string_view key)
  {
    auto [vb, conn] = route(key);
    protocol::byte_buffer b;
    protocol::append_get(b, 0, {.key = key, .vbucket = vb});
    auto [ec, r] = run(*conn, b);
    EXPECT_FALSE(ec) << ec.message();
    return r.status();
  }

  mock::cluster& cluster;
  io_thread t;
  topology::bucket_config config;
  std::vector<std::shared_ptr<io::kv_connection>> conns;
};

// Reads a config stream until it has delivered `count` configs; returns them.
std::vector<std::string> read_configs(client& c, http::response_parser<http::string_body>& p, std::size_t count)
{
  std::vector<std::string> out;
  std::size_t used = 0;
  while (out.size() < count) {
    auto& body = p.get().body();
    auto end = body.find("\n\n\n\n", used);
    if (end != std::string::npos) {
      out.push_back(body.substr(used, end - used));
      used = end + 4;
      continue;
    }
    auto ec = c.complete([&](auto h) { http::async_read_some(c.stream, c.buf, p, h); });
    if (ec) {
      ADD_FAILURE() << "stream ended after " << out.size() << " configs: " << ec.message();
      break;
    }
  }
  return out;
}

} // namespace

TEST(mock_http, pools_answers_admin_and_bucket_credentials_and_401s_everything_else)
{
  mock::cluster cluster(two_buckets());
  cluster.start();
  auto port = cluster.mgmt_ports().at(0);

  auto none = get(port, "/pools", std::nullopt);
  EXPECT_EQ(none.result_int(), 401u);
  EXPECT_NE(none[http::field::www_authenticate].find("Basic"), std::string::npos);
  EXPECT_EQ(get(port, "/pools", credentials{"Administrator", "wrong"}).result_int(), 401u);
  EXPECT_EQ(get(port, "/pools", credentials{"default", "wrong"}).result_int(), 401u);
  EXPECT_EQ(get(port, "/pools", credentials{"nobody", "password"}).result_int(), 401u);

  auto as_admin = get(port, "/pools");
  ASSERT_EQ(as_admin.result_int(), 200u);
  auto j = json_of(as_admin);
  EXPECT_EQ(j["isAdminCreds"], true);
  EXPECT_EQ(j["pools"][0]["name"], "default");
  auto as_bucket = get(port, "/pools", bucket_user);
  ASSERT_EQ(as_bucket.result_int(), 200u);
  EXPECT_EQ(json_of(as_bucket)["isAdminCreds"], false);

  auto pool = json_of(get(port, "/pools/default"));
  EXPECT_EQ(pool["buckets"]["terseBucketsBase"], "/pools/default/b/");
  EXPECT_EQ(pool["buckets"]["terseStreamingBucketsBase"], "/pools/default/bs/");
  ASSERT_EQ(pool["nodes"].size(), 3u);
  EXPECT_EQ(pool["nodes"][1]["hostname"], "127.0.0.1:" + std::to_string(cluster.mgmt_ports()[1]));
  EXPECT_EQ(pool["nodes"][0]["thisNode"], true);

  // The bucket list shows a bucket user only its own bucket; the admin sees all.
  auto all = json_of(get(port, "/pools/default/buckets"));
  ASSERT_TRUE(all.is_array());
  EXPECT_EQ(all.size(), 2u);
  auto own = json_of(get(port, "/pools/default/buckets", bucket_user));
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0]["name"], "default");
  EXPECT_EQ(get(port, "/pools/default/buckets/cache", bucket_user).result_int(), 401u);
  EXPECT_EQ(get(port, "/pools/default/b/nosuch").result_int(), 404u);
  EXPECT_EQ(get(port, "/pools/default/b/default", std::nullopt).result_int(), 401u);
}

TEST(mock_http, configs_parse_and_advertise_the_mgmt_and_views_ports)
{
  mock::cluster cluster(two_buckets());
  cluster.start();
  auto port = cluster.mgmt_ports().at(2);
  ASSERT_EQ(cluster.mgmt_ports().size(), 3u);
  ASSERT_EQ(cluster.views_ports().size(), 3u);

  auto terse = get(port, "/pools/default/b/default", bucket_user);
  ASSERT_EQ(terse.result_int(), 200u);
  EXPECT_NE(terse.body().find("$HOST"), std::string::npos); // terse keeps the placeholder
  auto cfg = parse(terse.body());
  ASSERT_EQ(cfg.nodes.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(cfg.nodes[i].hostname, "127.0.0.1");
    EXPECT_EQ(cfg.nodes[i].plain.kv, cluster.kv_ports()[i]);
    EXPECT_EQ(cfg.nodes[i].plain.mgmt, cluster.mgmt_ports()[i]);
    EXPECT_EQ(cfg.nodes[i].plain.views, cluster.views_ports()[i]);
  }
  ASSERT_TRUE(cfg.vbmap);
  EXPECT_EQ(cfg.vbmap->num_vbuckets(), 1024u);
  EXPECT_EQ(terse.body(), cluster.config_json("default"));

  // The legacy nodes[] carry the same ports for clients that read only them.
  auto j = json_of(terse);
  EXPECT_EQ(j["nodes"][1]["hostname"], "$HOST:" + std::to_string(cluster.mgmt_ports()[1]));
  EXPECT_EQ(j["nodes"][1]["couchApiBase"], "http://$HOST:" + std::to_string(cluster.views_ports()[1]) + "/default");
  EXPECT_EQ(j["nodes"][1]["ports"]["direct"], cluster.kv_ports()[1]);
  EXPECT_EQ(j["ddocs"]["uri"], "/pools/default/buckets/default/ddocs");
  auto legacy_only = j;
  legacy_only.erase("nodesExt");
  auto legacy = parse(legacy_only.dump());
  ASSERT_EQ(legacy.nodes.size(), 3u);
  EXPECT_EQ(legacy.nodes[1].plain.mgmt, cluster.mgmt_ports()[1]);
  EXPECT_EQ(legacy.nodes[1].plain.views, cluster.views_ports()[1]);

  // The verbose config names the host the client asked for.
  {
    client c;
    ASSERT_FALSE(c.connect(port));
    auto req = make_request(http::verb::get, port, "/pools/default/buckets/default", bucket_user);
    req.set(http::field::host, "localhost:" + std::to_string(port));
    ASSERT_FALSE(c.write(req));
    response res;
    ASSERT_FALSE(c.read(res));
    ASSERT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.body().find("$HOST"), std::string::npos);
    EXPECT_NE(res.body().find("\"localhost:" + std::to_string(cluster.mgmt_ports()[0]) + "\""), std::string::npos);
    auto v = json_of(res);
    EXPECT_EQ(v["bucketType"], "membase");
    EXPECT_EQ(v["streamingUri"].get<std::string>().rfind("/pools/default/bucketsStreaming/default", 0), 0u);
    EXPECT_EQ(parse(res.body()).nodes.at(0).hostname, "localhost");
  }

  // Memcached buckets: ketama, no couchApiBase, and no design documents.
  auto mc = get(port, "/pools/default/b/cache", credentials{"cache", "secret"});
  ASSERT_EQ(mc.result_int(), 200u);
  auto mcfg = parse(mc.body());
  EXPECT_EQ(mcfg.locator, topology::node_locator::ketama);
  EXPECT_EQ(mcfg.nodes.at(0).plain.mgmt, cluster.mgmt_ports()[0]);
  EXPECT_FALSE(json_of(mc)["nodes"][0].contains("couchApiBase"));
  EXPECT_EQ(get(port, "/pools/default/buckets/cache/ddocs").result_int(), 404u);
  auto ddocs = get(port, "/pools/default/buckets/default/ddocs", bucket_user);
  ASSERT_EQ(ddocs.result_int(), 200u);
  EXPECT_TRUE(json_of(ddocs)["rows"].is_array());
}

TEST(mock_http, config_stream_sends_a_newer_config_on_every_change)
{
  mock::cluster cluster;
  cluster.start();
  auto port = cluster.mgmt_ports().at(0);

  client terse, verbose;
  http::response_parser<http::string_body> tp, vp;
  tp.body_limit(boost::none);
  vp.body_limit(boost::none);
  for (auto [c, p, target] : {std::tuple{&terse, &tp, "/pools/default/bs/default"},
                              std::tuple{&verbose, &vp, "/pools/default/bucketsStreaming/default"}}) {
    ASSERT_FALSE(c->connect(port));
    auto req = make_request(http::verb::get, port, target, bucket_user);
    ASSERT_FALSE(c->write(req));
    ASSERT_FALSE(c->complete([&](auto h) { http::async_read_header(c->stream, c->buf, *p, h); }));
    EXPECT_EQ(p->get().result_int(), 200u);
    EXPECT_TRUE(p->chunked());
  }
  auto first = read_configs(terse, tp, 1);
  ASSERT_EQ(first.size(), 1u);
  auto before = parse(first[0]);
  EXPECT_NE(first[0].find("$HOST"), std::string::npos);

  cluster.failover(1);
  auto both = read_configs(terse, tp, 2);
  ASSERT_EQ(both.size(), 2u);
  auto after = parse(both[1]);
  EXPECT_GT(after.rev, before.rev);
  for (const auto& row : after.vbmap->rows) EXPECT_NE(row[0], 1);

  // A node stopping and coming back is a new revision too.
  cluster.stop_node(2);
  cluster.restart_node(2);
  auto four = read_configs(terse, tp, 4);
  ASSERT_EQ(four.size(), 4u);
  EXPECT_GT(parse(four[3]).rev, parse(four[2]).rev);
  EXPECT_GT(parse(four[2]).rev, after.rev);

  // The verbose stream saw the same changes, with the host filled in.
  auto v = read_configs(verbose, vp, 4);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[3].find("$HOST"), std::string::npos);
  EXPECT_EQ(parse(v[3]).rev, parse(four[3]).rev);
}

TEST(mock_http, control_endpoint_applies_faults_and_rejects_bad_input)
{
  mock::cluster cluster;
  cluster.start();
  auto port = cluster.mgmt_ports().at(0);
  auto ok = [](const response& r) { return r.result_int() == 200 && nlohmann::json::parse(r.body()) == nlohmann::json{{"ok", true}}; };

  EXPECT_EQ(post(port, "/mock/rebalance", bucket_user).result_int(), 401u);
  EXPECT_EQ(post(port, "/mock/rebalance", std::nullopt).result_int(), 401u);
  EXPECT_EQ(get(port, "/mock/rebalance").result_int(), 405u);
  EXPECT_EQ(post(port, "/mock/no_such_control").result_int(), 404u);
  for (auto bad : {"/mock/failover", "/mock/failover?node=3", "/mock/failover?node=-1", "/mock/failover?node=x",
                   "/mock/fail_next?count=1", "/mock/fail_next?count=1&status=70000", "/mock/drop_next?count=",
                   "/mock/advance_clock?seconds=1.5", "/mock/set_delays", "/mock/set_delays?replication_ms=abc",
                   "/mock/stop_node?node=1%zz"}) {
    auto r = post(port, bad);
    EXPECT_EQ(r.result_int(), 400u) << bad;
    EXPECT_TRUE(json_of(r).contains("reason")) << bad;
  }

  kv_fixture kv(cluster);
  ASSERT_EQ(kv.upsert("ctl::1", R"({"a":1})"), status::success);

  // fail_next: the next document op gets the status; the one after is normal again.
  EXPECT_TRUE(ok(post(port, "/mock/fail_next?count=1&status=134")));
  EXPECT_EQ(kv.read("ctl::1"), status::etmpfail);
  EXPECT_EQ(kv.read("ctl::1"), status::success);

  // advance_clock drives expiry.
  ASSERT_EQ(kv.upsert("ctl::2", "{}", 10), status::success);
  EXPECT_EQ(kv.read("ctl::2"), status::success);
  EXPECT_TRUE(ok(post(port, "/mock/advance_clock?seconds=11")));
  EXPECT_EQ(kv.read("ctl::2"), status::key_enoent);

  // kill_connections drops the node's KV connections.
  std::string on_node0;
  for (int i = 0; on_node0.empty(); ++i) {
    auto k = "k" + std::to_string(i);
    if (kv.route(k).second == kv.conns[0].get()) on_node0 = k;
  }
  EXPECT_TRUE(ok(post(port, "/mock/kill_connections?node=0")));
  {
    auto [vb, conn] = kv.route(on_node0);
    protocol::byte_buffer b;
    protocol::append_get(b, 0, {.key = on_node0, .vbucket = vb});
    auto [ec, r] = run(*conn, b, std::chrono::seconds(2));
    EXPECT_TRUE(ec) << "the connection should be gone";
  }

  EXPECT_TRUE(ok(post(port, "/mock/set_delays?replication_ms=0&persistence_ms=5")));
  EXPECT_TRUE(ok(post(port, "/mock/drop_next?count=0")));

  // failover over HTTP changes the map.
  auto rev = parse(cluster.config_json("default")).rev;
  EXPECT_TRUE(ok(post(port, "/mock/failover?node=2")));
  auto cfg = parse(cluster.config_json("default"));
  EXPECT_GT(cfg.rev, rev);
  for (const auto& row : cfg.vbmap->rows) EXPECT_NE(row[0], 2);

  // stop_node closes node 1's ports, restart_node opens them again; a node can even stop itself
  // and still answer the request that asked.
  EXPECT_TRUE(ok(post(port, "/mock/stop_node?node=1")));
  {
    client c;
    EXPECT_TRUE(c.connect(cluster.mgmt_ports()[1]));
    client v;
    EXPECT_TRUE(v.connect(cluster.views_ports()[1]));
  }
  EXPECT_TRUE(ok(post(port, "/mock/restart_node?node=1")));
  EXPECT_EQ(get(cluster.mgmt_ports()[1], "/pools").result_int(), 200u);
  EXPECT_TRUE(ok(post(cluster.mgmt_ports()[1], "/mock/stop_node?node=1")));
  EXPECT_TRUE(ok(post(port, "/mock/restart_node?node=1")));
  EXPECT_TRUE(ok(post(port, "/mock/rebalance")));
  cfg = parse(cluster.config_json("default"));
  bool node2_active = false;
  for (const auto& row : cfg.vbmap->rows) node2_active = node2_active || row[0] == 2;
  EXPECT_TRUE(node2_active); // rebalance brought the failed-over (but running) node back

  EXPECT_TRUE(ok(post(port, "/mock/garbage_next")));
  EXPECT_GT(cluster.stats().http_requests, 20u);
}

TEST(mock_http, bad_requests_get_400_or_404_and_the_server_keeps_serving)
{
  mock::cluster cluster;
  cluster.start();
  auto port = cluster.mgmt_ports().at(0);
  auto raw = [&](std::uint16_t p, const std::string& bytes) {
    client c;
    response res;
    EXPECT_FALSE(c.connect(p));
    EXPECT_FALSE(c.write_raw(bytes));
    auto ec = c.read(res);
    EXPECT_FALSE(ec) << ec.message();
    return res;
  };
  for (auto p : {port, cluster.views_ports().at(0)}) {
    auto garbage = raw(p, "GARBAGE\r\n\r\n");
    EXPECT_EQ(garbage.result_int(), 400u);
    EXPECT_NE(garbage.body().find("bad_request"), std::string::npos);
    EXPECT_EQ(raw(p, "GET /pools HTTP/1.1\r\nContent-Length: nope\r\n\r\n").result_int(), 400u);
    EXPECT_EQ(raw(p, "GET /pools HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'x') + "\r\n\r\n").result_int(), 400u);
    EXPECT_EQ(raw(p, "GET http://elsewhere/pools HTTP/1.1\r\nHost: x\r\n\r\n").result_int(), 400u);
    EXPECT_EQ(get(p, "/pools/%zz").result_int(), 400u);
  }
  EXPECT_EQ(get(port, "/nothing/here").result_int(), 404u);
  EXPECT_EQ(get(port, "/pools/default/b").result_int(), 404u);
  EXPECT_EQ(get(port, "/pools/default/b/default/extra").result_int(), 404u);
  EXPECT_EQ(fetch(http::verb::delete_, port, "/pools/default/b/default").result_int(), 405u);
  EXPECT_EQ(get(cluster.views_ports()[0], "/default/not_a_design_path").result_int(), 404u);
  // A Host header that would break the JSON is ignored.
  auto odd = raw(port, "GET /pools/default/buckets/default HTTP/1.1\r\nHost: a\"b\r\nAuthorization: Basic " +
                           protocol::scram::base64_encode("default:password") + "\r\n\r\n");
  ASSERT_EQ(odd.result_int(), 200u);
  EXPECT_FALSE(json_of(odd).is_discarded());

  // Clients that leave mid-stream or mid-request are fine.
  for (std::string partial : {std::string("GET /pools/default/bs/default HTTP/1.1\r\nAuthorization: Basic ") +
                                  protocol::scram::base64_encode("default:password") + "\r\n\r\n",
                              std::string("PUT /default/_design/x HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")}) {
    client c;
    ASSERT_FALSE(c.connect(port));
    ASSERT_FALSE(c.write_raw(partial));
  }
  cluster.failover(1); // pushes to the stream whose client has gone

  // Keep-alive: several requests on one connection, answered in order, even when pipelined.
  client c;
  ASSERT_FALSE(c.connect(port));
  auto a = make_request(http::verb::get, port, "/pools", admin);
  auto b = make_request(http::verb::get, port, "/nowhere", admin);
  ASSERT_FALSE(c.write(a));
  ASSERT_FALSE(c.write(b));
  ASSERT_FALSE(c.write(a));
  for (unsigned want : {200u, 404u, 200u}) {
    response res;
    ASSERT_FALSE(c.read(res));
    EXPECT_EQ(res.result_int(), want);
    EXPECT_TRUE(res.keep_alive());
  }
  // HEAD: a header without a body, and the connection stays usable.
  auto h = make_request(http::verb::head, port, "/pools", admin);
  ASSERT_FALSE(c.write(h));
  http::response_parser<http::string_body> hp;
  hp.skip(true);
  ASSERT_FALSE(c.complete([&](auto handler) { http::async_read(c.stream, c.buf, hp, handler); }));
  EXPECT_EQ(hp.get().result_int(), 405u);
  ASSERT_FALSE(c.write(a));
  response last;
  ASSERT_FALSE(c.read(last));
  EXPECT_EQ(last.result_int(), 200u);
}

#ifdef COUCHKV_MOCK_HAVE_VIEWS
TEST(mock_http, design_documents_and_view_queries_on_the_views_port)
{
  mock::cluster cluster(two_buckets());
  cluster.start();
  auto vport = cluster.views_ports().at(1);
  auto mport = cluster.mgmt_ports().at(0);
  const std::string ddoc = R"({"views":{"by_name":{"map":"function (doc, meta) { if (doc.name) emit(doc.name, doc.n); }"},)"
                           R"("count":{"map":"function (doc, meta) { emit(meta.id, null); }","reduce":"_count"}}})";

  EXPECT_EQ(fetch(http::verb::put, vport, "/default/_design/people", std::nullopt, ddoc).result_int(), 401u);
  EXPECT_EQ(fetch(http::verb::put, vport, "/default/_design/people", credentials{"cache", "secret"}, ddoc).result_int(),
            401u);
  auto put = fetch(http::verb::put, vport, "/default/_design/people", bucket_user, ddoc);
  ASSERT_LT(put.result_int(), 300u) << put.body();
  auto got = get(vport, "/default/_design/people", bucket_user);
  ASSERT_EQ(got.result_int(), 200u);
  EXPECT_TRUE(json_of(got)["views"].contains("by_name"));
  auto listed = get(mport, "/pools/default/buckets/default/ddocs", bucket_user);
  EXPECT_NE(listed.body().find("_design/people"), std::string::npos) << listed.body();

  kv_fixture kv(cluster);
  const std::vector<std::string> names = {"Cleo", "Ada", "Bo"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(kv.upsert("person::" + std::to_string(i), R"({"name":")" + names[i] + R"(","n":)" + std::to_string(i) + "}"),
              status::success);
  }
  ASSERT_EQ(kv.upsert("gone::1", R"({"name":"Zed"})", 5), status::success);
  cluster.advance_clock(std::chrono::seconds(6)); // expired: not fed to the map function

  auto q = get(vport, "/default/_design/people/_view/by_name?stale=false", bucket_user);
  ASSERT_EQ(q.result_int(), 200u) << q.body();
  EXPECT_TRUE(q.chunked());
  auto rows = json_of(q)["rows"];
  ASSERT_EQ(rows.size(), 3u) << q.body();
  EXPECT_EQ(rows[0]["key"], "Ada");
  EXPECT_EQ(rows[0]["id"], "person::1");
  EXPECT_EQ(rows[2]["key"], "Cleo");

  auto one = get(vport, "/default/_design/people/_view/by_name?stale=false&key=%22Bo%22", bucket_user);
  ASSERT_EQ(one.result_int(), 200u) << one.body();
  ASSERT_EQ(json_of(one)["rows"].size(), 1u);
  EXPECT_EQ(json_of(one)["rows"][0]["value"], 2);

  auto keys = fetch(http::verb::post, vport, "/default/_design/people/_view/by_name?stale=false", bucket_user,
                    R"({"keys":["Cleo","Ada"]})");
  ASSERT_EQ(keys.result_int(), 200u) << keys.body();
  EXPECT_EQ(json_of(keys)["rows"].size(), 2u);
  EXPECT_EQ(fetch(http::verb::post, vport, "/default/_design/people/_view/by_name", bucket_user,
                  R"({"keys":["Ada"]})", "text/plain")
                .result_int(),
            400u);
  auto count = get(vport, "/default/_design/people/_view/count?stale=false", bucket_user);
  ASSERT_EQ(count.result_int(), 200u) << count.body();
  EXPECT_EQ(json_of(count)["rows"][0]["value"], 3);

  // A result larger than a chunk arrives in several chunks.
  std::string big(600, 'x');
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(kv.upsert("big::" + std::to_string(i), R"({"name":")" + big + std::to_string(i) + R"("})"), status::success);
  }
  {
    client c;
    ASSERT_FALSE(c.connect(vport));
    auto req = make_request(http::verb::get, vport, "/default/_design/people/_view/by_name?stale=false", bucket_user);
    ASSERT_FALSE(c.write(req));
    http::response_parser<http::string_body> p;
    std::size_t chunks = 0;
    auto on_chunk = [&](std::uint64_t, beast::string_view, sys_error&) { ++chunks; };
    p.on_chunk_header(on_chunk);
    ASSERT_FALSE(c.complete([&](auto h) { http::async_read(c.stream, c.buf, p, h); }));
    EXPECT_EQ(json_of(p.get())["rows"].size(), 63u);
    EXPECT_GT(chunks, 2u);
  }

  EXPECT_EQ(get(vport, "/default/_design/nosuch/_view/x", bucket_user).result_int(), 404u);
  EXPECT_EQ(get(vport, "/nosuch/_design/people", admin).result_int(), 404u);
  EXPECT_EQ(get(vport, "/cache/_design/people", admin).result_int(), 404u);
  auto del = fetch(http::verb::delete_, vport, "/default/_design/people", bucket_user);
  EXPECT_EQ(del.result_int(), 200u) << del.body();
  EXPECT_EQ(get(vport, "/default/_design/people", bucket_user).result_int(), 404u);
}
#else
TEST(mock_http, views_port_without_the_engine_answers_501)
{
  mock::cluster cluster;
  cluster.start();
  auto r = get(cluster.views_ports().at(0), "/default/_design/x");
  EXPECT_EQ(r.result_int(), 501u);
  EXPECT_EQ(json_of(r)["error"], "not_implemented");
}
#endif
