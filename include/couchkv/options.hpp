// Per-operation options. Every field has the default a user expects; designated initialisers read
// well at the call site: bucket.upsert("k", v, {.expiry = 60s, .persist_to = 1}).
#pragma once
#include <couchkv/protocol/frame_info.hpp>
#include <couchkv/transcoder.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <type_traits>

namespace couchkv {

// Expiry as the server takes it: 0 = never; up to 30 days (2,592,000 s) = relative; beyond =
// absolute Unix time. A std::chrono::seconds duration is converted (relative when <= 30 days,
// else absolute from now).
using expiry_duration = std::chrono::seconds;

// An expiry, as the options and touch() take it: a duration from now (`60s`, `std::chrono::days(40)`)
// or a point in time (`std::chrono::system_clock::now() + 24h`, a sys_days). The 30-day rule:
//  - a duration of 0 means "never expires"; up to 30 days is sent as is (relative);
//  - a longer duration is sent as the absolute Unix time now + duration (the server reads any
//    number above 30 days as a Unix time), measured on this machine's clock;
//  - a time point is sent as its Unix time. One in the past makes the document expire at once.
// The wire carries an unsigned 32-bit Unix time, so expiries end in February 2106. An expiry that
// cannot be sent as meant fails the operation with invalid_argument before anything is sent: a
// negative duration, a duration or time point past 2106, a time point within 30 days of the epoch
// (the server would read it as relative).
class expiry_time {
public:
  constexpr expiry_time() noexcept = default;
  // Any duration that converts to seconds without loss (seconds, minutes, hours, days, ...).
  template <class Rep, class Period>
    requires std::is_convertible_v<std::chrono::duration<Rep, Period>, std::chrono::seconds>
  constexpr expiry_time(std::chrono::duration<Rep, Period> d) noexcept : secs_(clamp(d)) // NOLINT: implicit by design
  {
  }
  template <class Duration>
  constexpr expiry_time(std::chrono::sys_time<Duration> tp) noexcept // NOLINT: implicit by design
      : secs_(clamp(tp.time_since_epoch())), absolute_(true)
  {
  }

  // A time point (else a duration from now).
  [[nodiscard]] constexpr bool is_absolute() const noexcept { return absolute_; }
  // The duration, or the time point's seconds since the Unix epoch (clamped to +-2^33 s,
  // far beyond what can be sent: a clamped value is always refused).
  [[nodiscard]] constexpr std::chrono::seconds value() const noexcept { return std::chrono::seconds(secs_); }
  friend constexpr bool operator==(const expiry_time&, const expiry_time&) noexcept = default;

private:
  static constexpr std::int64_t limit = std::int64_t{1} << 33; // year 2242; in nanoseconds still fits
  template <class Rep, class Period>
  static constexpr std::int64_t clamp(std::chrono::duration<Rep, Period> d) noexcept
  {
    // Compared as long double seconds first, so that neither converting (INT64_MAX hours) nor the
    // bound in the caller's unit (2^33 s in an int Rep, or negated in an unsigned one) overflows.
    const long double secs = std::chrono::duration<long double>(d).count();
    if (secs > static_cast<long double>(limit)) return limit;
    if (secs < -static_cast<long double>(limit)) return -limit;
    return std::chrono::floor<std::chrono::seconds>(d).count();
  }
  std::int64_t secs_{0};
  bool absolute_{false};
};

// Durability of a mutation (upsert and the other stores, remove, counter): one block, one name.
//  - persist_to / replicate_to: client-side, as in the Python SDK 2.x. After the mutation succeeds,
//    its master and replicas are polled (OBSERVE_SEQNO with the mutation token, else OBSERVE) until
//    the mutation is persisted on persist_to nodes (master included) and held by replicate_to
//    replicas, or `timeout` passes. -1 means "as many as the bucket has".
//  - level: synchronous durability (Couchbase Server 6.5+), enforced by the server itself.
// The two are alternatives (as in every SDK): asking for both is invalid_argument, nothing sent.
struct durability_options {
  int persist_to{0};
  int replicate_to{0};
  std::optional<protocol::durability_level> level{};
  std::chrono::milliseconds timeout{5000}; // the polling of persist_to / replicate_to
  [[nodiscard]] bool polled() const noexcept { return persist_to != 0 || replicate_to != 0; }
};

// What an operation does with a server's answer that says "not now" (TMPFAIL, EBUSY, a
// synchronous write in progress, a status the server's error map calls retryable):
//  - fail_fast (the default, as the Python SDK 2.x): fail at once with that status's error
//    (temporary_failure, ...); the error context names the status the server sent.
//  - best_effort (as the SDK 3 family): retry until the operation's deadline, at the error map's
//    intervals where it gives them, else with a doubling backoff; a timeout then names the last
//    status and retry reason.
// Either way NOT_MY_VBUCKET is re-routed, a request that never left the client waits for its
// connection, and an error-map entry marked auto-retry is retried on the server's schedule (within
// its max-duration). LOCKED (0x09) is document_locked at once unless the operation itself asks for
// best_effort (a bucket-wide best_effort does not retry locks). Per bucket: the connection
// string's retry_strategy= or async_bucket::set_retry_strategy; per operation: the `retry` option.
enum class retry_strategy : std::uint8_t { fail_fast, best_effort };

// Timeouts (the `timeout` fields): unset or 0 = the cluster's kv_timeout. A negative timeout fails
// the operation with invalid_argument (nothing is sent); a huge one (milliseconds::max()) means
// "no deadline" rather than overflowing the clock.
struct common_options {
  std::optional<std::chrono::milliseconds> timeout{}; // default: the cluster's kv_timeout
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

struct get_options {
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

struct get_and_touch_options {
  expiry_time expiry{};
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

struct get_and_lock_options {
  std::chrono::seconds lock_time{15}; // 0 = server default; negative or >= 2^32 s: invalid_argument
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

struct mutation_options {
  std::uint64_t cas{0};         // replace/remove/append/prepend: fail on CAS mismatch when set
  expiry_time expiry{};
  std::optional<std::uint32_t> flags{}; // override the transcoder's flags (rarely right)
  durability_options durability{};
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

struct remove_options {
  std::uint64_t cas{0};
  durability_options durability{};
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

struct counter_options {
  // Created with this value when missing; without it a missing counter is document_not_found.
  std::optional<std::uint64_t> initial{};
  expiry_time expiry{};
  durability_options durability{};
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

struct touch_options {
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

enum class replica_mode : std::uint8_t { any, all, index };
struct replica_options {
  replica_mode mode{replica_mode::any};
  std::uint16_t index{0}; // with replica_mode::index: 0 = first replica
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<retry_strategy> retry{}; // default: the bucket's (see retry_strategy)
};

// endure(): wait until a mutation (identified by its mutation_result: token, else CAS) is
// persisted on persist_to nodes (master included) and held by replicate_to replicas. Negative
// counts mean "as many as the vBucket has". Python SDK 2.x defaults: 5 s timeout, 10 ms interval
// (after ten polls the interval backs off, doubling up to 100 ms).
struct endure_options {
  int persist_to{0};
  int replicate_to{0};
  bool check_removed{false}; // wait for the removal to be durable instead (CAS mode)
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds interval{10};
};

// Views (HTTP, the CAPI port). The SDKs' default view timeout is 75 s.
struct view_options {
  std::chrono::milliseconds timeout{75000};
  // query() keeps the rows until the end: above this many bytes of ids, keys, values and
  // documents it fails with view_errc::result_too_large. query_stream keeps none, so it ignores it.
  std::size_t max_result_bytes{256u * 1024u * 1024u};
};

} // namespace couchkv
