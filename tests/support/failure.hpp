// The facade's failures as a test reads them: the error and the operation's own context.
#pragma once
#include <couchkv/results.hpp>

#include <system_error>
#include <utility>

namespace couchkv::test {

// Runs f (typically `something(...).get()`); returns the error it threw and the failed
// operation's own context (empty when it threw none, or a plain std::system_error).
struct failure {
  std::error_code ec;
  error_context context;
};
template <class F>
failure failure_of(F&& f)
{
  try {
    std::forward<F>(f)();
  } catch (const operation_error& e) {
    return {e.code(), e.context()};
  } catch (const std::system_error& e) {
    return {e.code(), {}};
  }
  return {};
}

} // namespace couchkv::test
