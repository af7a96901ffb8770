#include <couchkv/io/handler_allocator.hpp>

#include <array>

namespace couchkv::io::detail {

namespace {

// Size classes 64, 128, 256, 512 bytes. A thread keeps at most max_blocks of each (256 KiB
// for the largest class), enough for several hundred operations in flight per thread.
constexpr std::size_t classes = 4;
constexpr std::size_t max_blocks = 512;

constexpr std::size_t class_of(std::size_t size) noexcept
{
  return size <= 64 ? 0 : size <= 128 ? 1 : size <= 256 ? 2 : 3;
}
constexpr std::size_t class_size(std::size_t c) noexcept { return std::size_t{64} << c; }

struct free_block {
  free_block* next;
};

// Trivially destructible, so reaching it costs no initialisation check; the thread's blocks are
// given back by `drainer` (registered on first use) when the thread ends. A block freed after
// that goes straight to operator delete.
struct cache {
  std::array<free_block*, classes> head{};
  std::array<std::size_t, classes> count{};
  bool registered{false};
  bool closed{false};
};
thread_local constinit cache tl{};

struct drainer {
  drainer() = default;
  drainer(const drainer&) = delete;
  drainer& operator=(const drainer&) = delete;
  ~drainer()
  {
    tl.closed = true;
    for (std::size_t c = 0; c < classes; ++c) {
      while (auto* b = tl.head[c]) {
        tl.head[c] = b->next;
        ::operator delete(b);
      }
      tl.count[c] = 0;
    }
  }
};

[[gnu::noinline]] void register_drainer() noexcept
{
  static thread_local drainer d;
  static_cast<void>(d);
  tl.registered = true;
}

} // namespace

void* pooled_allocate(std::size_t size)
{
  if (size > max_pooled_size) return ::operator new(size);
  auto c = class_of(size);
  if (auto* b = tl.head[c]) {
    tl.head[c] = b->next;
    --tl.count[c];
    return b;
  }
  return ::operator new(class_size(c));
}

void pooled_deallocate(void* p, std::size_t size) noexcept
{
  if (p == nullptr) return;
  if (size > max_pooled_size) return ::operator delete(p);
  auto c = class_of(size);
  if (tl.closed || tl.count[c] == max_blocks) return ::operator delete(p);
  if (!tl.registered) register_drainer();
  auto* b = static_cast<free_block*>(p);
  b->next = tl.head[c];
  tl.head[c] = b;
  ++tl.count[c];
}

std::size_t pooled_cached(std::size_t size) noexcept { return size > max_pooled_size ? 0 : tl.count[class_of(size)]; }

} // namespace couchkv::io::detail
