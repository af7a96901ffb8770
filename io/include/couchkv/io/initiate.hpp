// The one initiation of the io layer's asynchronous operations (kv_connection, node_pool,
// http_client): async_initiate, the handler type-erased once (in the thread's handler cache when it
// has no allocator of its own), and the executor it must complete on taken while its type is
// still known (Asio 1.81 cannot post to a type-erased completion executor).
#pragma once
#include <couchkv/io/handler_allocator.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <type_traits>
#include <utility>

namespace couchkv::io::detail {

struct no_associated_executor {};

// Does the handler name an executor of its own (else it completes on the object's)?
template <class Handler>
inline constexpr bool has_own_executor =
    !std::is_same_v<boost::asio::associated_executor_t<Handler, no_associated_executor>, no_associated_executor>;

// start(erased_handler, handler_ex, args...): handler_ex points at the handler's own executor, or
// is null when it has none - it then completes on the object's executor, and no executor is
// copied, stored or compared for it.
template <class Signature, class Token, class Start, class... Args>
auto initiate(Token&& token, Start start, Args&&... args)
{
  return boost::asio::async_initiate<Token, Signature>(
      [start = std::move(start)](auto handler, auto&&... a) mutable {
        using handler_type = decltype(handler);
        if constexpr (has_own_executor<handler_type>) {
          boost::asio::any_io_executor ex = boost::asio::get_associated_executor(handler);
          start(boost::asio::any_completion_handler<Signature>(with_handler_allocator(std::move(handler))), &ex,
                std::forward<decltype(a)>(a)...);
        } else {
          start(boost::asio::any_completion_handler<Signature>(with_handler_allocator(std::move(handler))),
                static_cast<const boost::asio::any_io_executor*>(nullptr), std::forward<decltype(a)>(a)...);
        }
      },
      token, std::forward<Args>(args)...);
}

} // namespace couchkv::io::detail
