#include "retry.hpp"

#include <couchkv/errors.hpp>

#include <gtest/gtest.h>

using namespace couchkv;
using namespace couchkv::detail;
using namespace std::chrono_literals;
using protocol::opcode;
using protocol::status;

namespace {
attempt_outcome server_said(status s) { return {attempt_failure::status, s, false}; }
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

TEST(retry, temporary_statuses_are_retried_for_reads_and_mutations)
{
  for (auto op : {opcode::get, opcode::set, opcode::del, opcode::increment}) {
    EXPECT_EQ(decide_retry(op, server_said(status::etmpfail), 0, 1s).reason, retry_reason::temporary_failure);
    EXPECT_EQ(decide_retry(op, server_said(status::ebusy), 0, 1s).reason, retry_reason::server_busy);
    EXPECT_EQ(decide_retry(op, server_said(status::sync_write_in_progress), 0, 1s).reason,
              retry_reason::sync_write_in_progress);
  }
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

TEST(retry, error_map_can_make_an_unknown_status_retryable)
{
  attempt_outcome o{attempt_failure::status, static_cast<status>(0x00ff), true};
  auto d = decide_retry(opcode::get, o, 0, 1s);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.reason, retry_reason::error_map_retry);
  o.error_map_says_retry = false;
  EXPECT_FALSE(decide_retry(opcode::get, o, 0, 1s).retry);
}

TEST(retry, connection_loss_retries_reads_but_not_mutations)
{
  attempt_outcome lost{attempt_failure::connection_lost, status::success, false};
  EXPECT_TRUE(decide_retry(opcode::get, lost, 0, 1s).retry);
  EXPECT_TRUE(decide_retry(opcode::get_replica, lost, 0, 1s).retry);
  EXPECT_TRUE(decide_retry(opcode::observe_seqno, lost, 0, 1s).retry);
  EXPECT_FALSE(decide_retry(opcode::set, lost, 0, 1s).retry);
  EXPECT_FALSE(decide_retry(opcode::increment, lost, 0, 1s).retry);
  EXPECT_FALSE(decide_retry(opcode::del, lost, 0, 1s).retry);
}

TEST(retry, a_request_that_never_left_is_safe_to_retry_even_for_mutations)
{
  attempt_outcome not_sent{attempt_failure::not_sent, status::success, false};
  auto d = decide_retry(opcode::set, not_sent, 2, 1s);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.reason, retry_reason::node_not_available);
}

TEST(retry, no_retry_that_would_start_after_the_deadline)
{
  auto d = decide_retry(opcode::get, server_said(status::etmpfail), 4, 10ms); // backoff 16ms > 10ms
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
