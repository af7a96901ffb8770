#include "retry.hpp"

#include <couchkv/errors.hpp>

#include <gtest/gtest.h>

using namespace couchkv;
using namespace couchkv::detail;
using namespace std::chrono_literals;
using protocol::opcode;
using protocol::status;

namespace {
attempt_outcome server_said(status s, const protocol::error_info* entry = nullptr)
{
  return {attempt_failure::status, s, entry};
}
constexpr retry_policy best_effort{retry_strategy::best_effort, false};
constexpr retry_policy asked_best_effort{retry_strategy::best_effort, true};

protocol::error_info entry(std::initializer_list<protocol::error_attribute> attrs,
                           std::optional<protocol::retry_spec> spec = std::nullopt)
{
  protocol::error_info e;
  e.name = "TEST";
  for (auto a : attrs) e.attributes |= 1u << static_cast<unsigned>(a);
  e.retry = std::move(spec);
  return e;
}
} // namespace

TEST(retry, backoff_doubles_up_to_the_cap)
{
  backoff_policy p{1ms, 40ms};
  EXPECT_EQ(p.delay(0), 1ms);
  EXPECT_EQ(p.delay(1), 2ms);
  EXPECT_EQ(p.delay(5), 32ms);
  EXPECT_EQ(p.delay(6), 40ms);
  EXPECT_EQ(p.delay(1000), 40ms);
}

TEST(retry, not_my_vbucket_reroutes_immediately_then_backs_off)
{
  auto d = decide_retry(opcode::set, server_said(status::not_my_vbucket), 0, 1s);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.reason, retry_reason::not_my_vbucket);
  EXPECT_EQ(d.delay, 0ms);
  d = decide_retry(opcode::set, server_said(status::not_my_vbucket), 3, 1s);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay, 8ms);
}

TEST(retry, best_effort_retries_temporary_statuses_for_reads_and_mutations)
{
  for (auto op : {opcode::get, opcode::set, opcode::del, opcode::increment}) {
    EXPECT_EQ(decide_retry(op, server_said(status::etmpfail), 0, 1s, best_effort).reason, retry_reason::temporary_failure);
    EXPECT_EQ(decide_retry(op, server_said(status::ebusy), 0, 1s, best_effort).reason, retry_reason::server_busy);
    EXPECT_EQ(decide_retry(op, server_said(status::sync_write_in_progress), 0, 1s, best_effort).reason,
              retry_reason::sync_write_in_progress);
  }
}

// Issue 19: fail_fast (the default, as the Python SDK 2.x) hands a temporary failure to the
// caller at once instead of retrying it until the deadline.
TEST(retry, fail_fast_answers_temporary_statuses_at_once)
{
  for (auto op : {opcode::get, opcode::set, opcode::get_locked, opcode::unlock_key, opcode::increment}) {
    for (auto s : {status::etmpfail, status::ebusy, status::sync_write_in_progress}) {
      auto d = decide_retry(op, server_said(s), 0, 1s);
      EXPECT_FALSE(d.retry) << protocol::to_string(s);
      EXPECT_EQ(d.reason, retry_reason::none) << protocol::to_string(s);
    }
  }
  // NOT_MY_VBUCKET is routing, not an answer: re-routed under either strategy.
  EXPECT_TRUE(decide_retry(opcode::get, server_said(status::not_my_vbucket), 0, 1s).retry);
}

TEST(retry, locked_is_retried_only_when_the_operation_asks_for_best_effort)
{
  const auto locked = entry({protocol::error_attribute::item_locked, protocol::error_attribute::item_only,
                             protocol::error_attribute::retry_later});
  EXPECT_FALSE(decide_retry(opcode::get_locked, server_said(status::locked, &locked), 0, 1s).retry);
  EXPECT_FALSE(decide_retry(opcode::get_locked, server_said(status::locked, &locked), 0, 1s, best_effort).retry);
  auto d = decide_retry(opcode::get_locked, server_said(status::locked, &locked), 0, 1s, asked_best_effort);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.reason, retry_reason::document_locked);
}

TEST(retry, error_map_auto_retry_is_followed_under_either_strategy_within_its_max_duration)
{
  const auto e = entry({protocol::error_attribute::auto_retry, protocol::error_attribute::temp},
                       protocol::retry_spec{"constant", 25, 10, 0, 100});
  const auto said = server_said(static_cast<status>(0xfff0), &e);
  for (auto policy : {retry_policy{}, best_effort}) {
    auto d = decide_retry(opcode::get, said, 0, 1s, policy, 0ms);
    EXPECT_TRUE(d.retry);
    EXPECT_EQ(d.reason, retry_reason::error_map_retry);
    EXPECT_EQ(d.delay, 10ms); // "after"
    d = decide_retry(opcode::get, said, 1, 1s, policy, 10ms);
    EXPECT_EQ(d.delay, 25ms); // "interval"
    EXPECT_TRUE(d.retry);
    // max-duration 100 ms: a retry that would start at or past it is not made.
    d = decide_retry(opcode::get, said, 3, 1s, policy, 80ms);
    EXPECT_FALSE(d.retry);
    EXPECT_EQ(d.reason, retry_reason::none); // the status is the answer, not a timeout
  }
}

