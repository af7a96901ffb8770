// io::handler_allocator (the per-thread block cache behind every type-erased handler and every
// kv_response body) and kv_response's ownership of its body.
#include <couchkv/io/handler_allocator.hpp>
#include <couchkv/io/kv_response.hpp>
#include <couchkv/protocol/request.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace couchkv;
namespace d = couchkv::io::detail;

namespace {

// An allocator that counts what goes through it (an application's own).
struct counts {
  int allocations{0};
  int deallocations{0};
};
template <class T>
struct counting_allocator {
  using value_type = T;
  counts* c;
  explicit counting_allocator(counts* cs) : c(cs) {}
  template <class U>
  counting_allocator(const counting_allocator<U>& o) : c(o.c) // NOLINT(google-explicit-constructor)
  {
  }
  T* allocate(std::size_t n)
  {
    ++c->allocations;
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n)
  {
    ++c->deallocations;
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const counting_allocator<U>& o) const
  {
    return c == o.c;
  }
};

// A packet as the decoder hands it over: header plus body (extras, key, value).
struct packet_bytes {
  protocol::byte_buffer bytes;
  protocol::packet_view view;
};
packet_bytes response_with_value(const std::string& value)
{
  packet_bytes p;
  protocol::header h{};
  h.magic_byte = protocol::magic::client_response;
  h.opcode = static_cast<std::uint8_t>(protocol::opcode::get);
  h.extras_len = 4;
  h.body_len = static_cast<std::uint32_t>(4 + value.size());
  h.cas = 42;
  p.bytes.resize(h.body_len);
  p.bytes[3] = std::byte{7}; // flags 7
  if (!value.empty()) std::memcpy(p.bytes.data() + 4, value.data(), value.size());
  p.view.hdr = h;
  p.view.framing_extras = {p.bytes.data(), 0};
  return p;
}

} // namespace

TEST(handler_allocator, a_freed_block_is_the_next_one_of_its_size_on_this_thread)
{
  io::handler_allocator<std::byte> a;
  auto* first = a.allocate(100);
  const auto before = d::pooled_cached(100);
  a.deallocate(first, 100);
  EXPECT_EQ(d::pooled_cached(100), before + 1);
  auto* second = a.allocate(120); // same size class (up to 128 bytes)
  EXPECT_EQ(second, first) << "the block freed last was not reused";
  EXPECT_EQ(d::pooled_cached(100), before);
  a.deallocate(second, 120);
}

TEST(handler_allocator, large_blocks_are_not_kept_and_the_cache_is_bounded)
{
  io::handler_allocator<std::byte> a;
  auto* big = a.allocate(d::max_pooled_size + 1);
  a.deallocate(big, d::max_pooled_size + 1);
  EXPECT_EQ(d::pooled_cached(d::max_pooled_size + 1), 0u);

  // Far more blocks than a thread keeps: the surplus goes back to the heap (LeakSanitizer and
  // ASan see any block lost or freed twice on the way).
  std::vector<std::byte*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(a.allocate(300));
  for (auto* b : blocks) a.deallocate(b, 300);
  const auto kept = d::pooled_cached(300);
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, blocks.size());
  // Taking them all again empties the cache, then allocation carries on from the heap.
  blocks.clear();
  for (std::size_t i = 0; i < kept + 10; ++i) blocks.push_back(a.allocate(300));
  EXPECT_EQ(d::pooled_cached(300), 0u);
  for (auto* b : blocks) a.deallocate(b, 300);
}

TEST(handler_allocator, blocks_may_be_freed_on_another_thread_and_a_thread_gives_its_cache_back)
{
  io::handler_allocator<std::byte> a;
  std::vector<std::byte*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(a.allocate(64));
  std::size_t cached_there = 0;
  std::thread other([&] {
    for (auto* b : blocks) a.deallocate(b, 64);
    cached_there = d::pooled_cached(64);
    // One of them again, on that thread: from its cache.
    auto* again = a.allocate(64);
    EXPECT_EQ(again, blocks.back());
    a.deallocate(again, 64);
  }); // its cache is freed as it ends (LeakSanitizer checks)
  other.join();
  EXPECT_EQ(cached_there, blocks.size());
}

