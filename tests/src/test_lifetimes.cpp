// Lifetimes (issue 20, item 4): the last bucket handle dropped without close(), and an
// io_context destroyed with operations still pending. Neither may leave an operation that never
// completes, nor connections that live on with nobody to use them.
#include "../support/failure.hpp"

#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>
#include <mock_bucket.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

using namespace couchkv;
using namespace std::chrono_literals;
using couchkv::test::failure_of;
using couchkv::test::mock_options;

namespace {

// An io_context run by its own thread, which the test can stop and destroy at a moment of its
// choosing (test::io_thread cannot).
struct own_io {
  std::unique_ptr<boost::asio::io_context> io = std::make_unique<boost::asio::io_context>();
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{io->get_executor()};
  std::thread thread{[this] { io->run(); }};

  void stop()
  {
    work.reset();
    io->stop();
    if (thread.joinable()) thread.join();
  }
  ~own_io()
  {
    stop();
    io.reset();
  }
};

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 3s)
{
  for (auto end = std::chrono::steady_clock::now() + within; std::chrono::steady_clock::now() < end;) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

} // namespace

// The last handle goes without close(): the operations already started finish normally, then the
// bucket closes its connections. The config poll's timer used to keep the bucket, its connections
// and its polling alive for as long as the io_context ran.
TEST(lifetimes, dropping_the_last_handle_lets_operations_finish_then_closes_the_connections)
{
  mock::cluster m(mock_options(2));
  m.start();
  own_io t;
  {
    cluster c(t.io->get_executor(), m.connection_string() + "?config_poll_interval=50ms", {"default", "password"});
    auto b = c.open_bucket().get();
    b.upsert("k", "{}").get();
    ASSERT_GT(m.stats().kv_connections_open, 0u);
    m.drop_next(0);
    auto pending = b.get("k");
    auto missing = b.get("missing");
    b = async_bucket{}; // the last handle
    EXPECT_EQ(pending.get().value, "{}");
    EXPECT_EQ(failure_of([&] { missing.get(); }).ec, errc::document_not_found);
  }
  EXPECT_TRUE(eventually([&] { return m.stats().kv_connections_open == 0; }))
      << m.stats().kv_connections_open << " KV connections still open";
  const auto requests = m.stats().requests;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(m.stats().requests, requests) << "the bucket still polls for configs";
}

// The io_context is stopped and destroyed while an operation waits for an answer that never
// comes, after the handles were dropped (as Asio requires of I/O objects). The operation's future
// becomes ready (broken_promise: its handler was destroyed uncalled) instead of never; before,
// the operation, its bucket and the connections held each other for ever.
TEST(lifetimes, destroying_the_io_context_with_operations_pending_releases_them)
{
  mock::cluster m(mock_options(1));
  m.start();
  auto t = std::make_unique<own_io>();
  std::future<get_result> pending;
  {
    cluster c(t->io->get_executor(), m.connection_string(), {"default", "password"});
    auto b = c.open_bucket().get();
    b.upsert("k", "{}").get();
    m.drop_next(1000000);
    pending = b.get("k", {.timeout = 60s});
    ASSERT_TRUE(eventually([&] { return m.stats().requests > 0 && pending.wait_for(0s) == std::future_status::timeout; }));
    std::this_thread::sleep_for(50ms); // written and swallowed by the mock
    t->stop();
  } // handles and cluster dropped while nothing runs the context
  t.reset(); // the io_context is destroyed
  ASSERT_EQ(pending.wait_for(2s), std::future_status::ready) << "the operation was kept for ever";
  try {
    pending.get();
    ADD_FAILURE() << "it succeeded";
  } catch (const std::future_error& e) {
    EXPECT_EQ(e.code(), std::future_errc::broken_promise);
  }
  m.drop_next(0);
}
