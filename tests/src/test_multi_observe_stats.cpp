// The rest of the facade against the mock cluster (and real memcached for STAT): observe, stats,
// every _multi form at 10k keys, the blocking bucket, and a 100k-operation stream through a
// failover and a rebalance.
#include <couchkv/bucket.hpp>
#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <async_test_support.hpp>
#include <mock_bucket.hpp>
#include <gtest/gtest.h>
#include <memcached_server.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <set>
#include <thread>

using namespace couchkv;
using couchkv::test::io_thread;
using couchkv::test::error_of;
using namespace std::chrono_literals;

namespace {

mock::cluster_options options(std::uint32_t nodes, std::uint32_t replicas, std::chrono::milliseconds replication = 0ms,
                              std::chrono::milliseconds persistence = 0ms)
{
  return test::mock_options(nodes, replicas, 256, replication, persistence);
}

struct fixture : test::mock_bucket {
  explicit fixture(mock::cluster_options o = options(3, 1), const std::string& extra = "&kv_timeout=5s")
      : mock_bucket(std::move(o), "?config_poll_interval=100ms" + extra)
  {
  }
};

std::vector<std::pair<std::string, document_value>> json_items(const std::string& prefix, int n)
{
  std::vector<std::pair<std::string, document_value>> items;
  items.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) items.emplace_back(prefix + std::to_string(i), document_value(nlohmann::json{{"i", i}}.dump()));
  return items;
}

std::vector<std::string> keys(const std::string& prefix, int n)
{
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

bool all_persisted(const observe_result& r, std::uint64_t cas)
{
  for (const auto& n : r.nodes) {
    if (n.state != observe_key_state::persisted || n.cas != cas) return false;
  }
  return !r.nodes.empty();
}

} // namespace

// ---- observe ----------------------------------------------------------------------------------

TEST(multi_observe_stats, observe_shows_master_and_replicas_as_persistence_passes)
{
  fixture f(options(3, 2, 50ms, 600ms));
  auto m = f.bucket.upsert("obs", R"({"a":1})").get();
  auto first = f.bucket.observe("obs").get();
  EXPECT_EQ(first.key, "obs");
  ASSERT_EQ(first.nodes.size(), 3u); // master + 2 replicas
  EXPECT_TRUE(first.nodes[0].is_master);
  EXPECT_FALSE(first.nodes[1].is_master);
  EXPECT_FALSE(first.nodes[2].is_master);
  std::set<std::string> endpoints;
  for (const auto& n : first.nodes) {
    EXPECT_FALSE(n.endpoint.empty());
    endpoints.insert(n.endpoint);
    EXPECT_NE(n.state, observe_key_state::persisted) << n.endpoint << ": persistence takes 600 ms";
  }
  EXPECT_EQ(endpoints.size(), 3u) << "master and replicas are different nodes";
  EXPECT_EQ(first.nodes[0].state, observe_key_state::found); // in the master's memory, not on disk yet
  EXPECT_EQ(first.nodes[0].cas, m.cas);

  // Replication (50 ms), then persistence (600 ms), shows on every node.
  observe_result now;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    now = f.bucket.observe("obs").get();
    if (all_persisted(now, m.cas)) break;
    std::this_thread::sleep_for(20ms); // polling the condition, bounded by the deadline
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(all_persisted(now, m.cas));
  EXPECT_EQ(now.nodes.size(), 3u);

  // A removal is logically deleted until it is persisted.
  f.bucket.remove("obs").get();
  auto removed = f.bucket.observe("obs").get();
  ASSERT_FALSE(removed.nodes.empty());
  EXPECT_EQ(removed.nodes[0].state, observe_key_state::logically_deleted);

  auto missing = f.bucket.observe("obs::never").get();
  ASSERT_FALSE(missing.nodes.empty());
  EXPECT_TRUE(missing.nodes[0].is_master);
  EXPECT_EQ(missing.nodes[0].state, observe_key_state::not_found);
  EXPECT_EQ(error_of([&] { f.bucket.observe("").get(); }), errc::invalid_argument);
}

