#include "retry.hpp"

#include <couchkv/errors.hpp>

#include <algorithm>

namespace couchkv {

std::string_view to_string(retry_reason r) noexcept
{
  switch (r) {
    case retry_reason::none: return "none";
    case retry_reason::not_my_vbucket: return "not_my_vbucket";
    case retry_reason::temporary_failure: return "temporary_failure";
    case retry_reason::server_busy: return "server_busy";
    case retry_reason::sync_write_in_progress: return "sync_write_in_progress";
    case retry_reason::error_map_retry: return "error_map_retry";
    case retry_reason::connection_lost: return "connection_lost";
    case retry_reason::node_not_available: return "node_not_available";
    case retry_reason::no_config: return "no_config";
  }
  return "unknown";
}

namespace detail {

std::chrono::milliseconds backoff_policy::delay(std::uint32_t attempt) const noexcept
{
  auto d = first;
  for (std::uint32_t i = 0; i < attempt && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

namespace {
std::optional<retry_reason> retryable_status(protocol::status s, bool error_map_says_retry) noexcept
{
  using protocol::status;
  switch (s) {
    case status::not_my_vbucket: return retry_reason::not_my_vbucket;
    case status::etmpfail: return retry_reason::temporary_failure;
    case status::ebusy: return retry_reason::server_busy;
    case status::sync_write_in_progress:
    case status::sync_write_recommit_in_progress: return retry_reason::sync_write_in_progress;
    default: break;
  }
  if (error_map_says_retry) return retry_reason::error_map_retry;
  return std::nullopt;
}
} // namespace

retry_decision decide_retry(protocol::opcode op, const attempt_outcome& outcome, std::uint32_t attempt,
                            std::chrono::milliseconds remaining, const backoff_policy& policy) noexcept
{
  retry_decision d;
  switch (outcome.kind) {
    case attempt_failure::status: {
      auto reason = retryable_status(outcome.status, outcome.error_map_says_retry);
      if (!reason) return d;
      d.reason = *reason;
      // NOT_MY_VBUCKET comes with (or triggers) a new map: re-route at once the first time.
      d.delay = (*reason == retry_reason::not_my_vbucket && attempt == 0) ? std::chrono::milliseconds{0}
                                                                          : policy.delay(attempt);
      break;
    }
    case attempt_failure::connection_lost:
      if (protocol::is_mutation(op)) return d; // may have run: the caller reports it as ambiguous
      d.reason = retry_reason::connection_lost;
      d.delay = policy.delay(attempt);
      break;
    case attempt_failure::not_sent:
      d.reason = retry_reason::node_not_available;
      d.delay = policy.delay(attempt);
      break;
  }
  // A retry that cannot start before the deadline is pointless: the caller fails now with the
  // timeout error carrying `reason`.
  d.retry = d.delay < remaining;
  return d;
}

std::error_code timeout_error(protocol::opcode op, bool possibly_applied) noexcept
{
  if (possibly_applied && protocol::is_mutation(op)) return make_error_code(protocol::client_errc::ambiguous_timeout);
  return make_error_code(protocol::client_errc::timeout);
}

} // namespace detail
} // namespace couchkv
