// Internal to kv_connection: the deadlines of the requests in flight, earliest first.
//
// Most arrive in order (one timeout for every request of a connection or bucket, so each is no
// earlier than the one before): those are appended to a FIFO and not looked for when their request
// completes; an entry whose request is gone is dropped when it reaches the front, or by compaction,
// which keeps the FIFO within twice the requests in flight. The few that arrive out of order go to
// an ordered set, from which completion removes them. An ordered set for all of them cost about 600
// instructions per request (a node from the pool resource, rebalancing on insert and on erase).
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <vector>

namespace couchkv::io::detail {

class deadline_queue {
public:
  using clock = std::chrono::steady_clock;
  struct entry {
    clock::time_point at;
    std::uint32_t opaque;
    std::uint64_t seq; // the request's number: its opaque alone may be reused after wrapping
  };

  // Adds the deadline of a request now in flight; returns true when it went to the ordered set
  // (remove_ordered() must then be called when the request completes). `live(entry)` says whether
  // an entry's request is still in flight; `in_flight` is how many are.
  template <class Live>
  bool add(const entry& e, std::size_t in_flight, const Live& live)
  {
    if (!fifo_.empty() && e.at < fifo_.back().at) {
      ordered_.insert(e);
      return true;
    }
    fifo_.push_back(e);
    if (fifo_.size() > 2 * in_flight + 64) std::erase_if(fifo_, [&](const entry& x) { return !live(x); });
    return false;
  }
  void remove_ordered(const entry& e) { ordered_.erase(e); }
  // Drops the entries at the front of the FIFO whose requests are gone.
  template <class Live>
  void drop_stale_front(const Live& live)
  {
    while (!fifo_.empty() && !live(fifo_.front())) fifo_.pop_front();
  }
  // The earliest deadline still in force.
  template <class Live>
  [[nodiscard]] std::optional<entry> earliest(const Live& live)
  {
    drop_stale_front(live);
    // remove_ordered() keeps the set free of stale entries; were one left, the timer would
    // expire it for ever.
    while (!ordered_.empty() && !live(*ordered_.begin())) ordered_.erase(ordered_.begin());
    if (fifo_.empty() && ordered_.empty()) return std::nullopt;
    if (ordered_.empty()) return fifo_.front();
    if (fifo_.empty() || ordered_.begin()->at < fifo_.front().at) return *ordered_.begin();
    return fifo_.front();
  }
  // Entries held (live or not): for tests of the bound.
  [[nodiscard]] std::size_t held() const noexcept { return fifo_.size() + ordered_.size(); }
  void clear()
  {
    fifo_.clear();
    ordered_.clear();
  }

private:
  struct by_time {
    bool operator()(const entry& a, const entry& b) const noexcept
    {
      return a.at != b.at ? a.at < b.at : a.seq < b.seq;
    }
  };
  std::deque<entry> fifo_;
  std::set<entry, by_time> ordered_;
};

} // namespace couchkv::io::detail
