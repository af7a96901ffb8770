// The facade end to end: against the mock cluster (Couchbase semantics, routing, retries, failover)
// and against real memcached processes (memcached-bucket mode).
#include "../support/failure.hpp"

#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/topology/config.hpp>
#include <couchkv/topology/routing.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <async_test_support.hpp>
#include <gtest/gtest.h>
#include <memcached_server.hpp>
#include <mock_bucket.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace couchkv;
using couchkv::test::io_thread;
using couchkv::test::error_of;
using couchkv::test::failure_of;
using namespace std::chrono_literals;

namespace {

struct mock_fixture : test::mock_bucket {
  explicit mock_fixture(mock::cluster_options o = {}, cluster_options co = {})
      : mock_bucket(std::move(o), default_options, co)
  {
  }
};

} // namespace

TEST(async_bucket, every_operation_against_the_mock)
{
  mock_fixture f;
  auto& b = f.bucket;
  auto m = b.upsert("user::1", R"({"name":"Ada"})").get();
  EXPECT_NE(m.cas, 0u);
  ASSERT_TRUE(m.token);
  auto g = b.get("user::1").get();
  EXPECT_EQ(g.value, R"({"name":"Ada"})");
  EXPECT_EQ(g.format(), format::json);
  EXPECT_EQ(g.cas, m.cas);

  EXPECT_EQ(error_of([&] { b.insert("user::1", "{}").get(); }), errc::document_exists);
  EXPECT_EQ(error_of([&] { b.replace("user::1", "{}", {.cas = m.cas + 1}).get(); }), errc::cas_mismatch);
  auto r = b.replace("user::1", R"({"name":"Ada L."})", {.cas = m.cas}).get();
  EXPECT_NE(r.cas, m.cas);
  EXPECT_EQ(error_of([&] { b.replace("nobody", "{}").get(); }), errc::document_not_found);
  EXPECT_EQ(error_of([&] { b.get("nobody").get(); }), errc::document_not_found);
  EXPECT_EQ(error_of([&] { b.upsert("bad", "{not json").get(); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.get(std::string(300, 'k')).get(); }), errc::invalid_argument);
  // Each bad key says what is wrong with it (an empty key was reported as "key too long").
  EXPECT_EQ(error_of([&] { b.get(std::string(300, 'k')).get(); }), protocol::client_errc::key_too_long);
  EXPECT_EQ(error_of([&] { b.get("").get(); }), protocol::client_errc::key_empty);
  EXPECT_EQ(error_of([&] { b.get("").get(); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.remove("").get(); }), protocol::client_errc::key_empty);

  auto c1 = b.counter("ctr", 5, {.initial = 100}).get();
  EXPECT_EQ(c1.value, 100u);
  auto c2 = b.counter("ctr", -30).get();
  EXPECT_EQ(c2.value, 70u);
  EXPECT_EQ(error_of([&] { b.counter("no-ctr", 1).get(); }), errc::document_not_found);
  EXPECT_EQ(error_of([&] { b.counter("user::1", 1).get(); }), errc::delta_invalid);

  b.upsert("text", couchkv::binary(std::string_view("abc"))).get();
  b.append("text", "def").get();
  b.prepend("text", ">").get();
  auto t = b.get("text").get();
  EXPECT_EQ(t.value, ">abcdef");
  EXPECT_EQ(t.format(), format::binary);
  EXPECT_EQ(error_of([&] { b.append("missing", "x").get(); }), errc::document_not_found);

  auto locked = b.get_and_lock("user::1", {.lock_time = 10s}).get();
  EXPECT_EQ(error_of([&] { b.upsert("user::1", "{}").get(); }), errc::document_locked);
  EXPECT_EQ(error_of([&] { b.unlock("user::1", locked.cas + 1).get(); }), errc::cas_mismatch);
  b.unlock("user::1", locked.cas).get();
  EXPECT_EQ(error_of([&] { b.unlock("user::1", locked.cas).get(); }), errc::document_not_locked);

  b.touch("user::1", 100s).get();
  auto gat = b.get_and_touch("user::1", {.expiry = 5s}).get();
  EXPECT_EQ(gat.value, R"({"name":"Ada L."})");
  f.mock.advance_clock(10s);
  EXPECT_EQ(error_of([&] { b.get("user::1").get(); }), errc::document_not_found);

  b.upsert("replicated", R"({"r":1})").get();
  auto rep = b.get_replica("replicated").get();
  EXPECT_TRUE(rep.is_replica);
  EXPECT_EQ(rep.value, R"({"r":1})");
  auto rep0 = b.get_replica("replicated", {.mode = replica_mode::index, .index = 0}).get();
  EXPECT_EQ(rep0.value, R"({"r":1})");
  EXPECT_EQ(error_of([&] { b.get_replica("replicated", {.mode = replica_mode::index, .index = 5}).get(); }),
            errc::invalid_argument);

  b.remove("replicated").get();
  EXPECT_EQ(error_of([&] { b.remove("replicated").get(); }), errc::document_not_found);
  // Observe-based durability is part of every mutation (test_durability covers it in depth).
  auto durable = b.upsert("k", "{}", {.durability = {.persist_to = 1}}).get();
  ASSERT_TRUE(durable.durability);
  EXPECT_TRUE(durable.durability->met) << durable.durability->detail;
}

