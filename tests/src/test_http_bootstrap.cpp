// Bootstrap over HTTP ("host:port=http", libcouchbase's 8091 form) and the streaming config that
// then replaces CCCP: the client learns about failovers from the stream alone, before any
// NOT_MY_VBUCKET, and follows the stream to another node when its node stops.
#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <async_test_support.hpp>
#include <gtest/gtest.h>

#include <thread>

using namespace couchkv;
using couchkv::test::io_thread;
using couchkv::test::error_of;
using namespace std::chrono_literals;

namespace {

std::string http_connstr(const mock::cluster& m, std::size_t node, const std::string& bucket = "default")
{
  return "couchbase://127.0.0.1:" + std::to_string(m.mgmt_ports().at(node)) + "=http/" + bucket;
}

mock::cluster_options three_nodes()
{
  mock::cluster_options o;
  o.nodes = 3;
  o.vbuckets = 64;
  return o;
}

// Reads every key; returns how many NOT_MY_VBUCKET answers the mock gave meanwhile.
std::uint64_t read_all(async_bucket& b, mock::cluster& m, int n)
{
  auto before = m.stats().not_my_vbucket;
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("http::" + std::to_string(i));
  for (auto& [k, o] : b.get_multi(keys).get()) EXPECT_TRUE(o) << k << ": " << o.ec.message();
  return m.stats().not_my_vbucket - before;
}

} // namespace

TEST(http_bootstrap, opens_over_http_and_follows_the_config_stream)
{
  mock::cluster m(three_nodes());
  m.start();
  io_thread t;
  cluster c(t.io.get_executor(), http_connstr(m, 0) + "?kv_timeout=3s", credentials{"default", "password"});
  auto b = c.open_bucket().get();
  std::vector<std::pair<std::string, document_value>> items;
  for (int i = 0; i < 300; ++i) items.emplace_back("http::" + std::to_string(i), R"({"v":1})");
  for (auto& [k, o] : b.upsert_multi(items).get()) ASSERT_TRUE(o) << k;
  EXPECT_EQ(read_all(b, m, 300), 0u);

  // A failover: the new map reaches the client over the stream (no CCCP polling, no pushes in
  // this mode), so nothing is sent to the wrong node afterwards.
  m.failover(1);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(read_all(b, m, 300), 0u);
  // Rebalance onto the two nodes left, so every vBucket has its replica again.
  m.rebalance_out_and_in();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(read_all(b, m, 300), 0u);

  // The node serving the stream stops: the client reopens the stream on another node and keeps
  // learning (here: node 0's failover).
  m.stop_node(0);
  std::this_thread::sleep_for(500ms);
  m.failover(0);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(read_all(b, m, 300), 0u);
  b.close();
}

TEST(http_bootstrap, refuses_bad_credentials_and_unknown_buckets_clearly)
{
  mock::cluster m(three_nodes());
  m.start();
  io_thread t;
  cluster bad_pw(t.io.get_executor(), http_connstr(m, 0), credentials{"default", "wrong"});
  EXPECT_EQ(error_of([&] { bad_pw.open_bucket().get(); }), errc::authentication_failure);
  EXPECT_NE(bad_pw.last_error_detail().find("401"), std::string::npos) << bad_pw.last_error_detail();
  cluster admin(t.io.get_executor(), http_connstr(m, 1, "nosuch"), credentials{"Administrator", "password"});
  EXPECT_EQ(error_of([&] { admin.open_bucket().get(); }), errc::bucket_not_found);
  // Nothing listens: the error names the endpoint.
  cluster dead(t.io.get_executor(), "couchbase://127.0.0.1:1=http/default?connect_timeout=1s",
               credentials{"default", "password"});
  EXPECT_TRUE(error_of([&] { dead.open_bucket().get(); }));
  EXPECT_NE(dead.last_error_detail().find("127.0.0.1:1"), std::string::npos) << dead.last_error_detail();
}

// Issue 19, item 6: the mock's management port written without "=http" is taken for a KV port. Its
// HTTP server answers the binary HELLO with a 400: the open fails at once, says the port speaks
// HTTP, and says how to write it. (It was "invalid magic byte", which names neither.)
TEST(http_bootstrap, a_management_port_given_as_kv_port_fails_at_once_and_says_http)
{
  mock::cluster m;
  m.start();
  io_thread t;
  const auto port = std::to_string(m.mgmt_ports().at(0));
  cluster c(t.io.get_executor(), "couchbase://127.0.0.1:" + port + "/default", credentials{"default", "password"});
  const auto t0 = std::chrono::steady_clock::now();
  const auto ec = error_of([&] { c.open_bucket().get(); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s); // the connect timeout is 10 s
  EXPECT_EQ(ec, protocol::client_errc::kv_port_speaks_http) << ec.message() << ": " << c.last_error_detail();
  EXPECT_EQ(ec, errc::network_error);
  const auto detail = c.last_error_detail();
  EXPECT_NE(detail.find("127.0.0.1:" + port), std::string::npos) << detail;
  EXPECT_NE(detail.find("answered in HTTP (\"HTTP/1.1 400 Bad Request\")"), std::string::npos) << detail;
  EXPECT_NE(detail.find("host:" + port + "=http"), std::string::npos) << detail;
  // Written as the message says, it opens.
  cluster ok(t.io.get_executor(), "couchbase://127.0.0.1:" + port + "=http/default", credentials{"default", "password"});
  auto b = ok.open_bucket().get();
  EXPECT_NE(b.upsert("k", "{}").get().cas, 0u);
}
