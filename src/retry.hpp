// Retry decisions (pure): whether a failed attempt is tried again and after how long, capped at the
// operation's deadline. Separated from timers and sockets so every path is unit-tested
// (couchbase-cxx-client's retry_orchestrator is the model).
#pragma once
#include <couchkv/options.hpp>
#include <couchkv/protocol/error_map.hpp>
#include <couchkv/protocol/opcode.hpp>
#include <couchkv/protocol/status.hpp>
#include <couchkv/retry_reason.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>

namespace couchkv::detail {

// How an attempt failed.
enum class attempt_failure : std::uint8_t {
  status,           // the server answered with a non-success status
  connection_lost,  // the connection failed after the request was written (it may have run)
  not_sent,         // the request never left the client (no connection, queue refused it)
};

struct attempt_outcome {
  attempt_failure kind{attempt_failure::status};
  protocol::status status{protocol::status::success};
  // The server's error map entry for `status`, when it has one.
  const protocol::error_info* map_entry{nullptr};
};

// The strategy an attempt is judged by (retry_strategy, options.hpp), and whether the operation
// asked for it itself: a LOCKED answer is retried only when the operation asked for best_effort.
struct retry_policy {
  retry_strategy strategy{retry_strategy::fail_fast};
  bool explicit_best_effort{false};
};

struct retry_decision {
  bool retry{false};
  retry_reason reason{retry_reason::none};
  std::chrono::milliseconds delay{0};
};

// Capped exponential backoff: 1, 2, 4, ... ms up to `cap`, never past the deadline.
struct backoff_policy {
  std::chrono::milliseconds first{1};
  std::chrono::milliseconds cap{500};
  [[nodiscard]] std::chrono::milliseconds delay(std::uint32_t attempt) const noexcept;
};

// The delay before retry `attempt` (0 = the first) per an error map's retry specification
// (sdk-rfcs 0013): `after` first, then the strategy's interval (constant; linear interval * r;
// exponential interval ^ r), capped at `ceil` when it has one.
[[nodiscard]] std::chrono::milliseconds error_map_delay(const protocol::retry_spec& spec, std::uint32_t attempt) noexcept;

// `attempt` counts previous retries (0 for the first failure). `remaining` is the time left before
// the operation's deadline, `elapsed` the time since it started (an error map's max-duration).
//  - NOT_MY_VBUCKET is re-routed under either strategy; so is a request that never left the
//    client (no connection yet). A read whose connection was lost is sent again; a mutation
//    whose request may have reached the server is not: its outcome is unknown (ambiguous).
//  - fail_fast (the Python SDK 2.x): any other status fails at once, unless the server's error
//    map marks it auto-retry with a retry specification, which is followed.
//  - best_effort (the SDK 3 family): TMPFAIL, EBUSY, SYNC_WRITE_IN_PROGRESS and whatever the error
//    map calls retryable are retried until the deadline, at the error map's intervals where it
//    gives them; LOCKED too when the operation asked for best_effort itself.
[[nodiscard]] retry_decision decide_retry(protocol::opcode op, const attempt_outcome& outcome, std::uint32_t attempt,
                                          std::chrono::milliseconds remaining, retry_policy policy = {},
                                          std::chrono::milliseconds elapsed = {},
                                          const backoff_policy& backoff = {}) noexcept;

// The error an operation completes with when its deadline passes: ambiguous_timeout when a
// mutation may have been applied (it was written at least once and no answer said otherwise),
// timeout otherwise.
[[nodiscard]] std::error_code timeout_error(protocol::opcode op, bool possibly_applied) noexcept;

// now + timeout without overflow: a timeout too long for the clock (milliseconds::max(), whose
// nanoseconds do not fit in 64 bits) gives time_point::max(), which the I/O layer reads as "no
// deadline". A negative timeout gives `now` (callers refuse negative timeouts before this).
template <class TimePoint, class Rep, class Period>
[[nodiscard]] constexpr TimePoint deadline_after(TimePoint now, std::chrono::duration<Rep, Period> timeout) noexcept
{
  using source = std::chrono::duration<Rep, Period>;
  if (timeout <= source::zero()) return now;
  // The room left before max(), in the timeout's unit (rounded down, so no overflow either way).
  const auto room = std::chrono::duration_cast<source>(TimePoint::max() - now);
  if (timeout >= room) return TimePoint::max();
  return now + std::chrono::duration_cast<typename TimePoint::duration>(timeout);
}

} // namespace couchkv::detail