TEST(multi_observe_stats, observe_counts_each_replica_and_memcached_buckets_refuse_it_but_give_stats)
{
  auto o = options(3, 1);
  o.buckets.push_back({"cache", "password", mock::bucket_type::memcached, 0});
  fixture f(o);
  f.bucket.upsert("obs::fo", "{}").get();
  EXPECT_EQ(f.bucket.observe("obs::fo").get().nodes.size(), 2u);

  cluster mc(f.t.io.get_executor(), f.mock.connection_string("cache"), {"cache", "password"});
  auto cache = mc.open_bucket().get();
  cache.upsert("k", "{}").get();
  EXPECT_EQ(error_of([&] { cache.observe("k").get(); }), errc::unsupported_operation);
  // Stats over ketama routing: every node answers.
  auto s = cache.stats().get();
  EXPECT_EQ(s.size(), 3u);
  cache.close();
}

// ---- stats ------------------------------------------------------------------------------------

TEST(multi_observe_stats, stats_returns_entries_per_node)
{
  fixture f;
  auto s = f.bucket.stats().get();
  ASSERT_EQ(s.size(), 3u);
  auto ports = f.mock.kv_ports();
  for (auto port : ports) {
    auto suffix = ":" + std::to_string(port);
    auto it = std::find_if(s.begin(), s.end(), [&](const auto& e) { return e.first.ends_with(suffix); });
    ASSERT_NE(it, s.end()) << "no stats from the node on port " << port;
    EXPECT_EQ(it->second.at("version"), "7.2.0-mock");
    EXPECT_FALSE(it->second.at("pid").empty());
    EXPECT_FALSE(it->second.count("couchkv.error"));
  }
  // The connection still works for ordinary operations afterwards (nothing left in its table).
  f.bucket.upsert("after-stats", "{}").get();
  EXPECT_EQ(f.bucket.get("after-stats").get().value, "{}");
}

TEST(multi_observe_stats, stats_from_real_memcached_servers)
{
  couchkv::test::memcached_server m1, m2;
  io_thread t;
  cluster c(t.io.get_executor(),
            "memcached://127.0.0.1:" + std::to_string(m1.port()) + ",127.0.0.1:" + std::to_string(m2.port()), {});
  auto b = c.open_bucket().get();
  auto s = b.stats().get();
  ASSERT_EQ(s.size(), 2u);
  for (const auto& [endpoint, entries] : s) {
    EXPECT_TRUE(entries.count("pid")) << endpoint;
    EXPECT_TRUE(entries.count("curr_connections")) << endpoint;
    EXPECT_GT(entries.size(), 20u) << endpoint;
  }
  // A group: "settings" has other entries than the default.
  auto settings = b.stats("settings").get();
  ASSERT_EQ(settings.size(), 2u);
  EXPECT_TRUE(settings.begin()->second.count("maxconns"));
  // An unknown group is the server's error, from every node.
  EXPECT_TRUE(error_of([&] { b.stats("no-such-group").get(); }));
  EXPECT_EQ(b.upsert("still-works", "{}").get().key, "still-works");
  b.close();
}

// ---- _multi forms ---------------------------------------------------------------------------------

TEST(multi_observe_stats, insert_multi_of_ten_thousand_then_ten_thousand_conflicts)
{
  fixture f;
  auto items = json_items("ins::", 10000);
  auto first = f.bucket.insert_multi(items).get();
  ASSERT_EQ(first.size(), 10000u);
  for (auto& [k, o] : first) ASSERT_TRUE(o) << k << ": " << o.ec.message();
  auto again = f.bucket.insert_multi(items).get();
  ASSERT_EQ(again.size(), 10000u);
  for (auto& [k, o] : again) {
    ASSERT_EQ(o.ec, errc::document_exists) << k;
    ASSERT_FALSE(o.value);
  }
  // replace: the 10k that exist succeed, 100 that do not fail, none lost.
  auto mixed = json_items("ins::", 10000);
  for (auto& k : keys("ins::missing::", 100)) mixed.emplace_back(k, document_value("{}"));
  auto replaced = f.bucket.replace_multi(mixed).get();
  ASSERT_EQ(replaced.size(), 10100u);
  int ok = 0, missing = 0;
  for (auto& [k, o] : replaced) {
    if (o) ++ok;
    else if (o.ec == errc::document_not_found) ++missing;
  }
  EXPECT_EQ(ok, 10000);
  EXPECT_EQ(missing, 100);
  EXPECT_EQ(f.bucket.replace_multi({}).get().size(), 0u);
}