// Issue 20: expiries that cannot be sent as meant fail with invalid_argument and send nothing;
// durations beyond 30 days and time points become the absolute Unix time the server expects.
// locate() answers what the mock's own map says (read from its config, not through the client's
// routing), and what an operation on the key used: its vBucket and its node.
TEST(async_bucket, locate_names_the_vbucket_master_and_replicas_a_key_routes_to)
{
  mock_fixture f(test::mock_options(3, 1));
  auto& b = f.bucket;
  auto cfg = nlohmann::json::parse(f.mock.config_json("default"));
  const auto& servers = cfg["vBucketServerMap"]["serverList"];
  const auto& map = cfg["vBucketServerMap"]["vBucketMap"];
  auto endpoint = [&](int index) {
    auto s = servers.at(static_cast<std::size_t>(index)).get<std::string>();
    if (auto at = s.find("$HOST"); at != std::string::npos) s.replace(at, 5, "127.0.0.1");
    return s;
  };
  for (int i = 0; i < 20; ++i) {
    const auto key = "where::" + std::to_string(i);
    auto loc = b.locate(key).get();
    EXPECT_EQ(loc.key, key);
    ASSERT_TRUE(loc.vbucket);
    ASSERT_TRUE(loc.master);
    ASSERT_EQ(loc.replicas.size(), 1u);
    ASSERT_TRUE(loc.replicas[0]);
    const auto& row = map.at(*loc.vbucket);
    EXPECT_EQ(loc.master->index, row.at(0).get<std::size_t>());
    EXPECT_EQ(loc.master->endpoint, endpoint(row.at(0).get<int>()));
    EXPECT_EQ(loc.replicas[0]->endpoint, endpoint(row.at(1).get<int>()));
    EXPECT_NE(loc.master->endpoint, loc.replicas[0]->endpoint);
    auto miss = failure_of([&] { b.get(key).get(); });
    EXPECT_EQ(miss.ec, errc::document_not_found);
    EXPECT_EQ(miss.context.vbucket, *loc.vbucket);
    EXPECT_EQ(miss.context.endpoint, loc.master->endpoint);
  }
  // After a failover the answer follows the client's new map: the replica became the master.
  const auto before = b.locate("where::0").get();
  f.mock.failover(static_cast<std::uint32_t>(before.master->index));
  b.upsert("where::0", "{}").get(); // NOT_MY_VBUCKET brings the new map
  const auto after = b.locate("where::0").get();
  ASSERT_TRUE(after.master);
  EXPECT_EQ(after.master->endpoint, before.replicas[0]->endpoint);
  EXPECT_EQ(after.vbucket, before.vbucket);

  EXPECT_EQ(error_of([&] { b.locate("").get(); }), protocol::client_errc::key_empty);
  EXPECT_EQ(error_of([&] { b.locate(std::string(251, 'k')).get(); }), protocol::client_errc::key_too_long);
  EXPECT_EQ(error_of([&] { async_bucket{}.locate("k").get(); }), protocol::client_errc::not_connected);
}

TEST(async_bucket, locate_in_a_memcached_bucket_names_its_server_and_no_vbucket)
{
  mock::cluster_options o;
  o.nodes = 3;
  o.buckets[0].type = mock::bucket_type::memcached;
  mock_fixture f(o);
  for (int i = 0; i < 10; ++i) {
    const auto key = "mc::" + std::to_string(i);
    auto loc = f.bucket.locate(key).get();
    EXPECT_FALSE(loc.vbucket);
    EXPECT_TRUE(loc.replicas.empty());
    ASSERT_TRUE(loc.master);
    auto miss = failure_of([&] { f.bucket.get(key).get(); });
    EXPECT_EQ(miss.ec, errc::document_not_found);
    EXPECT_EQ(miss.context.endpoint, loc.master->endpoint);
  }
}

