// Internal to kv_connection: the requests in flight, by opaque.
//
// Opaques are ours to choose: they count up (wrapping after 2^32, skipping 0), and a request lives
// at index opaque % capacity of a power-of-two table, so a lookup is one index and one compare,
// with no hashing and no allocation once the table has grown. A new opaque whose place is taken
// (an old request still waiting) is skipped; the table doubles when half full, and doubling never
// makes two requests collide (equal modulo 2C implies equal modulo C). A late response carries an
// opaque that is no longer in its place: an orphan.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace couchkv::io::detail {

// Entry is the caller's per-request record; it must be default-constructible and movable.
template <class Entry>
class op_table {
public:
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  // The request under `opaque`, or null (0, unknown, or already completed).
  Entry* find(std::uint32_t opaque) noexcept
  {
    if (opaque == 0 || entries_.empty()) return nullptr;
    auto& s = entries_[opaque & mask_];
    return s.opaque == opaque ? &s.entry : nullptr;
  }

  // Stores the request under a fresh opaque and returns the opaque. The entry stays where it is
  // until the next add() (which may grow the table) or take().
  std::uint32_t add(Entry e)
  {
    auto& s = claim_slot();
    s.entry = std::move(e);
    return s.opaque;
  }

  // A free entry under a fresh opaque, for the caller to fill in place (every field: it holds what
  // its last occupant left). Valid until the next add(), claim() or take().
  std::pair<std::uint32_t, Entry*> claim()
  {
    auto& s = claim_slot();
    return {s.opaque, &s.entry};
  }

  // Removes the entry under `opaque` (which must be there) without handing it over; for entries
  // that own nothing (trivially copyable), read before.
  void erase(std::uint32_t opaque) noexcept
  {
    static_assert(std::is_trivially_copyable_v<Entry>, "an entry that owns something is take()n");
    entries_[opaque & mask_].opaque = 0;
    --size_;
  }

  // Room for `n` more without growing more than once.
  void reserve_for(std::size_t n)
  {
    while ((size_ + n) * 2 > entries_.size()) grow();
  }

  // Removes the request (which must be there) and hands it over.
  Entry take(std::uint32_t opaque) noexcept
  {
    auto& s = entries_[opaque & mask_];
    Entry out(std::move(s.entry));
    if constexpr (!std::is_trivially_copyable_v<Entry>) s.entry = Entry{}; // what it owned goes with `out`
    s.opaque = 0;
    --size_;
    return out;
  }

  // f(opaque, entry) for every request in flight (in table order, not arrival order).
  template <class F>
  void for_each(F&& f)
  {
    for (auto& s : entries_) {
      if (s.opaque != 0) f(s.opaque, s.entry);
    }
  }

private:
  struct slot {
    std::uint32_t opaque{0}; // 0: free
    Entry entry{};
  };
  slot& claim_slot()
  {
    if ((size_ + 1) * 2 > entries_.size()) grow();
    std::uint32_t opaque;
    do {
      opaque = ++next_;
    } while (opaque == 0 || entries_[opaque & mask_].opaque != 0);
    auto& s = entries_[opaque & mask_];
    s.opaque = opaque;
    ++size_;
    return s;
  }
  void grow()
  {
    std::vector<slot> bigger(std::max<std::size_t>(64, entries_.size() * 2));
    const std::size_t mask = bigger.size() - 1;
    for (auto& s : entries_) {
      if (s.opaque == 0) continue;
      auto& to = bigger[s.opaque & mask];
      to.opaque = s.opaque;
      to.entry = std::move(s.entry);
    }
    entries_ = std::move(bigger);
    mask_ = mask;
  }

  std::vector<slot> entries_;
  std::size_t mask_{0};
  std::size_t size_{0};
  std::uint32_t next_{0};
};

} // namespace couchkv::io::detail
