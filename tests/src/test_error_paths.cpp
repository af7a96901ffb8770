// Error paths as real servers take them (issue 19): locked documents on servers before 7.0 and the
// retry strategies, the server's own retry schedule (error map), requests that need a HELLO
// feature the server withheld, a node whose KV SASL refuses what its management port accepts, and
// open_bucket meaning "ready". Each against the mock playing that server.
#include "../support/failure.hpp"

#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/topology/config.hpp>
#include <couchkv/topology/routing.hpp>
#include <couchkv_mock/cluster.hpp>

#include <async_test_support.hpp>
#include <gtest/gtest.h>
#include <mock_bucket.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

using namespace couchkv;
using namespace std::chrono_literals;
using couchkv::test::failure_of;
using couchkv::test::mock_bucket;
using couchkv::test::mock_options;

namespace {

using clock_type = std::chrono::steady_clock;

mock::cluster_options pre_7_0()
{
  auto o = mock_options(1);
  o.tmpfail_on_locked = true;
  return o;
}

// Keys whose vBucket node `node` holds as active (from the mock's own config).
std::vector<std::string> keys_on_node(const mock::cluster& m, int node, int count)
{
  topology::config_error err;
  auto cfg = topology::parse_config(m.config_json("default"), "127.0.0.1", err);
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < static_cast<std::size_t>(count); ++i) {
    auto k = "node" + std::to_string(node) + "::" + std::to_string(i);
    if (topology::node_for_vbucket(*cfg->vbmap, topology::vbucket_of(k, cfg->vbmap->num_vbuckets()), 0) == node) {
      keys.push_back(k);
    }
  }
  return keys;
}

template <class F>
clock_type::duration time_of(F&& f)
{
  auto t0 = clock_type::now();
  std::forward<F>(f)();
  return clock_type::now() - t0;
}

} // namespace

// Item 1: a server before 7.0 answers TMPFAIL at once to get-and-lock of a locked document, to
// unlock with a wrong CAS and to a counter on a locked document. fail_fast (the default) hands
// that to the caller at once, as the Python SDK 2.x raises TemporaryFailError; it used to be
// retried until the deadline and reported as a timeout.
TEST(error_paths, locked_documents_on_a_pre_7_0_server_fail_at_once_with_the_status_it_sent)
{
  mock_bucket f(pre_7_0(), "?kv_timeout=3s");
  f.bucket.upsert("c", "5").get();
  auto lock_cas = f.bucket.get_and_lock("c", {.lock_time = 10s}).get().cas;
  for (auto& [what, run] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"get_and_lock", [&] { f.bucket.get_and_lock("c", {.lock_time = 10s}).get(); }},
           {"unlock with a wrong CAS", [&] { f.bucket.unlock("c", lock_cas + 1).get(); }},
           {"counter", [&] { f.bucket.counter("c", 1).get(); }},
       }) {
    test::failure fail;
    auto took = time_of([&] { fail = failure_of(run); });
    EXPECT_EQ(fail.ec, errc::temporary_failure) << what << ": " << fail.ec.message();
    EXPECT_EQ(fail.context.status, 0x86) << what;
    EXPECT_EQ(fail.context.retries, 0u) << what;
    EXPECT_LT(took, 1s) << what << " waited for its deadline";
  }
  f.bucket.unlock("c", lock_cas).get();
  EXPECT_EQ(f.bucket.counter("c", 1).get().value, 6u);
}

TEST(error_paths, best_effort_retries_tmpfail_until_the_deadline_and_names_the_status)
{
  mock_bucket f(pre_7_0(), "?kv_timeout=3s&retry_strategy=best_effort");
  EXPECT_EQ(f.bucket.default_retry_strategy(), retry_strategy::best_effort);
  f.bucket.upsert("c", "5").get();
  f.bucket.get_and_lock("c", {.lock_time = 10s}).get();
  auto fail = failure_of([&] { f.bucket.counter("c", 1, {.timeout = 300ms}).get(); });
  // Every attempt was answered TMPFAIL (not applied): a plain timeout, not an ambiguous one.
  EXPECT_EQ(fail.ec, errc::timeout) << fail.ec.message();
  EXPECT_EQ(fail.context.last_retry_reason, retry_reason::temporary_failure);
  EXPECT_EQ(fail.context.status, 0x86);
  EXPECT_GT(fail.context.retries, 1u);
  EXPECT_GE(fail.context.elapsed, 250ms);
  // The operation's own strategy wins over the bucket's.
  fail = failure_of([&] { f.bucket.counter("c", 1, {.timeout = 2s, .retry = retry_strategy::fail_fast}).get(); });
  EXPECT_EQ(fail.ec, errc::temporary_failure);
  EXPECT_LT(fail.context.elapsed, 1s);
}