TEST(async_bucket, expiries_that_would_wrap_are_refused_and_long_ones_are_absolute)
{
  mock_fixture f;
  auto& b = f.bucket;
  using std::chrono::system_clock;
  const std::vector<std::pair<std::string, expiry_time>> bad{
      {"3e9 s", std::chrono::seconds(3'000'000'000LL)},      // now + 3e9 s is past 2106
      {"INT64_MAX s", std::chrono::seconds::max()},
      {"INT64_MAX h", std::chrono::hours::max()},
      {"-1 s", -1s},
      {"-INT64_MAX s", std::chrono::seconds::min()},
      {"10 days after the epoch", system_clock::time_point(std::chrono::days(10))}, // reads as relative
      {"year 2200", std::chrono::sys_days(std::chrono::year(2200) / 1 / 1)},
      {"time_point max", system_clock::time_point::max()},
  };
  b.upsert("exp::kept", R"({"k":1})").get();
  for (const auto& [what, e] : bad) {
    SCOPED_TRACE(what);
    EXPECT_EQ(error_of([&] { b.upsert("exp::new", "{}", {.expiry = e}).get(); }), errc::invalid_argument);
    EXPECT_EQ(error_of([&] { b.insert("exp::new", "{}", {.expiry = e}).get(); }), errc::invalid_argument);
    EXPECT_EQ(error_of([&] { b.replace("exp::kept", "{}", {.expiry = e}).get(); }), errc::invalid_argument);
    EXPECT_EQ(error_of([&] { b.touch("exp::kept", e).get(); }), errc::invalid_argument);
    EXPECT_EQ(error_of([&] { b.get_and_touch("exp::kept", {.expiry = e}).get(); }), errc::invalid_argument);
    EXPECT_EQ(error_of([&] { b.counter("exp::ctr", 1, {.initial = 5, .expiry = e}).get(); }), errc::invalid_argument);
    auto multi = b.touch_multi({"exp::kept"}, e).get();
    EXPECT_EQ(multi.at("exp::kept").ec, errc::invalid_argument);
  }
  // Nothing was sent: no document was created, the kept one is unchanged and does not expire.
  EXPECT_EQ(error_of([&] { b.get("exp::new").get(); }), errc::document_not_found);
  EXPECT_EQ(error_of([&] { b.get("exp::ctr").get(); }), errc::document_not_found);
  f.mock.advance_clock(std::chrono::days(365));
  EXPECT_EQ(b.get("exp::kept").get().value, R"({"k":1})");

  // 40 days: beyond the 30-day rule, so sent as now + 40 days (absolute), and it holds.
  b.upsert("exp::40d", "{}", {.expiry = std::chrono::days(40)}).get();
  f.mock.advance_clock(std::chrono::days(39));
  EXPECT_NO_THROW(b.get("exp::40d").get());
  f.mock.advance_clock(std::chrono::days(2));
  EXPECT_EQ(error_of([&] { b.get("exp::40d").get(); }), errc::document_not_found);

  // A time point, in the options and in touch().
  b.upsert("exp::at", "{}", {.expiry = system_clock::now() + 2h}).get();
  b.upsert("exp::touched", "{}").get();
  b.touch("exp::touched", system_clock::now() + 2h).get();
  f.mock.advance_clock(1h);
  EXPECT_NO_THROW(b.get("exp::at").get());
  EXPECT_NO_THROW(b.get("exp::touched").get());
  f.mock.advance_clock(2h);
  EXPECT_EQ(error_of([&] { b.get("exp::at").get(); }), errc::document_not_found);
  EXPECT_EQ(error_of([&] { b.get("exp::touched").get(); }), errc::document_not_found);
  // A time point in the past: what the caller asked for, the document expires at once.
  b.upsert("exp::past", "{}", {.expiry = system_clock::now() - 1h}).get();
  EXPECT_EQ(error_of([&] { b.get("exp::past").get(); }), errc::document_not_found);
  // 30 days exactly is still relative; 0 is "never".
  b.upsert("exp::30d", "{}", {.expiry = std::chrono::days(30)}).get();
  b.upsert("exp::never", "{}", {.expiry = 0s}).get();
  f.mock.advance_clock(std::chrono::days(29));
  EXPECT_NO_THROW(b.get("exp::30d").get());
  f.mock.advance_clock(std::chrono::days(2));
  EXPECT_EQ(error_of([&] { b.get("exp::30d").get(); }), errc::document_not_found);
  EXPECT_NO_THROW(b.get("exp::never").get());
}

// Issue 20: timeouts and lock times that would overflow or wrap. milliseconds::max() means "no
// earlier than the end of time" (it used to overflow into an immediate timeout); a negative
// timeout or lock time is refused with invalid_argument and nothing is sent.
TEST(async_bucket, huge_timeouts_saturate_and_negative_ones_are_refused)
{
  mock_fixture f;
  auto& b = f.bucket;
  constexpr auto forever = std::chrono::milliseconds::max();
  EXPECT_NO_THROW(b.upsert("to::a", "{}", {.timeout = forever}).get());
  EXPECT_EQ(b.get("to::a", {.timeout = forever}).get().value, "{}");
  auto many = b.get_multi({"to::a", "to::missing"}, {.timeout = forever}).get();
  EXPECT_TRUE(many.at("to::a"));
  EXPECT_EQ(many.at("to::missing").ec, errc::document_not_found);
  std::atomic<int> each{0};
  EXPECT_EQ(b.get_multi_each({"to::a"}, [&](std::error_code ec, const get_view&) { each += ec ? 0 : 1; },
                             {.timeout = forever}).get(), 1u);
  EXPECT_EQ(each.load(), 1);
  EXPECT_NO_THROW(b.upsert("to::durable", "{}", {.durability = {.persist_to = 1, .timeout = forever}, .timeout = forever}).get());
  auto lock = b.get_and_lock("to::a", {.lock_time = 5s, .timeout = forever}).get();
  EXPECT_NO_THROW(b.unlock("to::a", lock.cas, {.timeout = forever}).get());

  // A lost answer under a huge timeout still ends: when the bucket closes, not at once.
  {
    mock_fixture g;
    g.bucket.upsert("to::lost", "{}").get();
    g.mock.drop_next(1);
    auto pending = g.bucket.get("to::lost", {.timeout = forever});
    EXPECT_EQ(pending.wait_for(300ms), std::future_status::timeout); // not an immediate timeout
    g.bucket.close();
    EXPECT_EQ(pending.wait_for(10s), std::future_status::ready);
  }

  constexpr auto negative = std::chrono::milliseconds(-1);
  EXPECT_EQ(error_of([&] { b.get("to::a", {.timeout = negative}).get(); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.upsert("to::b", "{}", {.timeout = negative}).get(); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.remove("to::a", {.timeout = negative}).get(); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.counter("to::c", 1, {.initial = 1, .timeout = negative}).get(); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.touch("to::a", 10s, {.timeout = negative}).get(); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.upsert("to::b", "{}", {.durability = {.persist_to = 1, .timeout = negative}}).get(); }),
            errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.endure("to::a", 0, {.persist_to = 1, .timeout = negative}).get(); }), errc::invalid_argument);
  auto neg_multi = b.get_multi({"to::a", "to::missing"}, {.timeout = negative}).get();
  EXPECT_EQ(neg_multi.at("to::a").ec, errc::invalid_argument);
  EXPECT_EQ(neg_multi.at("to::missing").ec, errc::invalid_argument);
  std::vector<std::error_code> each_ec;
  b.get_multi_each({"to::a"}, [&](std::error_code ec, const get_view&) { each_ec.push_back(ec); }, {.timeout = negative}).get();
  ASSERT_EQ(each_ec.size(), 1u);
  EXPECT_EQ(each_ec[0], errc::invalid_argument);
  // Nothing was sent: to::b and to::c do not exist, to::a is still there.
  EXPECT_EQ(error_of([&] { b.get("to::b").get(); }), errc::document_not_found);
  EXPECT_EQ(error_of([&] { b.get("to::c").get(); }), errc::document_not_found);
  EXPECT_NO_THROW(b.get("to::a").get());

  // Lock times: negative used to become 0xFFFFFFFF on the wire, 2^32 s and more were truncated.
  EXPECT_EQ(error_of([&] { b.get_and_lock("to::a", {.lock_time = -1s}).get(); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { b.get_and_lock("to::a", {.lock_time = std::chrono::seconds(1LL << 32)}).get(); }),
            errc::invalid_argument);
  EXPECT_EQ(b.get_and_lock_multi({"to::a"}, {.lock_time = -1s}).get().at("to::a").ec, errc::invalid_argument);
  EXPECT_NO_THROW(b.upsert("to::a", "{}").get()); // not locked
}

TEST(async_bucket, callbacks_coroutines_and_futures_share_one_signature)
{
  mock_fixture f;
  std::promise<std::error_code> p;
  f.bucket.upsert("cb", R"({"via":"callback"})", {}, [&](std::error_code ec, mutation_result) { p.set_value(ec); });
  EXPECT_FALSE(p.get_future().get());
  auto fut = asio::co_spawn(
      f.t.io,
      [&]() -> asio::awaitable<std::string> {
        auto [ec, r] = co_await f.bucket.get("cb", {}, asio::as_tuple(asio::use_awaitable));
        co_return ec ? ec.message() : r.value;
      },
      asio::use_future);
  EXPECT_EQ(fut.get(), R"({"via":"callback"})");
}

TEST(async_bucket, multi_operations_of_ten_thousand_keys_lose_nothing)
{
  mock_fixture f;
  std::vector<std::pair<std::string, document_value>> items;
  std::vector<std::string> keys;
  for (int i = 0; i < 10000; ++i) {
    keys.push_back("multi::" + std::to_string(i));
    items.emplace_back(keys.back(), document_value(nlohmann::json{{"i", i}}.dump()));
  }
  keys.push_back("multi::missing");
  auto up = f.bucket.upsert_multi(items).get();
  ASSERT_EQ(up.size(), 10000u);
  for (auto& [k, o] : up) ASSERT_TRUE(o) << k << ": " << o.ec.message();
  auto got = f.bucket.get_multi(keys).get();
  ASSERT_EQ(got.size(), 10001u);
  for (int i = 0; i < 10000; ++i) {
    auto& o = got.at("multi::" + std::to_string(i));
    ASSERT_TRUE(o) << i;
    ASSERT_EQ(nlohmann::json::parse(o.value->value)["i"], i);
  }
  EXPECT_EQ(got.at("multi::missing").ec, errc::document_not_found);
  auto removed = f.bucket.remove_multi(std::vector<std::string>(keys.begin(), keys.begin() + 100)).get();
  EXPECT_EQ(removed.size(), 100u);
}

// Issue 18: get_replica(any) asks every replica and completes with the first answer; the others
// still run after the operation (and its request, whose key they used) has completed. Each probe
// keeps its own key: ASan runs this (many races, each ending before its slower probes).
TEST(async_bucket, replica_probes_outlive_the_operation_they_answered)
{
  mock_fixture f(test::mock_options(3, 2));
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) keys.push_back("race::" + std::to_string(i) + std::string(40, 'x'));
  for (const auto& k : keys) f.bucket.upsert(k, "{}", {.durability = {.replicate_to = 2}}).get();
  for (int round = 0; round < 4; ++round) {
    std::vector<std::future<get_result>> races;
    for (auto k : keys) races.push_back(f.bucket.get_replica(std::move(k))); // the request owns its key
    for (std::size_t i = 0; i < races.size(); ++i) {
      auto r = races[i].get();
      EXPECT_EQ(r.value, "{}") << keys[i];
      EXPECT_TRUE(r.is_replica);
    }
  }
}

