// Internal: the _multi forms. One operation per key, started at once; completes once with every
// key's outcome (its result, or its error; for a mutation whose durability failed, both).
#pragma once
#include <couchkv/completion.hpp>
#include <couchkv/results.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace couchkv::detail {

template <class Result, class Start>
void fan_out(std::size_t n, std::vector<std::string> keys, Start start,
             completion<void(std::error_code, multi_result<Result>)> done)
{
  struct state {
    std::mutex m;
    multi_result<Result> results;
    std::size_t left;
    std::optional<completion<void(std::error_code, multi_result<Result>)>> done;
  };
  auto st = std::make_shared<state>();
  st->left = n;
  st->done.emplace(std::move(done));
  if (n == 0) {
    std::move (*st->done)({}, {});
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    start(i, [st, key = keys[i]](std::error_code ec, Result r) {
      std::unique_lock lock(st->m);
      auto& slot = st->results[key];
      slot.ec = ec;
      if (!ec) {
        slot.value = std::move(r);
      } else if constexpr (requires { r.durability.has_value(); }) {
        if (r.durability) slot.value = std::move(r); // applied, durability failed: keep both
      } else if constexpr (requires { r.durability.met; }) {
        slot.value = std::move(r);
      }
      if (--st->left == 0) {
        auto results = std::move(st->results);
        auto d = std::move(*st->done);
        st->done.reset();
        lock.unlock();
        std::move(d)({}, std::move(results));
      }
    });
  }
}

// Wraps fan_out's per-key callback as the completion a single-key start_* takes.
template <class Signature, class Callback>
completion<Signature> per_key(const asio::any_io_executor& ex, Callback cb)
{
  return completion<Signature>(asio::any_completion_handler<Signature>(std::move(cb)), ex);
}

} // namespace couchkv::detail
