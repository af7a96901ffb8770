#include <couchkv/bucket.hpp>
#include <couchkv/errors.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <stdexcept>

namespace couchkv {

namespace {

// Does this thread run `ex` (a strand's, or the io_context / thread_pool underneath)? Waiting
// there for a completion that must run there is a deadlock.
bool runs_here(const asio::any_io_executor& ex)
{
  if (!ex) return false;
  if (const auto* s = ex.target<asio::strand<asio::any_io_executor>>()) {
    return s->running_in_this_thread() || runs_here(s->get_inner_executor());
  }
  if (const auto* io = ex.target<asio::io_context::executor_type>()) return io->running_in_this_thread();
  if (const auto* tp = ex.target<asio::thread_pool::executor_type>()) return tp->running_in_this_thread();
  return false;
}

} // namespace

bucket::bucket(async_bucket b) : b_(std::move(b))
{
  if (!b_.valid()) throw std::system_error(make_error_code(protocol::client_errc::not_connected), "couchkv::bucket");
}

bucket::bucket(cluster& c, std::string name)
{
  if (runs_here(c.get_executor())) {
    throw std::logic_error("couchkv::bucket: opening a bucket blocks; do not do it from a thread that runs the "
                           "cluster's io_context (use async_bucket there)");
  }
  b_ = c.open_bucket(std::move(name)).get();
}

bool bucket::in_io_thread() const { return runs_here(b_.get_executor()); }

void bucket::check_thread(const char* op) const
{
  if (in_io_thread()) {
    throw std::logic_error(std::string("couchkv::bucket::") + op +
                           " blocks, and this thread runs the bucket's io_context: it would wait for itself; "
                           "use async_bucket from io threads");
  }
}

} // namespace couchkv