TEST(async_bucket, best_effort_retries_temporary_failures_and_timeouts_say_why)
{
  mock_fixture f;
  f.bucket.upsert("tmp", "{}").get();
  f.mock.fail_next(3, static_cast<std::uint16_t>(protocol::status::etmpfail));
  EXPECT_EQ(f.bucket.get("tmp", {.retry = retry_strategy::best_effort}).get().value, "{}");
  f.mock.fail_next(1000000, static_cast<std::uint16_t>(protocol::status::etmpfail));
  auto [ec, ctx] = failure_of([&] { f.bucket.get("tmp", {.timeout = 200ms, .retry = retry_strategy::best_effort}).get(); });
  EXPECT_EQ(ec, errc::timeout);
  EXPECT_EQ(ctx.last_retry_reason, retry_reason::temporary_failure);
  EXPECT_EQ(ctx.status, 0x86) << "the timeout names the status the server kept sending";
  EXPECT_EQ(ctx.key, "tmp");
  EXPECT_EQ(ctx.operation, "GET");
  EXPECT_GT(ctx.elapsed, 50ms) << "it retried for most of its 200 ms";
  EXPECT_LT(ctx.elapsed, 1000ms);
  f.mock.fail_next(0, 0);
  f.mock.drop_next(1);
  ec = error_of([&] { f.bucket.upsert("tmp", "{}", {.timeout = 200ms}).get(); });
  EXPECT_EQ(ec, errc::ambiguous_timeout); // it was sent: it may have been applied
}

// Keys whose vBucket node `node` holds as active now (from the mock's own config).
static std::vector<std::string> keys_on_node(const mock::cluster& m, int node, int count)
{
  topology::config_error err;
  auto cfg = topology::parse_config(m.config_json("default"), "127.0.0.1", err);
  std::vector<std::string> keys;
  for (int i = 0; static_cast<int>(keys.size()) < count; ++i) {
    auto k = "node" + std::to_string(node) + "::" + std::to_string(i);
    if (topology::node_for_vbucket(*cfg->vbmap, topology::vbucket_of(k, cfg->vbmap->num_vbuckets()), 0) == node) {
      keys.push_back(std::move(k));
    }
  }
  return keys;
}

// An operation whose node has no connection waits for one (or for a new config) instead of
// retrying on a doubling timer: a burst on a pool that is still connecting would otherwise go
// round in waves that delay the very handshake it waits for (bench_cold_start measures that).
// The retry count shows which: on a timer, 1.5 s of backoff is about 11 retries.
TEST(async_bucket, an_operation_for_a_stopped_node_waits_for_it_instead_of_polling)
{
  mock_fixture f;
  auto key = keys_on_node(f.mock, 1, 1).at(0);
  f.bucket.upsert(key, "{}").get();
  f.mock.stop_node(1);
  auto [ec, e] = failure_of([&] { f.bucket.get(key, {.timeout = 1500ms}).get(); });
  EXPECT_EQ(ec, errc::timeout);
  EXPECT_EQ(e.last_retry_reason, retry_reason::node_not_available);
  // Connection lost once, parked, maybe woken by the stopped node's config, then the deadline.
  EXPECT_GE(e.retries, 1u);
  EXPECT_LE(e.retries, 5u);
}

namespace {
// 50 GETs for keys on node 1, issued while node 1 is stopped (they find no connection and wait),
// then `release` runs: every GET must succeed, well before its 20 s deadline (one that missed its
// wake-up would time out).
template <class Release>
void waiting_gets_succeed_after(mock_fixture& f, mutation_options store, Release release)
{
  auto keys = keys_on_node(f.mock, 1, 50);
  for (const auto& k : keys) f.bucket.upsert(k, "{}", store).get();
  f.mock.stop_node(1);
  std::vector<std::future<get_result>> gets;
  for (const auto& k : keys) gets.push_back(f.bucket.get(k, {.timeout = 20s}));
  std::this_thread::sleep_for(300ms);
  auto t0 = std::chrono::steady_clock::now();
  release();
  for (auto& g : gets) EXPECT_EQ(g.get().value, "{}");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}
} // namespace

// ... and goes as soon as the node is back.
TEST(async_bucket, operations_waiting_for_a_stopped_node_go_when_it_restarts)
{
  mock_fixture f;
  waiting_gets_succeed_after(f, {}, [&] { f.mock.restart_node(1); });
}

// ... or goes elsewhere when the config moves its vBucket (failover promotes a replica).
TEST(async_bucket, operations_waiting_for_a_stopped_node_follow_a_failover)
{
  mock_fixture f;
  waiting_gets_succeed_after(f, {.durability = {.replicate_to = 1}}, [&] { f.mock.failover(1); });
}

