// Why an operation was retried; the last reason travels with a timeout so users can tell a
// timeout spent waiting for a rebalance from one spent on a slow server.
#pragma once
#include <cstdint>
#include <string_view>

namespace couchkv {

enum class retry_reason : std::uint8_t {
  none,
  not_my_vbucket,          // server said the vBucket lives elsewhere; config applied, re-routed
  temporary_failure,       // TMPFAIL
  server_busy,             // EBUSY
  sync_write_in_progress,  // a durable write to the same key is in flight
  error_map_retry,         // the server's error map marks the status retryable
  connection_lost,         // the connection closed before the request was written / answered
  node_not_available,      // no connection to the node owning the vBucket yet
  no_config,               // no cluster map yet (bootstrap still running)
  document_locked,         // LOCKED, retried because the operation asked for best_effort
};

[[nodiscard]] std::string_view to_string(retry_reason r) noexcept;

} // namespace couchkv