TEST(multi_observe_stats, append_prepend_touch_and_get_and_touch_multi)
{
  fixture f;
  std::vector<std::pair<std::string, document_value>> raw;
  for (auto& k : keys("cat::", 2000)) raw.emplace_back(k, document_value(binary(std::string_view("mid"))));
  for (auto& [k, o] : f.bucket.upsert_multi(raw).get()) ASSERT_TRUE(o) << k;
  std::vector<std::pair<std::string, std::string>> tails, heads;
  for (auto& k : keys("cat::", 2000)) {
    tails.emplace_back(k, "-end");
    heads.emplace_back(k, "start-");
  }
  tails.emplace_back("cat::absent", "x");
  auto appended = f.bucket.append_multi(tails).get();
  ASSERT_EQ(appended.size(), 2001u);
  EXPECT_TRUE(appended.at("cat::absent").ec) << "appending to a missing document fails";
  for (auto& [k, o] : f.bucket.prepend_multi(heads).get()) ASSERT_TRUE(o) << k << o.ec.message();
  auto got = f.bucket.get_multi(keys("cat::", 2000)).get();
  for (auto& [k, o] : got) ASSERT_EQ(o.value->value, "start-mid-end") << k;

  // touch: expiry set on every key, a missing one reported.
  auto touch_keys = keys("cat::", 1000);
  touch_keys.push_back("cat::absent");
  auto touched = f.bucket.touch_multi(touch_keys, 10s).get();
  ASSERT_EQ(touched.size(), 1001u);
  EXPECT_EQ(touched.at("cat::absent").ec, errc::document_not_found);
  // get_and_touch on the next hundred: values come back, expiry set.
  std::vector<std::string> gat_keys;
  for (int i = 1000; i < 1100; ++i) gat_keys.push_back("cat::" + std::to_string(i));
  auto gat = f.bucket.get_and_touch_multi(gat_keys, {.expiry = 10s}).get();
  ASSERT_EQ(gat.size(), 100u);
  for (auto& [k, o] : gat) ASSERT_EQ(o.value->value, "start-mid-end") << k;
  f.mock.advance_clock(20s);
  auto after = f.bucket.get_multi(keys("cat::", 2000)).get();
  for (int i = 0; i < 2000; ++i) {
    auto& o = after.at("cat::" + std::to_string(i));
    if (i < 1100) EXPECT_EQ(o.ec, errc::document_not_found) << i; // touched or get-and-touched: expired
    else EXPECT_TRUE(o) << i;
  }
}

TEST(multi_observe_stats, counter_multi_of_ten_thousand)
{
  fixture f;
  auto ks = keys("ctr::", 10000);
  auto created = f.bucket.counter_multi(ks, 5, {.initial = 10}).get();
  ASSERT_EQ(created.size(), 10000u);
  for (auto& [k, o] : created) ASSERT_EQ(o.value->value, 10u) << k;
  auto bumped = f.bucket.counter_multi(ks, 5).get();
  for (auto& [k, o] : bumped) ASSERT_EQ(o.value->value, 15u) << k;
  auto down = f.bucket.counter_multi(ks, -20).get();
  for (auto& [k, o] : down) ASSERT_EQ(o.value->value, 0u) << k; // floors at 0
  auto missing = f.bucket.counter_multi({"ctr::a", "ctr::b", "ctr::1"}, 1).get();
  EXPECT_EQ(missing.at("ctr::a").ec, errc::document_not_found);
  EXPECT_EQ(missing.at("ctr::b").ec, errc::document_not_found);
  EXPECT_EQ(missing.at("ctr::1").value->value, 1u);
}

TEST(multi_observe_stats, lock_multi_and_unlock_multi_with_mixed_outcomes)
{
  fixture f;
  for (auto& [k, o] : f.bucket.upsert_multi(json_items("lock::", 1000)).get()) ASSERT_TRUE(o) << k;
  auto lock_keys = keys("lock::", 1000);
  lock_keys.push_back("lock::absent");
  auto locked = f.bucket.get_and_lock_multi(lock_keys, {.lock_time = 15s}).get();
  ASSERT_EQ(locked.size(), 1001u);
  EXPECT_EQ(locked.at("lock::absent").ec, errc::document_not_found);
  // Locked: a mutation without the lock CAS fails.
  EXPECT_TRUE(error_of([&] { f.bucket.upsert("lock::0", "{}").get(); }));
  std::vector<std::pair<std::string, std::uint64_t>> unlocks;
  for (int i = 0; i < 1000; ++i) {
    auto k = "lock::" + std::to_string(i);
    auto& o = locked.at(k);
    ASSERT_TRUE(o) << k << ": " << o.ec.message();
    unlocks.emplace_back(k, i == 7 ? o.value->cas + 1 : o.value->cas); // one wrong CAS
  }
  unlocks.emplace_back("lock::absent", 1);
  auto unlocked = f.bucket.unlock_multi(unlocks).get();
  ASSERT_EQ(unlocked.size(), 1001u);
  int ok = 0;
  for (auto& [k, o] : unlocked) ok += o ? 1 : 0;
  EXPECT_EQ(ok, 999);
  EXPECT_TRUE(unlocked.at("lock::7").ec);
  EXPECT_EQ(unlocked.at("lock::absent").ec, errc::document_not_found);
  EXPECT_NO_THROW(f.bucket.upsert("lock::0", "{}").get()); // unlocked
}

