// Retry decisions (pure): whether a failed attempt is tried again and after how long, capped at the
// operation's deadline. Separated from timers and sockets so every path is unit-tested
// (couchbase-cxx-client's retry_orchestrator is the model).
#pragma once
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
  // From the error map (attrs retry-now / retry-later / temp) for a status this client does not
  // treat specially.
  bool error_map_says_retry{false};
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

// `attempt` counts previous retries (0 for the first failure). `remaining` is the time left before
// the operation's deadline. A mutation whose request may have reached the server is not retried
// after a connection loss: its outcome is unknown, so it fails as ambiguous.
[[nodiscard]] retry_decision decide_retry(protocol::opcode op, const attempt_outcome& outcome, std::uint32_t attempt,
                                          std::chrono::milliseconds remaining,
                                          const backoff_policy& policy = {}) noexcept;

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