TEST(handler_allocator, a_handler_without_an_allocator_draws_from_the_cache)
{
  int called = 0;
  auto h = [&called, pad = std::string(40, 'x')] { called += pad.size() == 40 ? 1 : 0; };
  { // warm: one block of the handler's size class in the cache
    asio::any_completion_handler<void()> warm(io::with_handler_allocator(h));
    std::move(warm)();
  }
  const auto cached = [] {
    std::size_t n = 0;
    for (std::size_t s = 64; s <= d::max_pooled_size; s *= 2) n += d::pooled_cached(s);
    return n;
  };
  const auto before = cached();
  asio::any_completion_handler<void()> erased(io::with_handler_allocator(h));
  EXPECT_EQ(cached(), before - 1) << "the type-erased handler did not come from the cache";
  std::move(erased)();
  EXPECT_EQ(cached(), before);
  EXPECT_EQ(called, 2);
}

TEST(handler_allocator, an_applications_own_allocator_and_cancellation_slot_are_kept)
{
  counts c;
  int called = 0;
  auto own = asio::bind_allocator(counting_allocator<void>(&c), [&called] { ++called; });
  static_assert(io::detail::has_own_allocator<decltype(own)>);
  {
    asio::any_completion_handler<void()> erased(io::with_handler_allocator(std::move(own)));
    std::move(erased)();
  }
  EXPECT_EQ(called, 1);
  EXPECT_EQ(c.allocations, 1);
  EXPECT_EQ(c.deallocations, 1);

  // Binding ours keeps what the handler is associated with.
  asio::cancellation_signal signal;
  auto bound = io::with_handler_allocator(asio::bind_cancellation_slot(signal.slot(), [] {}));
  EXPECT_TRUE(asio::get_associated_cancellation_slot(bound) == signal.slot());
  static_assert(std::is_same_v<asio::associated_allocator_t<decltype(bound)>, io::handler_allocator<void>>);
}

TEST(kv_response, owns_its_body_and_moves_it_without_copying)
{
  auto p = response_with_value("hello, couchkv");
  io::kv_response r(p.view);
  p.bytes.assign(p.bytes.size(), std::byte{0}); // the read buffer is reused
  EXPECT_EQ(r.value_string(), "hello, couchkv");
  EXPECT_EQ(r.extras().size(), 4u);
  EXPECT_EQ(r.cas(), 42u);

  const auto* body = r.value().data();
  io::kv_response moved(std::move(r));
  EXPECT_EQ(moved.value().data(), body) << "a move copied the body";
  EXPECT_EQ(moved.value_string(), "hello, couchkv");
  EXPECT_TRUE(r.value().empty()); // NOLINT(bugprone-use-after-move): a moved-from response is empty

  io::kv_response copy(moved);
  EXPECT_NE(copy.value().data(), moved.value().data());
  EXPECT_EQ(copy.value_string(), "hello, couchkv");

  io::kv_response assigned;
  assigned = std::move(copy);
  EXPECT_EQ(assigned.value_string(), "hello, couchkv");
  assigned = moved; // copy-assign over a body: the old one is released (ASan)
  EXPECT_EQ(assigned.value_string(), "hello, couchkv");
  EXPECT_NE(assigned.value().data(), moved.value().data());
}

TEST(kv_response, bodies_of_any_size)
{
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, d::max_pooled_size, d::max_pooled_size + 1, std::size_t{1} << 20}) {
    std::string value(n, 'v');
    if (n > 0) value.back() = 'z';
    auto p = response_with_value(value);
    io::kv_response r(p.view);
    EXPECT_EQ(r.value_string(), value) << n << " bytes";
    io::kv_response m(std::move(r));
    EXPECT_EQ(m.value_string(), value) << n << " bytes";
    io::kv_response c(m);
    EXPECT_EQ(c.value_string(), value) << n << " bytes";
  }
  io::kv_response empty;
  EXPECT_TRUE(empty.value().empty());
  EXPECT_TRUE(empty.key().empty());
  io::kv_response empty_copy(empty);
  EXPECT_TRUE(empty_copy.value().empty());
}