// Issue 20: CAS 0 is no lock's CAS. Unlock refuses it before sending anything, so the lock
// stays, in the single and the multi form.
TEST(multi_observe_stats, unlock_with_cas_zero_is_refused_and_the_lock_stays)
{
  fixture f;
  f.bucket.upsert("cas0::a", "{}").get();
  f.bucket.upsert("cas0::b", "{}").get();
  auto a = f.bucket.get_and_lock("cas0::a", {.lock_time = 15s}).get();
  auto b = f.bucket.get_and_lock("cas0::b", {.lock_time = 15s}).get();
  EXPECT_EQ(error_of([&] { f.bucket.unlock("cas0::a", 0).get(); }), errc::invalid_argument);
  auto multi = f.bucket.unlock_multi({{"cas0::a", 0}, {"cas0::b", 0}}).get();
  ASSERT_EQ(multi.size(), 2u);
  EXPECT_EQ(multi.at("cas0::a").ec, errc::invalid_argument);
  EXPECT_EQ(multi.at("cas0::b").ec, errc::invalid_argument);
  // Still locked: nothing reached the server.
  EXPECT_EQ(error_of([&] { f.bucket.upsert("cas0::a", "{}").get(); }), errc::document_locked);
  EXPECT_EQ(error_of([&] { f.bucket.upsert("cas0::b", "{}").get(); }), errc::document_locked);
  f.bucket.unlock("cas0::a", a.cas).get();
  auto ok = f.bucket.unlock_multi({{"cas0::b", b.cas}}).get();
  EXPECT_TRUE(ok.at("cas0::b"));
  EXPECT_NO_THROW(f.bucket.upsert("cas0::a", "{}").get());
  EXPECT_NO_THROW(f.bucket.upsert("cas0::b", "{}").get());
}

TEST(multi_observe_stats, get_replica_multi_and_observe_multi)
{
  fixture f(options(3, 1, 20ms, 20ms));
  auto items = json_items("rep::", 1000);
  for (auto& [k, o] : f.bucket.upsert_multi(items, {.durability = {.replicate_to = 1}}).get()) ASSERT_TRUE(o) << k << o.ec.message();
  auto ks = keys("rep::", 1000);
  ks.push_back("rep::absent");
  auto got = f.bucket.get_replica_multi(ks).get();
  ASSERT_EQ(got.size(), 1001u);
  for (int i = 0; i < 1000; ++i) {
    auto& o = got.at("rep::" + std::to_string(i));
    ASSERT_TRUE(o) << i << ": " << o.ec.message();
    EXPECT_TRUE(o.value->is_replica);
    EXPECT_EQ(nlohmann::json::parse(o.value->value)["i"], i);
  }
  EXPECT_EQ(got.at("rep::absent").ec, errc::document_not_found);
  auto observed = f.bucket.observe_multi(ks).get();
  ASSERT_EQ(observed.size(), 1001u);
  for (int i = 0; i < 1000; ++i) {
    auto& o = observed.at("rep::" + std::to_string(i));
    ASSERT_TRUE(o) << i;
    ASSERT_EQ(o.value->nodes.size(), 2u);
    EXPECT_TRUE(o.value->nodes[0].is_master);
    EXPECT_NE(o.value->nodes[1].state, observe_key_state::not_found) << "replicate_to=1 was met";
  }
  EXPECT_EQ(observed.at("rep::absent").value->nodes[0].state, observe_key_state::not_found);
}

// ---- blocking bucket ------------------------------------------------------------------------------