TEST(retry, error_map_delays_follow_the_strategy_and_the_ceiling)
{
  EXPECT_EQ(error_map_delay({"constant", 25, 10, 0, 0}, 0), 10ms);
  EXPECT_EQ(error_map_delay({"constant", 25, 10, 0, 0}, 7), 25ms);
  EXPECT_EQ(error_map_delay({"linear", 10, 10, 200, 0}, 3), 30ms);
  EXPECT_EQ(error_map_delay({"linear", 10, 10, 200, 0}, 50), 200ms);
  EXPECT_EQ(error_map_delay({"exponential", 2, 10, 500, 0}, 3), 8ms);
  EXPECT_EQ(error_map_delay({"exponential", 2, 10, 500, 0}, 9), 500ms);
  EXPECT_EQ(error_map_delay({"exponential", 1000, 0, 0, 0}, 60), std::chrono::milliseconds(std::int64_t{1} << 32));
}

TEST(retry, final_statuses_are_not_retried)
{
  for (auto s : {status::key_enoent, status::key_eexists, status::locked, status::e2big, status::einval,
                 status::delta_badval, status::auth_error, status::unknown_command}) {
    auto d = decide_retry(opcode::set, server_said(s), 0, 1s);
    EXPECT_FALSE(d.retry) << protocol::to_string(s);
    EXPECT_EQ(d.reason, retry_reason::none);
  }
}

TEST(retry, error_map_can_make_an_unknown_status_retryable_under_best_effort)
{
  const auto retryable = entry({protocol::error_attribute::retry_later});
  const auto final_one = entry({protocol::error_attribute::item_only});
  auto d = decide_retry(opcode::get, server_said(static_cast<status>(0x00ff), &retryable), 0, 1s, best_effort);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.reason, retry_reason::error_map_retry);
  EXPECT_FALSE(decide_retry(opcode::get, server_said(static_cast<status>(0x00ff), &retryable), 0, 1s).retry);
  EXPECT_FALSE(decide_retry(opcode::get, server_said(static_cast<status>(0x00ff), &final_one), 0, 1s, best_effort).retry);
}

TEST(retry, connection_loss_retries_reads_but_not_mutations)
{
  attempt_outcome lost{attempt_failure::connection_lost, status::success, nullptr};
  EXPECT_TRUE(decide_retry(opcode::get, lost, 0, 1s).retry);
  EXPECT_TRUE(decide_retry(opcode::get_replica, lost, 0, 1s).retry);
  EXPECT_TRUE(decide_retry(opcode::observe_seqno, lost, 0, 1s).retry);
  EXPECT_FALSE(decide_retry(opcode::set, lost, 0, 1s).retry);
  EXPECT_FALSE(decide_retry(opcode::increment, lost, 0, 1s).retry);
  EXPECT_FALSE(decide_retry(opcode::del, lost, 0, 1s).retry);
}

TEST(retry, a_request_that_never_left_is_safe_to_retry_even_for_mutations)
{
  attempt_outcome not_sent{attempt_failure::not_sent, status::success, nullptr};
  auto d = decide_retry(opcode::set, not_sent, 2, 1s);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.reason, retry_reason::node_not_available);
}

TEST(retry, no_retry_that_would_start_after_the_deadline)
{
  auto d = decide_retry(opcode::get, server_said(status::etmpfail), 4, 10ms, best_effort); // backoff 16ms > 10ms
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, retry_reason::temporary_failure); // still says why, for the timeout error
}

TEST(retry, timeout_is_ambiguous_only_for_mutations_that_may_have_run)
{
  EXPECT_EQ(timeout_error(opcode::set, true), protocol::client_errc::ambiguous_timeout);
  EXPECT_EQ(timeout_error(opcode::set, false), protocol::client_errc::timeout);
  EXPECT_EQ(timeout_error(opcode::get, true), protocol::client_errc::timeout);
}

// Issue 20: now + timeout must not overflow. milliseconds::max() in nanoseconds does not fit in
// 64 bits; saturated, it is "no deadline" (time_point::max()), not a deadline in the past.
TEST(retry, deadlines_saturate_instead_of_overflowing)
{
  using clock = std::chrono::steady_clock;
  const auto now = clock::now();
  EXPECT_EQ(deadline_after(now, std::chrono::milliseconds::max()), clock::time_point::max());
  EXPECT_EQ(deadline_after(now, std::chrono::hours::max()), clock::time_point::max());
  EXPECT_EQ(deadline_after(now, std::chrono::nanoseconds::max()), clock::time_point::max());
  EXPECT_EQ(deadline_after(now, 2500ms), now + 2500ms);
  EXPECT_EQ(deadline_after(now, 0ms), now);
  EXPECT_EQ(deadline_after(now, -5ms), now); // refused by callers; never a wrapped future
  // Just below the end of the clock: still exact, then saturated.
  const auto late = clock::time_point::max() - 10ms;
  EXPECT_EQ(deadline_after(late, 9ms), late + 9ms);
  EXPECT_EQ(deadline_after(late, 10ms), clock::time_point::max());
  EXPECT_EQ(deadline_after(late, 11ms), clock::time_point::max());
  static_assert(deadline_after(clock::time_point{}, std::chrono::seconds::max()) == clock::time_point::max());
}
