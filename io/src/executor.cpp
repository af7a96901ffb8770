#include <couchkv/io/executor.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace couchkv::io {

bool running_on(const boost::asio::any_io_executor& ex) noexcept
{
  namespace asio = boost::asio;
  if (const auto* io = ex.target<asio::io_context::executor_type>()) return io->running_in_this_thread();
  if (const auto* s = ex.target<asio::strand<asio::any_io_executor>>()) return s->running_in_this_thread();
  return false;
}

} // namespace couchkv::io
