// Internal: the one fan-out of the _multi forms. Each key's operation ends in its multi_slot,
// which files its outcome; the last one completes the whole. Every slot runs on the bucket's
// strand (the slots have no executor of their own), so the state needs no lock.
#pragma once
#include <couchkv/completion.hpp>
#include <couchkv/results.hpp>

#include <memory>
#include <optional>
#include <string>

namespace couchkv::detail {

template <class Result>
struct multi_state {
  multi_result<Result> results;
  std::size_t left{0};
  std::optional<detail::completion<void(std::error_code, multi_result<Result>)>> done;
};

// One key's end: its slot of the results. Runs on the bucket's strand (it has no executor of its
// own), as every other key's: no lock.
template <class Result>
struct multi_slot {
  std::shared_ptr<multi_state<Result>> state;
  std::string key;
  void operator()(std::error_code ec, Result r)
  {
    auto& st = *state;
    auto& slot = st.results[key];
    slot.ec = ec;
    if (ec) slot.context = r.context;
    if (!ec) {
      slot.value = std::move(r);
    } else if constexpr (requires { r.durability.has_value(); }) {
      if (r.durability) slot.value = std::move(r); // applied, durability failed: keep both
    } else if constexpr (requires { r.durability.met; }) {
      slot.value = std::move(r);
    }
    if (--st.left == 0) {
      auto d = std::move(*st.done);
      st.done.reset();
      std::move(d)({}, std::move(st.results));
    }
  }
};

} // namespace couchkv::detail