// ... and closing the bucket ends the wait at once.
TEST(async_bucket, closing_the_bucket_completes_operations_waiting_for_a_node)
{
  mock_fixture f;
  auto key = keys_on_node(f.mock, 1, 1).at(0);
  f.mock.stop_node(1);
  auto get = f.bucket.get(key, {.timeout = 30s});
  std::this_thread::sleep_for(300ms);
  f.bucket.close();
  ASSERT_EQ(get.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(error_of([&] { get.get(); }), errc::request_canceled);
}

namespace {
void failover_during_a_stream(mock_fixture& f)
{
  constexpr int n = 20000;
  std::atomic<int> ok{0}, failed{0}, completions{0};
  std::vector<std::atomic<int>> seen(n);
  std::promise<void> all;
  std::mutex m;
  std::string first_error;
  for (int i = 0; i < n; ++i) {
    f.bucket.upsert("fo::" + std::to_string(i % 2000), R"({"x":1})", {},
                    [&, i](std::error_code ec, mutation_result) {
                      if (seen[i].fetch_add(1) != 0) ADD_FAILURE() << "completed twice: " << i;
                      if (ec) {
                        std::lock_guard lk(m);
                        if (first_error.empty()) first_error = ec.message();
                      }
                      (ec ? failed : ok)++;
                      if (++completions == n) all.set_value();
                    });
    if (i == n / 3) f.mock.failover(1);
    if (i == 2 * n / 3) f.mock.rebalance_out_and_in();
  }
  ASSERT_EQ(all.get_future().wait_for(60s), std::future_status::ready);
  EXPECT_EQ(completions.load(), n);
  // Failover re-routes through NOT_MY_VBUCKET and the pushed config: nothing needs to fail.
  EXPECT_EQ(failed.load(), 0) << "first error: " << first_error;
  for (int i = 0; i < 2000; i += 97) EXPECT_EQ(f.bucket.get("fo::" + std::to_string(i)).get().value, R"({"x":1})");
}
} // namespace

TEST(async_bucket, failover_during_a_stream_completes_every_operation_exactly_once)
{
  mock_fixture f;
  failover_during_a_stream(f);
}

// cluster_options::single_threaded: the bucket runs on the io_context's executor itself (no
// strand of its own; io_thread runs the context on one thread) and operations may still be started
// from any thread.
TEST(async_bucket, single_threaded_buckets_run_on_the_given_executor)
{
  mock_fixture f({}, cluster_options{.single_threaded = true});
  EXPECT_TRUE(f.bucket.get_executor() == asio::any_io_executor(f.t.io.get_executor()));
  {
    mock_fixture strand;
    EXPECT_FALSE(strand.bucket.get_executor() == asio::any_io_executor(strand.t.io.get_executor()));
  }
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) f.bucket.upsert("st::" + std::to_string(t) + "::" + std::to_string(i), "{}").get();
    });
  }
  for (int i = 0; i < 200; ++i) {
    f.bucket.get_multi({"st::0::" + std::to_string(i), "st::1::" + std::to_string(i)}).get();
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(f.bucket.get("st::0::499").get().value, "{}");
  EXPECT_EQ(f.bucket.get("st::1::499").get().value, "{}");
}

// ... and the 20,000-operation stream through a failover and a rebalance completes exactly once.
TEST(async_bucket, single_threaded_failover_during_a_stream_completes_every_operation_exactly_once)
{
  mock_fixture f({}, cluster_options{.single_threaded = true});
  failover_during_a_stream(f);
}

