// kv_connection's two bookkeeping structures on their own: the opaque table and the deadline queue.
#include "../../io/src/deadline_queue.hpp"
#include "../../io/src/op_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

using couchkv::io::detail::deadline_queue;
using couchkv::io::detail::op_table;

namespace {
struct entry {
  int value{0};
  std::unique_ptr<int> owned{}; // move-only, as kv_connection's
};
} // namespace

TEST(op_table, finds_what_it_holds_and_nothing_else)
{
  op_table<entry> t;
  EXPECT_EQ(t.find(0), nullptr);
  EXPECT_EQ(t.find(1), nullptr);
  auto a = t.add({1, std::make_unique<int>(10)});
  auto b = t.add({2, nullptr});
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  ASSERT_NE(t.find(a), nullptr);
  EXPECT_EQ(t.find(a)->value, 1);
  EXPECT_EQ(*t.find(a)->owned, 10);
  EXPECT_EQ(t.find(0), nullptr) << "opaque 0 is never an entry's";
  EXPECT_EQ(t.size(), 2u);
  auto taken = t.take(a);
  EXPECT_EQ(taken.value, 1);
  EXPECT_EQ(*taken.owned, 10);
  EXPECT_EQ(t.find(a), nullptr) << "a completed request's opaque is an orphan's";
  EXPECT_EQ(t.size(), 1u);
}

TEST(op_table, growing_keeps_every_entry_under_its_opaque)
{
  op_table<entry> t;
  std::map<std::uint32_t, int> held;
  for (int i = 0; i < 5000; ++i) held[t.add({i, std::make_unique<int>(i)})] = i;
  EXPECT_EQ(t.size(), 5000u);
  for (auto [opaque, v] : held) {
    auto* e = t.find(opaque);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->value, v);
    EXPECT_EQ(*e->owned, v);
  }
  std::size_t seen = 0;
  t.for_each([&](std::uint32_t opaque, entry& e) {
    EXPECT_EQ(held.at(opaque), e.value);
    ++seen;
  });
  EXPECT_EQ(seen, 5000u);
}

TEST(op_table, a_long_lived_entry_is_skipped_not_overwritten)
{
  op_table<entry> t;
  auto old = t.add({-1, nullptr});
  // Many short requests cycle through the table while one waits: none may land on its slot.
  std::set<std::uint32_t> used;
  for (int i = 0; i < 100000; ++i) {
    auto o = t.add({i, nullptr});
    EXPECT_NE(o, old);
    EXPECT_EQ(t.take(o).value, i);
    used.insert(o);
  }
  ASSERT_NE(t.find(old), nullptr);
  EXPECT_EQ(t.find(old)->value, -1);
  EXPECT_EQ(t.size(), 1u);
}

TEST(deadline_queue, gives_the_earliest_live_deadline_in_and_out_of_order)
{
  using clock = deadline_queue::clock;
  deadline_queue q;
  std::set<std::uint32_t> live_ops;
  auto live = [&](const deadline_queue::entry& e) { return live_ops.count(e.opaque) != 0; };
  const auto t0 = clock::now();
  auto at = [&](int ms) { return t0 + std::chrono::milliseconds(ms); };
  EXPECT_FALSE(q.earliest(live));
  live_ops = {1, 2, 3};
  EXPECT_FALSE(q.add({at(10), 1, 1}, 1, live)) << "in order: the FIFO";
  EXPECT_FALSE(q.add({at(20), 2, 2}, 2, live));
  EXPECT_TRUE(q.add({at(5), 3, 3}, 3, live)) << "earlier than the last: the ordered set";
  EXPECT_EQ(q.earliest(live)->opaque, 3u);
  live_ops.erase(3);
  q.remove_ordered({at(5), 3, 3});
  EXPECT_EQ(q.earliest(live)->opaque, 1u);
  live_ops.erase(1); // completed: dropped when it reaches the front
  EXPECT_EQ(q.earliest(live)->opaque, 2u);
  live_ops.clear();
  EXPECT_FALSE(q.earliest(live));
}

TEST(deadline_queue, stays_within_twice_the_requests_in_flight)
{
  using clock = deadline_queue::clock;
  deadline_queue q;
  // One request stays in flight at the front; a million others come and go behind it.
  std::set<std::uint32_t> live_ops{0};
  auto live = [&](const deadline_queue::entry& e) { return live_ops.count(e.opaque) != 0; };
  const auto t0 = clock::now();
  q.add({t0, 0, 0}, 1, live);
  for (std::uint32_t i = 1; i < 100000; ++i) {
    live_ops.insert(i);
    q.add({t0 + std::chrono::microseconds(i), i, i}, live_ops.size(), live);
    live_ops.erase(i);
    q.drop_stale_front(live); // what completion does: the front is the long-lived one, so nothing
  }
  EXPECT_LE(q.held(), 2 * live_ops.size() + 65) << "stale entries behind a live front must be compacted";
  EXPECT_EQ(q.earliest(live)->opaque, 0u);
}
