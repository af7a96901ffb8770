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
    case retry_reason::document_locked: return "document_locked";
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

std::chrono::milliseconds error_map_delay(const protocol::retry_spec& spec, std::uint32_t attempt) noexcept
{
  using ms = std::chrono::milliseconds;
  if (attempt == 0) return ms{spec.after_ms};
  const std::uint64_t r = attempt;
  const std::uint64_t interval = spec.interval_ms;
  const std::uint64_t ceil = spec.ceil_ms != 0 ? spec.ceil_ms : std::uint64_t{1} << 32;
  std::uint64_t d = interval;
  if (spec.strategy == "linear") {
    d = std::min(interval * r, ceil);
  } else if (spec.strategy == "exponential") {
    // interval ^ r, stopping at the ceiling (no overflow: each step is at most 2^32 * 2^32).
    d = interval == 0 ? 0 : 1;
    for (std::uint64_t i = 0; i < r && d < ceil; ++i) d *= std::max<std::uint64_t>(interval, 1);
    d = std::min(d, ceil);
  } else {
    d = std::min(interval, ceil); // constant (and any strategy this client does not know)
  }
  return ms{static_cast<ms::rep>(d)};
}

namespace {
// Why a status answer is worth another attempt under best_effort, if it is.
std::optional<retry_reason> best_effort_reason(const attempt_outcome& o, bool locked_too) noexcept
{
  using protocol::status;
  switch (o.status) {
    case status::etmpfail: return retry_reason::temporary_failure;
    case status::ebusy: return retry_reason::server_busy;
    case status::sync_write_in_progress:
    case status::sync_write_recommit_in_progress: return retry_reason::sync_write_in_progress;
    case status::locked:
      if (locked_too) return retry_reason::document_locked;
      return std::nullopt;
    default: break;
  }
  if (o.map_entry != nullptr && o.map_entry->retryable() && !o.map_entry->has(protocol::error_attribute::item_locked)) {
    return retry_reason::error_map_retry;
  }
  return std::nullopt;
}

// The server asks for its own retry schedule: auto-retry with a retry specification.
const protocol::retry_spec* auto_retry_spec(const attempt_outcome& o) noexcept
{
  if (o.map_entry == nullptr || !o.map_entry->retry || !o.map_entry->has(protocol::error_attribute::auto_retry)) {
    return nullptr;
  }
  return &*o.map_entry->retry;
}
} // namespace

retry_decision decide_retry(protocol::opcode op, const attempt_outcome& outcome, std::uint32_t attempt,
                            std::chrono::milliseconds remaining, retry_policy policy, std::chrono::milliseconds elapsed,
                            const backoff_policy& backoff) noexcept
{
  retry_decision d;
  switch (outcome.kind) {
    case attempt_failure::status: {
      if (outcome.status == protocol::status::not_my_vbucket) {
        // It comes with (or triggers) a new map: re-route at once the first time.
        d.reason = retry_reason::not_my_vbucket;
        d.delay = attempt == 0 ? std::chrono::milliseconds{0} : backoff.delay(attempt);
        break;
      }
      const auto* spec = auto_retry_spec(outcome);
      std::optional<retry_reason> reason;
      if (spec != nullptr) {
        reason = retry_reason::error_map_retry;
        if (auto known = best_effort_reason(outcome, false)) reason = known; // the more precise name
      } else if (policy.strategy == retry_strategy::best_effort) {
        reason = best_effort_reason(outcome, policy.explicit_best_effort);
      }
      if (!reason) return d; // final: the status is the answer
      d.reason = *reason;
      if (spec != nullptr) {
        d.delay = error_map_delay(*spec, attempt);
        // The server's max-duration bounds the retries as much as the caller's timeout does.
        // Past it, the status is the answer (not a timeout: the caller's deadline is still ahead).
        if (spec->max_duration_ms != 0 && elapsed + d.delay >= std::chrono::milliseconds{spec->max_duration_ms}) {
          return retry_decision{};
        }
      } else if (outcome.map_entry != nullptr && outcome.map_entry->retry) {
        d.delay = error_map_delay(*outcome.map_entry->retry, attempt);
      } else {
        d.delay = backoff.delay(attempt);
      }
      break;
    }
    case attempt_failure::connection_lost:
      if (protocol::is_mutation(op)) return d; // may have run: the caller reports it as ambiguous
      d.reason = retry_reason::connection_lost;
      d.delay = backoff.delay(attempt);
      break;
    case attempt_failure::not_sent:
      d.reason = retry_reason::node_not_available;
      d.delay = backoff.delay(attempt);
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
