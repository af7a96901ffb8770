// Compile check: every public header on its own terms, in a translation unit of a user's program,
// built as a user builds it (tests/src/CMakeLists.txt): a leak fails the build. Asio is compiled
// once inside couchkv::io (separate compilation, with defines private to couchkv's own targets);
// a public header that pulls in Asio's implementation (boost/asio/impl/src.hpp) would compile it
// again in every user's TU and clash at link time, and a user must not need couchkv's defines.
#include <couchkv/async_bucket.hpp>
#include <couchkv/bucket.hpp>
#include <couchkv/cluster.hpp>
#include <couchkv/completion.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/options.hpp>
#include <couchkv/results.hpp>
#include <couchkv/retry_reason.hpp>
#include <couchkv/transcoder.hpp>
#include <couchkv/version.hpp>
#include <couchkv/views.hpp>

#include <type_traits>
#include <utility>

#ifdef BOOST_ASIO_IMPL_SRC_HPP
#error "a public couchkv header includes <boost/asio/impl/src.hpp>: Asio must be compiled only inside couchkv::io"
#endif
#ifdef BOOST_BEAST_SRC_HPP
#error "a public couchkv header includes <boost/beast/src.hpp>: Beast must be compiled only inside couchkv::io"
#endif
#ifdef BOOST_ASIO_SEPARATE_COMPILATION
#error "couchkv must not force BOOST_ASIO_SEPARATE_COMPILATION on its users: keep it private"
#endif

namespace {
// An expiry from a duration of unsigned ticks is that duration (the clamp once negated it).
static_assert(couchkv::expiry_time(std::chrono::duration<unsigned>(5)).value() == std::chrono::seconds(5));
static_assert(couchkv::expiry_time(std::chrono::duration<int>(-5)).value() == std::chrono::seconds(-5));

// Something from each header must be usable, not just parse.
[[maybe_unused]] void uses_the_headers(couchkv::async_bucket& b)
{
  static_assert(std::is_same_v<decltype(b.get("k")), std::future<couchkv::get_result>>);
  static_assert(std::is_same_v<decltype(b.observe("k")), std::future<couchkv::observe_result>>);
  static_assert(std::is_same_v<decltype(b.stats()), std::future<couchkv::stats_result>>);
  static_assert(std::is_same_v<decltype(b.counter_multi({}, 1)), std::future<couchkv::multi_result<couchkv::counter_result>>>);
  static_assert(std::is_same_v<decltype(std::declval<couchkv::bucket&>().get("k")), couchkv::get_result>);
}
} // namespace
