// Memory for the type-erased handlers of operations in flight.
//
// Every asynchronous KV operation type-erases its handler (asio::any_completion_handler) at each
// layer it passes. Asio allocates that with the handler's associated allocator, by default its
// recycling allocator, which keeps two blocks per thread: with many operations in flight, or one
// operation passing three layers, nearly every allocation misses it and goes to malloc. This
// allocator keeps small blocks per thread instead (size classes up to 512 bytes, a bounded number
// of each), so an operation's handlers cost a free-list pop and push once the thread is warm.
// kv_response keeps its body in one of these blocks too. A thread caches at most 512 blocks of
// each class (480 KiB in all); beyond that, and above 512 bytes, blocks go to operator delete.
//
// Stateless; a block may be freed on any thread (it joins that thread's cache). Bound only to a
// handler that has no allocator of its own (with_handler_allocator): an application's allocator
// is always respected.
#pragma once
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/bind_allocator.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace couchkv::io {

namespace detail {
// Blocks of at most max_pooled_size bytes come from this thread's cache; larger ones from
// operator new. Both are aligned for any fundamental type. The fast paths are inline: a pop or a
// push on the thread's list of the size class.
inline constexpr std::size_t max_pooled_size = 512;
inline constexpr std::size_t pooled_classes = 4;    // 64, 128, 256, 512 bytes
inline constexpr std::uint32_t max_pooled_blocks = 512; // kept per class and thread

struct free_block {
  free_block* next;
};
// Trivially destructible and constant-initialised, so reaching it costs no initialisation check;
// blocks are given back when the thread ends (see the .cpp). `open` is false until the thread
// first frees a block (which arranges that) and again once the thread is ending.
struct block_cache {
  free_block* head[pooled_classes];
  std::uint32_t count[pooled_classes];
  bool open;
};
extern thread_local constinit block_cache thread_blocks;

[[nodiscard]] constexpr std::size_t pooled_class(std::size_t size) noexcept
{
  return size <= 64 ? 0 : static_cast<std::size_t>(std::bit_width(size - 1)) - 6;
}
[[nodiscard]] void* pooled_allocate_slow(std::size_t size);
void pooled_deallocate_slow(void* p, std::size_t size) noexcept;

[[nodiscard]] inline void* pooled_allocate(std::size_t size)
{
  if (size <= max_pooled_size) {
    auto& t = thread_blocks;
    const auto c = pooled_class(size);
    if (auto* b = t.head[c]) {
      t.head[c] = b->next;
      --t.count[c];
      return b;
    }
  }
  return pooled_allocate_slow(size);
}
inline void pooled_deallocate(void* p, std::size_t size) noexcept
{
  if (size <= max_pooled_size && p != nullptr) {
    auto& t = thread_blocks;
    const auto c = pooled_class(size);
    if (t.open && t.count[c] < max_pooled_blocks) {
      auto* b = static_cast<free_block*>(p);
      b->next = t.head[c];
      t.head[c] = b;
      ++t.count[c];
      return;
    }
  }
  pooled_deallocate_slow(p, size);
}
// This thread's cache: blocks kept of the class of `size` (for tests and diagnostics).
[[nodiscard]] std::size_t pooled_cached(std::size_t size) noexcept;
} // namespace detail

template <class T>
class handler_allocator {
public:
  using value_type = T;

  handler_allocator() noexcept = default;
  template <class U>
  handler_allocator(const handler_allocator<U>&) noexcept // NOLINT(google-explicit-constructor)
  {
  }

  [[nodiscard]] T* allocate(std::size_t n)
  {
    if constexpr (alignof(T) > alignof(std::max_align_t)) {
      return std::allocator<T>{}.allocate(n);
    } else {
      if (n > std::allocator_traits<std::allocator<T>>::max_size(std::allocator<T>{})) {
        throw std::bad_array_new_length();
      }
      return static_cast<T*>(detail::pooled_allocate(n * sizeof(T)));
    }
  }
  void deallocate(T* p, std::size_t n) noexcept
  {
    if constexpr (alignof(T) > alignof(std::max_align_t)) {
      std::allocator<T>{}.deallocate(p, n);
    } else {
      detail::pooled_deallocate(p, n * sizeof(T));
    }
  }

  template <class U>
  bool operator==(const handler_allocator<U>&) const noexcept
  {
    return true;
  }
};

namespace detail {
struct no_associated_allocator {};
template <class Handler>
inline constexpr bool has_own_allocator =
    !std::is_same_v<boost::asio::associated_allocator_t<std::decay_t<Handler>, no_associated_allocator>,
                    no_associated_allocator>;
} // namespace detail

// The handler itself when it has an allocator of its own; otherwise the handler bound to
// handler_allocator (its executor and cancellation slot still reach through the binder).
template <class Handler>
decltype(auto) with_handler_allocator(Handler&& h)
{
  if constexpr (detail::has_own_allocator<Handler>) {
    return std::forward<Handler>(h);
  } else {
    return boost::asio::bind_allocator(handler_allocator<void>{}, std::forward<Handler>(h));
  }
}

} // namespace couchkv::io
