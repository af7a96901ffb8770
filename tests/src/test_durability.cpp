// Durability against the mock cluster, whose persistence and replication run on timers the test
// sets: observe-based (persist_to / replicate_to, endure) by seqno and by CAS, every failure the
// issue names, failover mid-poll, and synchronous durability (durability frames).
#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/topology/config.hpp>
#include <couchkv/topology/routing.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <async_test_support.hpp>
#include <mock_bucket.hpp>
#include <gtest/gtest.h>

#include <thread>

using namespace couchkv;
using couchkv::test::io_thread;
using couchkv::test::error_of;
using namespace std::chrono_literals;

namespace {

mock::cluster_options options(std::uint32_t nodes, std::uint32_t replicas, std::chrono::milliseconds replication,
                              std::chrono::milliseconds persistence)
{
  return test::mock_options(nodes, replicas, 64, replication, persistence);
}

struct fixture : test::mock_bucket {
  explicit fixture(mock::cluster_options o, const std::string& extra = {})
      : mock_bucket(std::move(o), "?kv_timeout=3s&config_poll_interval=50ms" + extra)
  {
  }

  // The mock node that is active for key's vBucket now (from the mock's own config).
  int active_node(const std::string& key) const
  {
    topology::config_error err;
    auto cfg = topology::parse_config(mock.config_json("default"), "127.0.0.1", err);
    auto vb = topology::vbucket_of(key, cfg->vbmap->num_vbuckets());
    return topology::node_for_vbucket(*cfg->vbmap, vb, 0);
  }
};

// Runs f, expecting a durability_error; returns it.
template <class F>
std::optional<durability_error> durability_failure(F&& f)
{
  try {
    std::forward<F>(f)();
  } catch (const durability_error& e) {
    return e;
  } catch (const std::system_error& e) {
    ADD_FAILURE() << "plain system_error, not durability_error: " << e.code().message();
  }
  return std::nullopt;
}

} // namespace

TEST(durability, persist_and_replicate_by_seqno_waits_for_the_mock)
{
  fixture f(options(3, 2, 40ms, 80ms));
  auto t0 = std::chrono::steady_clock::now();
  auto m = f.bucket.upsert("d::1", R"({"v":1})", {.durability = {.persist_to = 2, .replicate_to = 2}}).get();
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(m.durability);
  EXPECT_TRUE(m.durability->met) << m.durability->detail;
  EXPECT_TRUE(m.durability->by_seqno);
  EXPECT_TRUE(m.durability->persisted_on_master);
  EXPECT_GE(m.durability->persisted, 2);
  EXPECT_GE(m.durability->replicated, 2);
  EXPECT_GE(m.durability->polls, 2u);
  // Replicas persist after replication + persistence delay: it cannot have been met sooner.
  EXPECT_GE(took, 80ms);

  // Negative counts: everything the map has (3 persisted, 2 replicated).
  auto all = f.bucket.upsert("d::2", R"({"v":2})", {.durability = {.persist_to = -1, .replicate_to = -1}}).get();
  ASSERT_TRUE(all.durability);
  EXPECT_EQ(all.durability->persist_to, 3);
  EXPECT_EQ(all.durability->replicate_to, 2);
  EXPECT_TRUE(all.durability->met) << all.durability->detail;

  // Counter and remove carry durability too; removal by seqno.
  auto c = f.bucket.counter("d::n", 5, {.initial = 10, .durability = {.persist_to = 1, .replicate_to = 1}}).get();
  EXPECT_EQ(c.value, 10u);
  ASSERT_TRUE(c.durability);
  EXPECT_TRUE(c.durability->met);
  auto r = f.bucket.remove("d::1", {.durability = {.persist_to = 2, .replicate_to = 1}}).get();
  ASSERT_TRUE(r.durability);
  EXPECT_TRUE(r.durability->met) << r.durability->detail;
}

TEST(durability, timeout_keeps_the_mutation_and_says_what_was_met)
{
  fixture f(options(2, 1, 5000ms, 5000ms));
  auto e = durability_failure(
      [&] { f.bucket.upsert("slow", R"({"x":1})", {.durability = {.persist_to = 1, .replicate_to = 1, .timeout = 300ms}}).get(); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), couchkv::client_errc::durability_timeout);
  EXPECT_EQ(e->code(), errc::durability_ambiguous);
  EXPECT_NE(e->cas(), 0u);
  EXPECT_TRUE(e->token());
  EXPECT_FALSE(e->outcome().met);
  EXPECT_TRUE(e->outcome().found_on_master);
  EXPECT_EQ(e->outcome().replicated, 0);
  EXPECT_NE(e->outcome().detail.find("replicated to 0/1"), std::string::npos) << e->outcome().detail;
  EXPECT_NE(e->outcome().detail.find("timed out"), std::string::npos) << e->outcome().detail;
  // The mutation itself happened.
  EXPECT_EQ(f.bucket.get("slow").get().value, R"({"x":1})");
}