// Item 1: LOCKED (7.0 and later) is document_locked at once under either strategy, unless the
// operation itself asks for best_effort.
TEST(error_paths, locked_is_final_unless_the_operation_asks_for_best_effort)
{
  mock_bucket f(mock_options(1), "?kv_timeout=5s&retry_strategy=best_effort");
  f.bucket.upsert("l", "{}").get();
  f.bucket.get_and_lock("l", {.lock_time = 1s}).get();
  auto fail = failure_of([&] { f.bucket.get_and_lock("l").get(); });
  EXPECT_EQ(fail.ec, errc::document_locked);
  EXPECT_EQ(fail.context.status, 0x09);
  EXPECT_LT(fail.context.elapsed, 1s);
  // Asked for: retried until the lock (1 s of the mock's clock) ends.
  auto got = f.bucket.get_and_lock("l", {.lock_time = 1s, .retry = retry_strategy::best_effort}).get();
  EXPECT_NE(got.cas, 0u);
}

// Item 1: the server's error map is honoured under either strategy: a status marked auto-retry is
// retried on the map's schedule, within its max-duration.
TEST(error_paths, an_error_map_retry_schedule_is_followed_within_its_max_duration)
{
  mock_bucket f(mock_options(1), "?kv_timeout=5s");
  f.bucket.upsert("m", "{}").get();
  f.mock.fail_next(2, 0xfff0); // constant: after 10 ms, then every 25 ms
  auto took = time_of([&] { EXPECT_EQ(f.bucket.get("m").get().value, "{}"); });
  EXPECT_GE(took, 35ms);
  f.mock.fail_next(1000000, 0xfff1); // linear, max-duration 300 ms
  test::failure fail;
  took = time_of([&] { fail = failure_of([&] { f.bucket.get("m").get(); }); });
  f.mock.fail_next(0, 0);
  EXPECT_TRUE(fail.ec) << "it did not fail";
  EXPECT_NE(fail.ec, errc::timeout) << "max-duration ends the retries, not the 5 s timeout";
  EXPECT_EQ(fail.context.status, 0xfff1);
  EXPECT_NE(fail.context.server_message.find("DUMMY_ERROR_RETRY_LINEAR"), std::string::npos) << fail.context.server_message;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);
}

// Item 2: synchronous durability on a connection whose server did not grant it in HELLO. Sent, the
// server would drop the connection and everything in flight on it; it fails at once instead,
// naming the feature, and nothing is written.
TEST(error_paths, a_request_needing_a_feature_the_server_withheld_is_refused_before_it_is_sent)
{
  auto o = mock_options(1);
  o.withheld_features = {0x11}; // synchronous replication
  mock_bucket f(o);
  f.bucket.upsert("d", "{}").get();
  const auto before = f.mock.stats();
  auto in_flight = f.bucket.get("d");
  auto fail = failure_of([&] {
    f.bucket.upsert("d", "{\"x\":1}", {.durability = {.level = protocol::durability_level::majority}}).get();
  });
  EXPECT_EQ(fail.ec, couchkv::client_errc::feature_not_available) << fail.ec.message();
  EXPECT_NE(fail.context.server_message.find("SyncReplication"), std::string::npos) << fail.context.server_message;
  EXPECT_EQ(in_flight.get().value, "{}"); // the connection survived
  const auto after = f.mock.stats();
  EXPECT_EQ(after.connections_accepted, before.connections_accepted) << "the connection was dropped";
  EXPECT_EQ(after.requests, before.requests + 1) << "only the GET reached the server";
  EXPECT_EQ(f.bucket.get("d").get().value, "{}") << "the durable upsert was not applied";
  // Observe-based durability needs nothing of HELLO and still works.
  f.bucket.upsert("d", "{\"x\":2}", {.durability = {.persist_to = 1}}).get();
}

