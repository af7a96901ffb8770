// Shared by the tests that drive Asio from a test thread: an io_context on its own thread, and
// the error a future-returning call throws.
#pragma once
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <system_error>
#include <thread>
#include <utility>

namespace couchkv::test {

// An io_context running on its own thread for the duration of a test.
struct io_thread {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~io_thread()
  {
    guard.reset();
    io.stop();
    thread.join();
  }
};

// Runs f (typically `something(...).get()`); returns the error it threw, or none.
template <class F>
std::error_code error_of(F&& f)
{
  try {
    std::forward<F>(f)();
  } catch (const std::system_error& e) {
    return e.code();
  }
  return {};
}

} // namespace couchkv::test