TEST(multi_observe_stats, blocking_bucket_works_from_a_plain_thread_and_refuses_from_the_io_thread)
{
  fixture f;
  bucket b(*f.c);
  EXPECT_FALSE(b.in_io_thread());
  auto m = b.upsert("blk", R"({"b":1})");
  EXPECT_EQ(b.get("blk").cas, m.cas);
  EXPECT_EQ(error_of([&] { b.insert("blk", "{}"); }), errc::document_exists);
  EXPECT_EQ(error_of([&] { b.get("blk::none"); }), errc::document_not_found);
  EXPECT_EQ(b.counter("blk::c", 3, {.initial = 3}).value, 3u);
  EXPECT_EQ(b.stats().size(), 3u);
  EXPECT_EQ(b.observe("blk").nodes.at(0).cas, m.cas);
  auto multi = b.get_multi({"blk", "blk::none"});
  EXPECT_TRUE(multi.at("blk"));
  EXPECT_EQ(multi.at("blk::none").ec, errc::document_not_found);

  // Another plain thread.
  std::string from_thread;
  std::thread([&] { from_thread = b.get("blk").value; }).join();
  EXPECT_EQ(from_thread, R"({"b":1})");

  // The io thread (the io_context's, and the bucket's strand): refused, not deadlocked.
  auto refused_on = [&](asio::any_io_executor ex) {
    std::promise<std::string> p;
    asio::post(ex, [&] {
      try {
        b.get("blk");
        p.set_value("returned");
      } catch (const std::logic_error& e) {
        p.set_value(e.what());
      } catch (const std::exception& e) {
        p.set_value(std::string("wrong exception: ") + e.what());
      }
    });
    auto fut = p.get_future();
    if (fut.wait_for(10s) != std::future_status::ready) return std::string("deadlocked");
    return fut.get();
  };
  EXPECT_NE(refused_on(f.t.io.get_executor()).find("io_context"), std::string::npos) << refused_on(f.t.io.get_executor());
  EXPECT_NE(refused_on(b.async().get_executor()).find("io_context"), std::string::npos);
  EXPECT_THROW(bucket{async_bucket{}}, std::system_error);
}

// ---- a long stream through topology changes -------------------------------------------------------

TEST(multi_observe_stats, hundred_thousand_mixed_operations_through_a_failover_and_a_rebalance_complete_exactly_once)
{
  fixture f(options(3, 1), "&kv_timeout=30s");
  constexpr int n = 100000;
  constexpr int docs = 2000;
  constexpr int counters = 100;
  for (auto& [k, o] : f.bucket.upsert_multi(json_items("mix::", docs)).get()) ASSERT_TRUE(o) << k;
  for (auto& [k, o] : f.bucket.counter_multi(keys("mixc::", counters), 0, {.initial = 0}).get()) ASSERT_TRUE(o) << k;

  std::atomic<int> ok{0}, completions{0}, counter_ops{0};
  std::vector<std::atomic<int>> seen(n);
  std::mutex errors_m;
  std::map<std::string, int> errors;
  std::promise<void> all;
  auto complete = [&](int i, std::error_code ec) {
    if (seen[static_cast<std::size_t>(i)].fetch_add(1) != 0) ADD_FAILURE() << "completed twice: " << i;
    if (ec) {
      std::lock_guard lock(errors_m);
      ++errors[ec.message()];
    } else {
      ++ok;
    }
    if (++completions == n) all.set_value();
  };
  for (int i = 0; i < n; ++i) {
    switch (i % 3) {
      case 0:
        f.bucket.get("mix::" + std::to_string(i % docs), {}, [&, i](std::error_code ec, get_result) { complete(i, ec); });
        break;
      case 1:
        f.bucket.upsert("mix::" + std::to_string(i % docs), R"({"x":1})", {},
                        [&, i](std::error_code ec, mutation_result) { complete(i, ec); });
        break;
      default:
        ++counter_ops;
        f.bucket.counter("mixc::" + std::to_string(i % counters), 1, {},
                         [&, i](std::error_code ec, counter_result) { complete(i, ec); });
    }
    if (i == n / 3) f.mock.failover(1);
    if (i == 2 * n / 3) f.mock.rebalance_out_and_in();
  }
  ASSERT_EQ(all.get_future().wait_for(300s), std::future_status::ready) << completions.load() << " of " << n;
  EXPECT_EQ(completions.load(), n);
  for (int i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)].load(), 1) << i;
  for (auto& [what, count] : errors) ADD_FAILURE() << count << " operation(s) failed: " << what;
  EXPECT_EQ(ok.load(), n);
  // Every counter operation applied exactly once.
  std::uint64_t total = 0;
  for (auto& [k, o] : f.bucket.get_multi(keys("mixc::", counters)).get()) {
    ASSERT_TRUE(o) << k;
    total += std::stoull(o.value->value);
  }
  EXPECT_EQ(total, static_cast<std::uint64_t>(counter_ops.load()));
}