// Item 3: a data node whose KV SASL refuses the credentials its management port accepted.
// Operations for its vBuckets fail promptly with authentication_failure and what its SASL said
// (they used to wait for their deadline: "last retry: node_not_available"); open_bucket lists it.
TEST(error_paths, operations_on_a_node_that_refuses_the_credentials_fail_promptly)
{
  mock::cluster m(mock_options(3, 0, 64));
  m.start();
  m.reject_kv_auth(1);
  test::io_thread t;
  cluster c(t.io.get_executor(), m.connection_string() + "?kv_timeout=3s", {"default", "password"});
  auto b = c.open_bucket().get();
  ASSERT_EQ(b.unreachable_nodes().size(), 1u);
  const auto& problem = b.unreachable_nodes().front();
  EXPECT_EQ(problem.ec, errc::authentication_failure) << problem.ec.message();
  EXPECT_NE(problem.endpoint.find(":" + std::to_string(m.kv_ports()[1])), std::string::npos) << problem.endpoint;
  EXPECT_NE(problem.detail.find("SCRAM"), std::string::npos) << problem.detail;
  for (const auto& k : keys_on_node(m, 1, 3)) {
    auto fail = failure_of([&] { b.get(k).get(); });
    EXPECT_EQ(fail.ec, errc::authentication_failure) << k << ": " << fail.ec.message();
    EXPECT_LT(fail.context.elapsed, 1s) << k;
    EXPECT_NE(fail.context.server_message.find("SCRAM"), std::string::npos) << fail.context.server_message;
    EXPECT_NE(fail.context.server_message.find("Auth failure"), std::string::npos) << fail.context.server_message;
  }
  for (const auto& k : keys_on_node(m, 0, 3)) {
    EXPECT_EQ(failure_of([&] { b.get(k).get(); }).ec, errc::document_not_found) << k;
  }
  // Accepted again: the node's pool reconnects and its keys work.
  m.reject_kv_auth(1, false);
  const auto k = keys_on_node(m, 1, 1).front();
  std::error_code last;
  for (int i = 0; i < 100; ++i) {
    last = failure_of([&] { b.get(k).get(); }).ec;
    if (last == errc::document_not_found) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(last, errc::document_not_found) << last.message();
  b.close();
}

TEST(error_paths, open_fails_with_the_sasl_answer_when_no_data_node_accepts_the_credentials)
{
  mock::cluster m(mock_options(2));
  m.start();
  m.reject_kv_auth(0);
  m.reject_kv_auth(1);
  test::io_thread t;
  // Bootstrapped over HTTP, where the credentials are accepted.
  cluster c(t.io.get_executor(), "couchbase://127.0.0.1:" + std::to_string(m.mgmt_ports()[0]) + "=http/default",
            {"default", "password"});
  std::error_code ec;
  auto took = time_of([&] {
    try {
      c.open_bucket().get();
    } catch (const std::system_error& e) {
      ec = e.code();
    }
  });
  EXPECT_EQ(ec, errc::authentication_failure) << ec.message();
  EXPECT_LT(took, 5s);
  const auto detail = c.last_error_detail();
  for (auto port : m.kv_ports()) EXPECT_NE(detail.find(":" + std::to_string(port)), std::string::npos) << detail;
  EXPECT_NE(detail.find("SCRAM"), std::string::npos) << detail;
}

// Item 4: open means ready: when open_bucket completes every data node has a connection up, so the
// first operations go straight out (they used to be parked: "last retry: node_not_available").
TEST(error_paths, open_means_every_data_node_is_connected)
{
  for (int round = 0; round < 3; ++round) {
    mock_bucket f(mock_options(3, 0, 64));
    EXPECT_TRUE(f.bucket.unreachable_nodes().empty());
    std::vector<std::future<get_result>> gets;
    for (int node = 0; node < 3; ++node) {
      for (const auto& k : keys_on_node(f.mock, node, 2)) gets.push_back(f.bucket.get(k));
    }
    for (auto& g : gets) {
      auto fail = failure_of([&] { g.get(); });
      EXPECT_EQ(fail.ec, errc::document_not_found) << fail.ec.message();
      EXPECT_EQ(fail.context.retries, 0u) << fail.context.key;
      EXPECT_EQ(fail.context.last_retry_reason, retry_reason::none) << fail.context.key;
    }
  }
}

TEST(error_paths, open_reports_the_data_nodes_it_cannot_reach)
{
  mock::cluster m(mock_options(3, 0, 64));
  m.start();
  m.stop_node(2);
  test::io_thread t;
  cluster c(t.io.get_executor(), "couchbase://127.0.0.1:" + std::to_string(m.kv_ports()[0]) + "/default?kv_timeout=1s",
            {"default", "password"});
  auto b = c.open_bucket().get();
  ASSERT_EQ(b.unreachable_nodes().size(), 1u);
  EXPECT_NE(b.unreachable_nodes()[0].endpoint.find(":" + std::to_string(m.kv_ports()[2])), std::string::npos)
      << b.unreachable_nodes()[0].endpoint;
  EXPECT_TRUE(b.unreachable_nodes()[0].ec);
  // The reachable nodes serve their keys.
  EXPECT_EQ(failure_of([&] { b.get(keys_on_node(m, 0, 1).front()).get(); }).ec, errc::document_not_found);
  b.close();
}
