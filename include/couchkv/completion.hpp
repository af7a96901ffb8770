// Completion plumbing shared by every public operation: one template per operation in the header
// (async_initiate, so callbacks, couchkv::use_future, asio::use_awaitable and asio::deferred all
// work), and a type-erased handler so the operation itself is compiled once, in a .cpp.
#pragma once
#include <couchkv/io/handler_allocator.hpp>
#include <couchkv/results.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <system_error>
#include <type_traits>
#include <utility>

namespace couchkv {

namespace asio = boost::asio;

// The default completion token: the operation returns std::future<Result>; an error becomes a
// std::system_error thrown from future::get() (its code() is the operation's error_code).
struct use_future_t {};
inline constexpr use_future_t use_future{};

namespace detail {

// Nonzero while this thread is inside an operation's initiating function (initiate() below):
// whatever completes there is posted, so a handler never runs before its initiating call returns.
inline thread_local int initiating = 0;

// Is this thread running inside `ex` (its io_context's thread, or its strand) right now?
[[nodiscard]] bool running_on(const asio::any_io_executor& ex) noexcept;

// A type-erased handler plus the executor it must run on (taken while its type was known: Asio
// 1.81 cannot post to a type-erased completion executor).
template <class Signature>
class completion;

template <class... Args>
class completion<void(std::error_code, Args...)> {
public:
  using signature = void(std::error_code, Args...);
  completion(asio::any_completion_handler<signature> h, asio::any_io_executor ex)
      : handler_(std::move(h)), executor_(std::move(ex))
  {
  }
  // Runs the handler at once when that is what dispatch would do (this thread is in the handler's
  // executor) and the operation's initiating call has returned; otherwise posts it. Completing
  // from the read loop of the connection (the common case) thus costs no trip through the
  // scheduler, and requests the handler starts there leave in the same write.
  void operator()(std::error_code ec, Args... args) &&
  {
    if (initiating == 0 && running_on(executor_)) {
      std::move(handler_)(ec, std::move(args)...);
      return;
    }
    auto ex = executor_;
    asio::post(ex, [h = std::move(handler_), ec, ... a = std::move(args)]() mutable { std::move(h)(ec, std::move(a)...); });
  }
  [[nodiscard]] asio::cancellation_slot cancellation_slot() const noexcept
  {
    return asio::get_associated_cancellation_slot(handler_);
  }

private:
  asio::any_completion_handler<signature> handler_;
  asio::any_io_executor executor_;
};

template <class Signature, class Token, class Start, class... Args>
auto initiate(Token&& token, const asio::any_io_executor& fallback, Start start, Args&&... args)
{
  return asio::async_initiate<Token, Signature>(
      [fallback, start](auto handler, auto&&... a) mutable {
        asio::any_io_executor ex = asio::get_associated_executor(handler, fallback);
        struct guard {
          guard() noexcept { ++initiating; }
          ~guard() { --initiating; }
          guard(const guard&) = delete;
          guard& operator=(const guard&) = delete;
        } g;
        // Type-erased once, in the thread's handler cache when the handler has no allocator.
        asio::any_completion_handler<Signature> erased(io::with_handler_allocator(std::move(handler)));
        start(completion<Signature>(std::move(erased), std::move(ex)), std::forward<decltype(a)>(a)...);
      },
      token, std::forward<Args>(args)...);
}

} // namespace detail
} // namespace couchkv

template <class Result>
struct boost::asio::async_result<couchkv::use_future_t, void(std::error_code, Result)> {
  using return_type = std::future<Result>;
  template <class Initiation, class... InitArgs>
  static return_type initiate(Initiation&& initiation, couchkv::use_future_t, InitArgs&&... args)
  {
    auto promise = std::make_shared<std::promise<Result>>();
    auto future = promise->get_future();
    std::forward<Initiation>(initiation)(
        [promise](std::error_code ec, Result r) {
          if (!ec) {
            promise->set_value(std::move(r));
            return;
          }
          if constexpr (requires { r.durability; r.cas; r.token; }) {
            if (r.durability) {
              promise->set_exception(std::make_exception_ptr(couchkv::durability_error(
                  ec, std::move(r.key), r.cas, r.token, std::move(*r.durability), std::move(r.context))));
              return;
            }
          } else if constexpr (requires { r.durability.met; r.cas; }) {
            promise->set_exception(std::make_exception_ptr(couchkv::durability_error(
                ec, std::move(r.key), r.cas, std::nullopt, std::move(r.durability), std::move(r.context))));
            return;
          }
          if constexpr (requires { r.context.server_message; }) {
            promise->set_exception(std::make_exception_ptr(couchkv::operation_error(ec, std::move(r.context))));
          } else if constexpr (requires { r.meta.error_detail; }) { // view_result
            promise->set_exception(std::make_exception_ptr(std::system_error(ec, r.meta.error_detail)));
          } else if constexpr (requires { r.error_detail; }) { // view_meta, design_document
            promise->set_exception(std::make_exception_ptr(std::system_error(ec, r.error_detail)));
          } else if constexpr (std::is_same_v<Result, std::string>) { // a design document's ack: the detail
            promise->set_exception(std::make_exception_ptr(std::system_error(ec, r)));
          } else {
            promise->set_exception(std::make_exception_ptr(std::system_error(ec)));
          }
        },
        std::forward<InitArgs>(args)...);
    return future;
  }
};
