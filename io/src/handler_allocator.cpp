#include <couchkv/io/handler_allocator.hpp>

namespace couchkv::io::detail {

static_assert(pooled_class(1) == 0 && pooled_class(64) == 0 && pooled_class(65) == 1 && pooled_class(128) == 1 &&
              pooled_class(129) == 2 && pooled_class(256) == 2 && pooled_class(257) == 3 &&
              pooled_class(max_pooled_size) == pooled_classes - 1);

thread_local constinit block_cache thread_blocks{};

namespace {

constexpr std::size_t class_size(std::size_t c) noexcept { return std::size_t{64} << c; }

enum class cache_state : unsigned char { unused, open, ended };
thread_local constinit cache_state state = cache_state::unused;

// Frees the thread's blocks when it ends; a block freed after that goes to operator delete.
struct drainer {
  drainer() = default;
  drainer(const drainer&) = delete;
  drainer& operator=(const drainer&) = delete;
  ~drainer()
  {
    state = cache_state::ended;
    auto& t = thread_blocks;
    t.open = false;
    for (std::size_t c = 0; c < pooled_classes; ++c) {
      while (auto* b = t.head[c]) {
        t.head[c] = b->next;
        ::operator delete(b);
      }
      t.count[c] = 0;
    }
  }
};

} // namespace

void* pooled_allocate_slow(std::size_t size)
{
  return ::operator new(size <= max_pooled_size ? class_size(pooled_class(size)) : size);
}

void pooled_deallocate_slow(void* p, std::size_t size) noexcept
{
  if (p == nullptr) return;
  // The class is full, the thread's cache is not open yet (its first block: arrange for the
  // thread's end), or it has ended.
  if (size <= max_pooled_size && state == cache_state::unused) {
    static thread_local drainer d;
    static_cast<void>(d);
    state = cache_state::open;
    thread_blocks.open = true;
    return pooled_deallocate(p, size);
  }
  ::operator delete(p);
}

std::size_t pooled_cached(std::size_t size) noexcept
{
  return size > max_pooled_size ? 0 : thread_blocks.count[pooled_class(size)];
}

} // namespace couchkv::io::detail