TEST(durability, impossible_requests_fail_fast_and_write_nothing)
{
  fixture f(options(3, 1, 0ms, 0ms));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of([&] { f.bucket.upsert("imp", "{}", {.durability = {.replicate_to = 2}}).get(); }), couchkv::client_errc::durability_impossible);
  EXPECT_EQ(error_of([&] { f.bucket.upsert("imp", "{}", {.durability = {.persist_to = 3}}).get(); }), errc::durability_impossible);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(error_of([&] { f.bucket.get("imp").get(); }), errc::document_not_found);
  // endure with nothing asked is an invalid argument, not a silent success.
  auto m = f.bucket.upsert("imp2", "{}").get();
  EXPECT_EQ(error_of([&] { f.bucket.endure(m, {}).get(); }), errc::invalid_argument);
}

TEST(durability, too_few_replicas_in_the_current_map_is_impossible)
{
  fixture f(options(2, 1, 0ms, 0ms));
  f.mock.failover(1); // one node left: every vBucket lost its replica
  // Wait for the client to see the new map.
  for (int i = 0; i < 100; ++i) {
    auto ec = error_of([&] { f.bucket.upsert("few", "{}", {.durability = {.replicate_to = 1}}).get(); });
    if (ec == couchkv::client_errc::durability_impossible) return;
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "replicate_to=1 never became impossible after the failover";
}

TEST(durability, cas_mode_observe_when_tokens_are_off)
{
  fixture f(options(3, 1, 20ms, 40ms), "&enable_mutation_tokens=false");
  auto m = f.bucket.upsert("cas::1", R"({"a":1})", {.durability = {.persist_to = 2, .replicate_to = 1}}).get();
  EXPECT_FALSE(m.token);
  ASSERT_TRUE(m.durability);
  EXPECT_TRUE(m.durability->met) << m.durability->detail;
  EXPECT_FALSE(m.durability->by_seqno);

  // The document changed again: waiting for the old CAS is a distinct error.
  auto newer = f.bucket.upsert("cas::1", R"({"a":2})").get();
  auto e = durability_failure([&] { f.bucket.endure("cas::1", m.cas, {.persist_to = 1, .timeout = 2s}).get(); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), couchkv::client_errc::durability_mutation_replaced);
  EXPECT_NE(newer.cas, m.cas);

  // Removal: check_removed waits until the master and replica no longer hold it.
  auto r = f.bucket.remove("cas::1", {.durability = {.persist_to = 1, .replicate_to = 1}}).get();
  ASSERT_TRUE(r.durability);
  EXPECT_TRUE(r.durability->met) << r.durability->detail;
  auto e2 = f.bucket.endure("cas::1", 0, {.persist_to = 2, .replicate_to = 1, .check_removed = true}).get();
  EXPECT_TRUE(e2.durability.met) << e2.durability.detail;
  // Endure (positive) of a document that is gone: not found on the master.
  EXPECT_EQ(error_of([&] { f.bucket.endure("cas::1", 0, {.persist_to = 1}).get(); }), errc::document_not_found);
}

TEST(durability, failover_before_replication_loses_the_mutation)
{
  // Replication takes 2 s: the master fails over first, its replica (promoted) never had it.
  fixture f(options(3, 2, 2000ms, 2000ms));
  const std::string key = "lost::1";
  auto fut = f.bucket.upsert(key, R"({"l":1})", {.durability = {.replicate_to = 1, .timeout = 4s}});
  std::this_thread::sleep_for(150ms);
  f.mock.failover(static_cast<std::uint32_t>(f.active_node(key)));
  auto e = durability_failure([&] { fut.get(); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), couchkv::client_errc::durability_mutation_lost) << e->outcome().detail;
  EXPECT_NE(e->outcome().detail.find("failover"), std::string::npos) << e->outcome().detail;
}

TEST(durability, failover_after_replication_retargets_the_poll_and_succeeds)
{
  // Replicated at once, persisted never (within the test): replicate_to=1 needs the poll to
  // follow the vBucket to its new master after the failover.
  fixture f(options(3, 2, 0ms, 60000ms));
  const std::string key = "kept::1";
  auto m = f.bucket.upsert(key, R"({"k":1})").get();
  ASSERT_TRUE(m.token);
  f.mock.failover(static_cast<std::uint32_t>(f.active_node(key)));
  auto r = f.bucket.endure(m, {.replicate_to = 1, .timeout = 3s}).get();
  EXPECT_TRUE(r.durability.met) << r.durability.detail;
  EXPECT_TRUE(r.durability.found_on_master);
}

TEST(durability, thousand_concurrent_endures)
{
  fixture f(options(3, 1, 5ms, 10ms));
  std::vector<std::pair<std::string, document_value>> items;
  for (int i = 0; i < 1000; ++i) items.emplace_back("many::" + std::to_string(i), R"({"i":)" + std::to_string(i) + "}");
  auto written = f.bucket.upsert_multi(items).get();
  std::vector<mutation_result> ms;
  for (auto& [k, o] : written) {
    ASSERT_TRUE(o) << k << ": " << o.ec.message();
    ms.push_back(*o.value);
  }
  auto out = f.bucket.endure_multi(ms, {.persist_to = 2, .replicate_to = 1, .timeout = 10s}).get();
  ASSERT_EQ(out.size(), 1000u);
  for (auto& [k, o] : out) {
    ASSERT_TRUE(o) << k << ": " << o.ec.message() << " " << (o.value ? o.value->durability.detail : "");
    EXPECT_TRUE(o.value->durability.met);
  }
}

TEST(durability, memcached_buckets_refuse_observe_durability)
{
  mock::cluster_options o;
  o.nodes = 2;
  o.buckets[0].type = mock::bucket_type::memcached;
  fixture f(o);
  EXPECT_EQ(error_of([&] { f.bucket.upsert("m", "{}", {.durability = {.persist_to = 1}}).get(); }), errc::unsupported_operation);
}

TEST(sync_durability, majority_waits_for_replication_and_impossible_is_refused)
{
  fixture f(options(3, 1, 120ms, 240ms));
  auto t0 = std::chrono::steady_clock::now();
  auto m = f.bucket.upsert("sync::1", R"({"s":1})", {.durability = {.level = protocol::durability_level::majority}}).get();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 110ms); // held until the replica had it
  EXPECT_NE(m.cas, 0u);

  t0 = std::chrono::steady_clock::now();
  f.bucket.upsert("sync::2", "{}", {.durability = {.level = protocol::durability_level::persist_to_majority}}).get();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 230ms); // replica persisted after 120 + 240 ms

  f.bucket.remove("sync::2", {.durability = {.level = protocol::durability_level::majority_and_persist_to_active}}).get();
  EXPECT_EQ(error_of([&] { f.bucket.get("sync::2").get(); }), errc::document_not_found);

  // Observe-based and synchronous durability together make no sense.
  EXPECT_EQ(error_of([&] {
              f.bucket.upsert("sync::3", "{}", {.durability = {.persist_to = 1, .level = protocol::durability_level::majority}}).get();
            }),
            errc::invalid_argument);
}

