// Internal: client-side durability (the Python SDK 2.x `endure` and persist_to / replicate_to).
// Polls the vBucket's master and replicas concurrently — OBSERVE_SEQNO with the mutation token
// when there is one, OBSERVE with the CAS otherwise — until the criteria hold, a fatal answer
// arrives (mutation lost in a failover, document replaced), or the timeout. Every round routes
// through the current map, so a failover or rebalance mid-poll re-targets the next round.
#pragma once
#include "bucket_impl.hpp"

#include <couchkv/results.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace couchkv::detail {

struct endure_spec {
  std::string key;
  std::uint64_t cas{0};                  // 0: any CAS (seqno mode never needs it)
  std::optional<mutation_token> token{}; // preferred when present
  int persist_to{0};                     // negative: as many as the map allows
  int replicate_to{0};
  bool check_removed{false};             // the mutation was a removal (CAS mode)
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds interval{10};
};

using endure_done = std::function<void(std::error_code, durability_outcome)>;

// Checks the request against the bucket and the current map (on the strand). Empty when possible.
[[nodiscard]] std::error_code durability_possible(const bucket_impl& impl, std::string_view key, int persist_to,
                                                  int replicate_to, std::string& detail);

// Runs the poll; `done` runs once, on the bucket's strand.
void start_endure(const std::shared_ptr<bucket_impl>& impl, endure_spec spec, endure_done done);

} // namespace couchkv::detail