// Each failure carries its own context: two threads whose operations fail differently at the same
// time each see their own key, operation and status (a per-bucket "last error" would hand one
// thread the other's).
TEST(async_bucket, concurrent_failures_from_two_threads_each_carry_their_own_context)
{
  mock_fixture f;
  f.bucket.upsert("exists", "{}").get();
  constexpr int n = 500;
  std::atomic<int> wrong{0};
  auto missing = std::async(std::launch::async, [&] {
    for (int i = 0; i < n; ++i) {
      const auto key = "missing::" + std::to_string(i);
      auto [ec, ctx] = failure_of([&] { f.bucket.get(key).get(); });
      if (ec != errc::document_not_found || ctx.key != key || ctx.operation != "GET" ||
          ctx.status != static_cast<std::uint16_t>(protocol::status::key_enoent) || ctx.endpoint.empty()) {
        ++wrong;
      }
    }
  });
  auto existing = std::async(std::launch::async, [&] {
    for (int i = 0; i < n; ++i) {
      // Callbacks too: the context is in the result.
      std::promise<std::pair<std::error_code, mutation_result>> p;
      f.bucket.insert("exists", "{}", {}, [&](std::error_code ec, mutation_result r) { p.set_value({ec, std::move(r)}); });
      auto [ec, r] = p.get_future().get();
      if (ec != errc::document_exists || r.context.key != "exists" || r.context.operation != "ADD" ||
          r.context.status != static_cast<std::uint16_t>(protocol::status::key_eexists)) {
        ++wrong;
      }
    }
  });
  missing.get();
  existing.get();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(async_bucket, a_cluster_may_go_away_while_open_bucket_fails)
{
  // The failing open records its error on the cluster from the io thread; the cluster object is
  // gone by then (ASan would see a use after free), and last_error_detail() may be read while an
  // open is failing (TSan would see a race).
  mock::cluster mock;
  mock.start();
  io_thread t;
  std::future<async_bucket> pending;
  {
    cluster gone(t.io.get_executor(), mock.connection_string(), {"default", "wrong"});
    pending = gone.open_bucket();
  }
  EXPECT_EQ(error_of([&] { pending.get(); }), errc::authentication_failure);
  cluster here(t.io.get_executor(), mock.connection_string(), {"default", "wrong"});
  auto opening = here.open_bucket();
  while (opening.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) (void)here.last_error_detail();
  EXPECT_EQ(error_of([&] { opening.get(); }), errc::authentication_failure);
  EXPECT_NE(here.last_error_detail().find("authentication"), std::string::npos) << here.last_error_detail();
}

// An initiation that held `this` would read the moved-from cluster when a deferred open_bucket
// runs after a move (issue 18, item 4): it holds the cluster's state instead.
TEST(async_bucket, a_deferred_open_bucket_runs_after_its_cluster_was_moved)
{
  mock::cluster mock;
  mock.start();
  io_thread t;
  cluster original(t.io.get_executor(), mock.connection_string(), {"default", "password"});
  auto deferred_open = original.open_bucket("default", asio::deferred);
  cluster moved(std::move(original));
  auto b = std::move(deferred_open)(couchkv::use_future).get();
  ASSERT_TRUE(b.valid());
  b.upsert("moved", "{}").get();
  EXPECT_EQ(b.get("moved").get().value, "{}");
  // The moved-from cluster refuses instead of crashing.
  EXPECT_EQ(error_of([&] { original.open_bucket().get(); }), protocol::client_errc::not_connected);
}

TEST(async_bucket, open_bucket_errors_are_clear)
{
  mock::cluster mock;
  mock.start();
  io_thread t;
  cluster bad_pw(t.io.get_executor(), mock.connection_string(), {"default", "wrong"});
  EXPECT_EQ(error_of([&] { bad_pw.open_bucket().get(); }), errc::authentication_failure);
  EXPECT_NE(bad_pw.last_error_detail().find("authentication"), std::string::npos) << bad_pw.last_error_detail();
  cluster admin(t.io.get_executor(), mock.connection_string("nosuch"), {"Administrator", "password"});
  EXPECT_EQ(error_of([&] { admin.open_bucket().get(); }), errc::bucket_not_found);
  EXPECT_THROW(cluster(t.io.get_executor(), "couchbase://h1/default?kv_timout=1", {}), std::system_error);
  auto port = couchkv::test::free_loopback_port();
  cluster nobody(t.io.get_executor(), "couchbase://127.0.0.1:" + std::to_string(port) + "/default", {"a", "b"});
  EXPECT_EQ(error_of([&] { nobody.open_bucket().get(); }), errc::network_error);
}

TEST(async_bucket, memcached_bucket_mode_over_real_memcached)
{
  couchkv::test::memcached_server m1, m2, m3;
  io_thread t;
  auto cs = "memcached://127.0.0.1:" + std::to_string(m1.port()) + ",127.0.0.1:" + std::to_string(m2.port()) +
            ",127.0.0.1:" + std::to_string(m3.port());
  cluster c(t.io.get_executor(), cs, {});
  auto b = c.open_bucket().get();
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back("mc::" + std::to_string(i));
  std::vector<std::pair<std::string, document_value>> items;
  for (auto& k : keys) items.emplace_back(k, document_value(R"({"k":")" + k + R"("})"));
  auto up = b.upsert_multi(items).get();
  for (auto& [k, o] : up) ASSERT_TRUE(o) << k << ": " << o.ec.message();
  auto got = b.get_multi(keys).get();
  for (auto& k : keys) ASSERT_EQ(got.at(k).value->value, R"({"k":")" + k + R"("})");
  EXPECT_EQ(b.counter("mc::ctr", 2, {.initial = 40}).get().value, 40u);
  EXPECT_EQ(b.counter("mc::ctr", 2).get().value, 42u);
  EXPECT_EQ(error_of([&] { b.get_replica("mc::1").get(); }), errc::unsupported_operation);
  b.close();
}

TEST(async_bucket, kv_pool_size_opens_that_many_connections_per_node_and_they_reconnect)
{
  mock::cluster_options o;
  o.nodes = 2;
  o.vbuckets = 64;
  mock::cluster mock(o);
  mock.start();
  io_thread t;
  cluster c(t.io.get_executor(), mock.connection_string() + "?kv_pool_size=4", credentials{"default", "password"});
  auto b = c.open_bucket().get();
  std::vector<std::pair<std::string, document_value>> items;
  for (int i = 0; i < 4000; ++i) items.emplace_back("pool::" + std::to_string(i), "{}");
  for (auto& [k, r] : b.upsert_multi(items).get()) ASSERT_TRUE(r) << k;
  // 1 bootstrap connection + 4 per node.
  EXPECT_EQ(mock.stats().connections_accepted, 1u + 2u * 4u);
  // Killing a node's connections: its pool reconnects by itself and operations carry on.
  mock.kill_connections(0);
  for (auto& [k, r] : b.get_multi({"pool::1", "pool::2", "pool::3", "pool::4"}).get()) EXPECT_TRUE(r) << k << r.ec.message();
  b.close();
}

// ---- get_multi: one batch per node (bucket_impl::execute_get_batch) ---------------------------

namespace {
// Every key of `keys` has exactly one outcome, with its value or its error (a batch that told a
// key twice would have completed before another key was told, leaving it empty).
void expect_each_key_ended(const std::vector<std::string>& keys, const multi_result<get_result>& got)
{
  std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(got.size(), unique.size());
  for (const auto& k : unique) {
    auto it = got.find(k);
    ASSERT_NE(it, got.end()) << k;
    EXPECT_TRUE(it->second.ec || it->second.value) << k << ": neither a value nor an error";
    EXPECT_FALSE(it->second.ec && it->second.value) << k << ": both a value and an error";
  }
}

std::vector<std::string> spread_keys(const mock::cluster& m, int per_node)
{
  std::vector<std::string> keys;
  for (int node = 0; node < static_cast<int>(m.options().nodes); ++node) {
    auto on = keys_on_node(m, node, per_node);
    keys.insert(keys.end(), on.begin(), on.end());
  }
  return keys;
}

void store_all(async_bucket& b, const std::vector<std::string>& keys, mutation_options o = {.timeout = 20s})
{
  std::vector<std::pair<std::string, document_value>> items;
  for (const auto& k : keys) items.emplace_back(k, document_value(R"({"k":")" + k + R"("})"));
  for (auto& [k, r] : b.upsert_multi(items, o).get()) ASSERT_TRUE(r) << k << ": " << r.ec.message();
}

// Generous: these tests run under ThreadSanitizer too, on a busy machine.
constexpr get_options slow_ok{.timeout = 20s};
} // namespace

TEST(async_bucket, get_multi_over_three_nodes_with_missing_and_duplicate_keys)
{
  mock_fixture f;
  auto present = spread_keys(f.mock, 1000);
  store_all(f.bucket, present);
  auto keys = present;
  for (int i = 0; i < 300; ++i) keys.push_back("absent::" + std::to_string(i));
  for (int i = 0; i < 3000; i += 7) keys.push_back(present[static_cast<std::size_t>(i)]); // duplicates
  keys.push_back(std::string(300, 'x'));                                                   // invalid
  auto before = f.mock.stats().requests;
  auto got = f.bucket.get_multi(keys, slow_ok).get();
  expect_each_key_ended(keys, got);
  for (const auto& k : present) {
    const auto& o = got.at(k);
    ASSERT_TRUE(o) << k << ": " << o.ec.message();
    EXPECT_EQ(o.value->key, k);
    EXPECT_EQ(o.value->value, R"({"k":")" + k + R"("})");
    EXPECT_NE(o.value->cas, 0u);
    EXPECT_EQ(o.value->format(), format::json);
  }
  for (int i = 0; i < 300; ++i) EXPECT_EQ(got.at("absent::" + std::to_string(i)).ec, errc::document_not_found);
  EXPECT_EQ(got.at(std::string(300, 'x')).ec, errc::invalid_argument);
  // A duplicate is read once (429 of them: read twice they would add as many requests); the
  // invalid key not at all. The config polls (every 100 ms) count as requests too.
  const auto requests = f.mock.stats().requests - before;
  EXPECT_GE(requests, 3300u);
  EXPECT_LT(requests, 3300u + 100u);
  EXPECT_EQ(got.at("absent::0").context.status, static_cast<std::uint16_t>(protocol::status::key_enoent));
  EXPECT_EQ(got.at("absent::0").context.key, "absent::0");
  // Nothing to read, and only duplicates of one key.
  EXPECT_TRUE(f.bucket.get_multi({}).get().empty());
  auto dup = f.bucket.get_multi({present[0], present[0], present[0]}, slow_ok).get();
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_TRUE(dup.at(present[0]));
}

// get_multi_each: one callback per key given (a duplicate twice), views of the answer or the
// error, on the bucket's executor (not the caller's thread), then one completion with the count.
TEST(async_bucket, get_multi_each_calls_back_once_per_key_with_views)
{
  mock_fixture f;
  auto present = spread_keys(f.mock, 300);
  store_all(f.bucket, present);
  auto keys = present;
  for (int i = 0; i < 100; ++i) keys.push_back("absent::" + std::to_string(i));
  keys.push_back(present[0]);              // read twice
  keys.push_back(std::string(300, 'x'));   // invalid
  struct seen {
    int calls{0};
    std::error_code ec;
    std::string value;
    std::uint64_t cas{0};
    couchkv::format fmt{};
  };
  std::mutex m;
  std::map<std::string, seen> got;
  std::atomic<int> on_caller_thread{0};
  const auto caller = std::this_thread::get_id();
  auto each = [&](std::error_code ec, const get_view& v) {
    if (std::this_thread::get_id() == caller) ++on_caller_thread;
    std::lock_guard lock(m);
    auto& s = got[std::string(v.key)];
    ++s.calls;
    s.ec = ec;
    s.value = std::string(v.value);
    s.cas = v.cas;
    s.fmt = v.format();
  };
  auto found = f.bucket.get_multi_each(keys, each, slow_ok).get();
  EXPECT_EQ(found, present.size() + 1);
  EXPECT_EQ(on_caller_thread.load(), 0);
  std::lock_guard lock(m);
  EXPECT_EQ(got.size(), present.size() + 100 + 1);
  for (const auto& k : present) {
    const auto& s = got.at(k);
    EXPECT_EQ(s.calls, k == present[0] ? 2 : 1) << k;
    ASSERT_FALSE(s.ec) << k << ": " << s.ec.message();
    EXPECT_EQ(s.value, R"({"k":")" + k + R"("})");
    EXPECT_NE(s.cas, 0u);
    EXPECT_EQ(s.fmt, format::json);
  }
  for (int i = 0; i < 100; ++i) {
    const auto& s = got.at("absent::" + std::to_string(i));
    EXPECT_EQ(s.calls, 1);
    EXPECT_EQ(s.ec, errc::document_not_found);
    EXPECT_TRUE(s.value.empty());
  }
  EXPECT_EQ(got.at(std::string(300, 'x')).ec, errc::invalid_argument);
}

// The borrowed_keys form reads the caller's own strings (nothing copied): the same answers as
// the owning form, through the batch path and the single-key path (NOT_MY_VBUCKET retries),
// with an invalid key and a duplicate. The caller's storage is destroyed right after the
// completion, so a view kept past it would show under ASan.
TEST(async_bucket, get_multi_each_with_borrowed_keys_reads_the_callers_strings)
{
  mock_fixture f;
  auto present = spread_keys(f.mock, 200);
  store_all(f.bucket, present);
  auto storage = std::make_unique<std::vector<std::string>>(present);
  storage->push_back("absent::borrowed");
  storage->push_back(present[0]);          // read twice
  storage->push_back(std::string(251, 'y')); // invalid
  auto views = std::make_unique<std::vector<std::string_view>>(storage->begin(), storage->end());
  f.mock.fail_next(10, static_cast<std::uint16_t>(protocol::status::not_my_vbucket));
  std::mutex m;
  struct seen {
    int calls{0};
    std::error_code ec;
    std::string value;
  };
  std::map<std::string, seen> got;
  auto found = f.bucket
                   .get_multi_each(
                       borrowed_keys(*views),
                       [&](std::error_code ec, const get_view& v) {
                         std::lock_guard lock(m);
                         auto& g = got[std::string(v.key)];
                         ++g.calls;
                         g.ec = ec;
                         g.value = std::string(v.value);
                       },
                       slow_ok)
                   .get();
  views.reset();
  storage.reset();
  EXPECT_EQ(found, present.size() + 1);
  std::lock_guard lock(m);
  ASSERT_EQ(got.size(), present.size() + 2);
  for (const auto& k : present) {
    const auto& g = got.at(k);
    EXPECT_EQ(g.calls, k == present[0] ? 2 : 1) << k;
    ASSERT_FALSE(g.ec) << k << ": " << g.ec.message();
    EXPECT_EQ(g.value, R"({"k":")" + k + R"("})");
  }
  EXPECT_EQ(got.at("absent::borrowed").calls, 1);
  EXPECT_EQ(got.at("absent::borrowed").ec, errc::document_not_found);
  EXPECT_EQ(got.at(std::string(251, 'y')).ec, errc::invalid_argument);
  std::vector<std::string_view> none;
  EXPECT_EQ(f.bucket.get_multi_each(borrowed_keys(none), [](std::error_code, const get_view&) { ADD_FAILURE(); }).get(), 0u);
}

// The keys that need a retry (NOT_MY_VBUCKET) reach the callback through the single-key path,
// with their values; nothing to read completes at once with 0.
TEST(async_bucket, get_multi_each_retries_and_an_empty_list)
{
  mock_fixture f;
  auto keys = spread_keys(f.mock, 100);
  store_all(f.bucket, keys);
  f.mock.fail_next(20, static_cast<std::uint16_t>(protocol::status::not_my_vbucket));
  std::mutex m;
  std::map<std::string, std::string> values;
  auto found = f.bucket
                   .get_multi_each(
                       keys,
                       [&](std::error_code ec, const get_view& v) {
                         EXPECT_FALSE(ec) << v.key << ": " << ec.message();
                         std::lock_guard lock(m);
                         values[std::string(v.key)] = std::string(v.value);
                       },
                       slow_ok)
                   .get();
  EXPECT_EQ(found, keys.size());
  std::lock_guard lock(m);
  ASSERT_EQ(values.size(), keys.size());
  for (const auto& k : keys) EXPECT_EQ(values.at(k), R"({"k":")" + k + R"("})");
  EXPECT_EQ(f.bucket.get_multi_each({}, [](std::error_code, const get_view&) { ADD_FAILURE(); }).get(), 0u);
}

TEST(async_bucket, get_multi_retries_not_my_vbucket_and_temporary_failures_per_key)
{
  mock_fixture f;
  f.bucket.set_retry_strategy(retry_strategy::best_effort); // TMPFAIL is retried only so
  auto keys = spread_keys(f.mock, 100);
  store_all(f.bucket, keys);
  f.mock.fail_next(20, static_cast<std::uint16_t>(protocol::status::not_my_vbucket));
  auto got = f.bucket.get_multi(keys, slow_ok).get();
  expect_each_key_ended(keys, got);
  for (const auto& k : keys) ASSERT_TRUE(got.at(k)) << k << ": " << got.at(k).ec.message();
  f.mock.fail_next(20, static_cast<std::uint16_t>(protocol::status::etmpfail));
  got = f.bucket.get_multi(keys, slow_ok).get();
  for (const auto& k : keys) ASSERT_TRUE(got.at(k)) << k << ": " << got.at(k).ec.message();
  // Failing for ever: every key times out at the get_multi's own timeout, not kv_timeout (2 s).
  f.mock.fail_next(1000000, static_cast<std::uint16_t>(protocol::status::etmpfail));
  auto t0 = std::chrono::steady_clock::now();
  got = f.bucket.get_multi(keys, {.timeout = 200ms}).get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  for (const auto& k : keys) {
    EXPECT_EQ(got.at(k).ec, errc::timeout) << k;
    EXPECT_EQ(got.at(k).context.last_retry_reason, retry_reason::temporary_failure) << k;
  }
  f.mock.fail_next(0, 0);
}

TEST(async_bucket, get_multi_follows_vbuckets_that_moved)
{
  mock_fixture f;
  auto keys = spread_keys(f.mock, 500);
  store_all(f.bucket, keys, {.durability = {.replicate_to = 1}, .timeout = 20s}); // the replicas hold them for the failover
  // The client still has the old map when the batch leaves: the old owners answer
  // NOT_MY_VBUCKET (with the new map), and those keys go again to the new ones.
  auto nmvb = f.mock.stats().not_my_vbucket;
  f.mock.rebalance_out_and_in();
  auto got = f.bucket.get_multi(keys, slow_ok).get();
  expect_each_key_ended(keys, got);
  for (const auto& k : keys) ASSERT_TRUE(got.at(k)) << k << ": " << got.at(k).ec.message();
  f.mock.failover(1);
  got = f.bucket.get_multi(keys, slow_ok).get();
  for (const auto& k : keys) ASSERT_TRUE(got.at(k)) << k << ": " << got.at(k).ec.message();
  RecordProperty("not_my_vbucket", static_cast<int>(f.mock.stats().not_my_vbucket - nmvb));
}

TEST(async_bucket, get_multi_times_out_the_keys_whose_answers_are_lost)
{
  mock_fixture f;
  auto keys = spread_keys(f.mock, 50);
  store_all(f.bucket, keys);
  f.mock.drop_next(7);
  auto t0 = std::chrono::steady_clock::now();
  auto got = f.bucket.get_multi(keys, {.timeout = 300ms}).get();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  expect_each_key_ended(keys, got);
  int timeouts = 0;
  for (const auto& k : keys) {
    if (got.at(k).ec == errc::timeout) ++timeouts;
    else EXPECT_TRUE(got.at(k)) << k << ": " << got.at(k).ec.message();
  }
  EXPECT_EQ(timeouts, 7);
}

TEST(async_bucket, get_multi_completes_every_key_once_when_connections_die_mid_batch)
{
  mock_fixture f;
  auto keys = spread_keys(f.mock, 3000);
  store_all(f.bucket, keys);
  for (int round = 0; round < 3; ++round) {
    auto pending = f.bucket.get_multi(keys, slow_ok);
    f.mock.kill_connections(static_cast<std::uint32_t>(round));
    ASSERT_EQ(pending.wait_for(60s), std::future_status::ready);
    auto got = pending.get();
    expect_each_key_ended(keys, got);
    // A GET is safe to send again: the keys whose connection died are retried, and succeed.
    for (const auto& k : keys) ASSERT_TRUE(got.at(k)) << round << " " << k << ": " << got.at(k).ec.message();
  }
  // A node that stays down: its keys wait for it until their deadline; the others succeed.
  auto on_1 = keys_on_node(f.mock, 1, 3000);
  std::set<std::string> down(on_1.begin(), on_1.end());
  auto pending = f.bucket.get_multi(keys, {.timeout = 1s});
  f.mock.stop_node(1);
  auto got = pending.get();
  expect_each_key_ended(keys, got);
  for (const auto& k : keys) {
    const auto& o = got.at(k);
    if (!down.contains(k)) EXPECT_TRUE(o) << k << ": " << o.ec.message();
    else EXPECT_TRUE(o || o.ec == errc::timeout) << k << ": " << o.ec.message();
  }
}

TEST(async_bucket, closing_the_bucket_completes_a_get_multi_waiting_for_a_node)
{
  mock_fixture f;
  auto keys = spread_keys(f.mock, 200);
  store_all(f.bucket, keys);
  auto on_1 = keys_on_node(f.mock, 1, 200);
  f.mock.stop_node(1);
  auto pending = f.bucket.get_multi(keys, {.timeout = 30s});
  std::this_thread::sleep_for(300ms);
  f.bucket.close();
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  auto got = pending.get();
  expect_each_key_ended(keys, got);
  for (const auto& k : on_1) EXPECT_EQ(got.at(k).ec, errc::request_canceled) << k;
  // A get_multi on the closed bucket completes too, every key cancelled.
  auto after = f.bucket.get_multi(keys).get();
  expect_each_key_ended(keys, after);
  for (const auto& k : keys) EXPECT_EQ(after.at(k).ec, errc::request_canceled) << k;
}

TEST(async_bucket, get_multi_completes_on_the_handler_executor_with_callbacks)
{
  io_thread other; // outlives the bucket's io thread, which posts to it
  mock_fixture f;
  auto keys = spread_keys(f.mock, 100);
  store_all(f.bucket, keys);
  std::promise<bool> on_other;
  f.bucket.get_multi(keys, slow_ok, asio::bind_executor(other.io.get_executor(), [&](std::error_code ec, multi_result<get_result> r) {
    on_other.set_value(!ec && r.size() == keys.size() && other.io.get_executor().running_in_this_thread());
  }));
  EXPECT_TRUE(on_other.get_future().get());
}