TEST(sync_durability, impossible_with_too_few_nodes_in_the_chain)
{
  // 3 replicas configured on 2 nodes: the chain has 2 of 4 nodes defined, majority is 3.
  fixture f(options(2, 3, 0ms, 0ms));
  EXPECT_EQ(error_of([&] {
              f.bucket.upsert("sync::x", "{}", {.durability = {.level = protocol::durability_level::majority}}).get();
            }),
            errc::durability_impossible);
  EXPECT_EQ(error_of([&] { f.bucket.get("sync::x").get(); }), errc::document_not_found);
}

// Issue 18: the durability pre-check (is the request possible with the current map?) reads the
// config on the bucket's strand. Mutations with replicate_to started from several user threads
// while the map changes (failover, rebalance) must not race with the config update (TSan runs
// this) and each completes once: done, or refused / failed with a durability error.
TEST(durability, checks_against_a_changing_map_from_many_threads)
{
  fixture f(options(3, 1, 0ms, 0ms));
  std::atomic<int> completed{0};
  std::vector<std::thread> users;
  for (int t = 0; t < 3; ++t) {
    users.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        auto key = "strand::" + std::to_string(t) + "::" + std::to_string(i);
        try {
          f.bucket.upsert(key, "{}", {.durability = {.replicate_to = 1, .timeout = 2s}}).get();
        } catch (const std::system_error&) {
          // impossible after the failover, or ambiguous around it: an answer all the same
        }
        ++completed;
      }
    });
  }
  std::this_thread::sleep_for(20ms);
  f.mock.failover(2);
  std::this_thread::sleep_for(20ms);
  f.mock.rebalance_out_and_in();
  for (auto& u : users) u.join();
  EXPECT_EQ(completed.load(), 180);
}
