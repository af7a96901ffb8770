// The cost of the completion token (issue 9): the same sequential GET through the facade against the
// embedded mock, completed by a std::future (the default), a callback, and a C++20 coroutine
// (asio::use_awaitable), side by side in one run. Each row reports the mean per operation and its
// ratio to the callback row. Run it pinned (`taskset -c 1`): client and mock then share one vCPU,
// so the per-operation figures include the mock's work, which is the same in every row.
//
//   bench_tokens [ops]
#include <couchkv/cluster.hpp>
#include <couchkv_mock/cluster.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

using namespace couchkv;
using clk = std::chrono::steady_clock;

int main(int argc, char** argv)
{
  const int ops = argc > 1 ? std::atoi(argv[1]) : 20000;
  mock::cluster_options o;
  o.nodes = 1;
  o.vbuckets = 64;
  mock::cluster m(o);
  m.start();
  asio::io_context io{1};
  auto guard = asio::make_work_guard(io);
  std::thread t([&] { io.run(); });
  cluster c(io.get_executor(), m.connection_string(), credentials{"default", "password"});
  auto b = c.open_bucket().get();
  b.upsert("bench::token", R"({"v":1})").get();

  auto per_op_us = [&](auto&& run) {
    run(ops / 10); // warm up
    auto t0 = clk::now();
    run(ops);
    return std::chrono::duration<double, std::micro>(clk::now() - t0).count() / ops;
  };

  const double future_us = per_op_us([&](int n) {
    for (int i = 0; i < n; ++i) b.get("bench::token").get();
  });
  const double callback_us = per_op_us([&](int n) {
    std::promise<void> done;
    std::function<void(int)> next = [&](int left) {
      if (left == 0) return done.set_value();
      b.get("bench::token", {}, [&, left](std::error_code ec, get_result) {
        if (ec) std::abort();
        next(left - 1);
      });
    };
    next(n);
    done.get_future().get();
  });
  const double coroutine_us = per_op_us([&](int n) {
    std::promise<void> done;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < n; ++i) {
            auto [ec, r] = co_await b.get("bench::token", {}, asio::as_tuple(asio::use_awaitable));
            if (ec) std::abort();
          }
          done.set_value();
        },
        asio::detached);
    done.get_future().get();
  });

  std::printf("sequential GET through async_bucket against the in-process mock, %d ops (mean per op)\n", ops);
  std::printf("  %-26s %8.2f us   ratio to callback %.2f\n", "callback", callback_us, 1.0);
  std::printf("  %-26s %8.2f us   ratio to callback %.2f\n", "coroutine (use_awaitable)", coroutine_us, coroutine_us / callback_us);
  std::printf("  %-26s %8.2f us   ratio to callback %.2f\n", "future (default token)", future_us, future_us / callback_us);
  b.close();
  guard.reset();
  t.join();
  m.stop();
  return 0;
}
