// Is the calling thread running inside `ex` right now (a handler of that io_context, or of that
// strand)? Then a dispatch to `ex` would run its function at once, and calling it directly skips
// the type-erased wrapping. Knows io_context executors and strands of any_io_executor (what
// couchkv creates); false for anything else, which keeps the caller on the dispatch path.
#pragma once
#include <boost/asio/any_io_executor.hpp>

namespace couchkv::io {

[[nodiscard]] bool running_on(const boost::asio::any_io_executor& ex) noexcept;

} // namespace couchkv::io
