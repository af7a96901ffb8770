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

get_result bucket::get(std::string key, get_options opts)
{
  check_thread("get");
  return b_.get(std::move(key), opts).get();
}
get_result bucket::get_and_touch(std::string key, get_and_touch_options opts)
{
  check_thread("get_and_touch");
  return b_.get_and_touch(std::move(key), opts).get();
}
get_result bucket::get_and_lock(std::string key, get_and_lock_options opts)
{
  check_thread("get_and_lock");
  return b_.get_and_lock(std::move(key), opts).get();
}
get_result bucket::get_replica(std::string key, replica_options opts)
{
  check_thread("get_replica");
  return b_.get_replica(std::move(key), opts).get();
}
mutation_result bucket::unlock(std::string key, std::uint64_t cas, common_options opts)
{
  check_thread("unlock");
  return b_.unlock(std::move(key), cas, opts).get();
}
mutation_result bucket::touch(std::string key, expiry_time expiry, touch_options opts)
{
  check_thread("touch");
  return b_.touch(std::move(key), expiry, opts).get();
}
mutation_result bucket::upsert(std::string key, document_value value, mutation_options opts)
{
  check_thread("upsert");
  return b_.upsert(std::move(key), std::move(value), opts).get();
}
mutation_result bucket::insert(std::string key, document_value value, mutation_options opts)
{
  check_thread("insert");
  return b_.insert(std::move(key), std::move(value), opts).get();
}
mutation_result bucket::replace(std::string key, document_value value, mutation_options opts)
{
  check_thread("replace");
  return b_.replace(std::move(key), std::move(value), opts).get();
}
mutation_result bucket::append(std::string key, std::string bytes, mutation_options opts)
{
  check_thread("append");
  return b_.append(std::move(key), std::move(bytes), opts).get();
}
mutation_result bucket::prepend(std::string key, std::string bytes, mutation_options opts)
{
  check_thread("prepend");
  return b_.prepend(std::move(key), std::move(bytes), opts).get();
}
mutation_result bucket::remove(std::string key, remove_options opts)
{
  check_thread("remove");
  return b_.remove(std::move(key), opts).get();
}
counter_result bucket::counter(std::string key, std::int64_t delta, counter_options opts)
{
  check_thread("counter");
  return b_.counter(std::move(key), delta, opts).get();
}
endure_result bucket::endure(mutation_result mutation, endure_options opts)
{
  check_thread("endure");
  return b_.endure(std::move(mutation), opts).get();
}
observe_result bucket::observe(std::string key, common_options opts)
{
  check_thread("observe");
  return b_.observe(std::move(key), opts).get();
}
stats_result bucket::stats(std::string group, common_options opts)
{
  check_thread("stats");
  return b_.stats(std::move(group), opts).get();
}
multi_result<get_result> bucket::get_multi(std::vector<std::string> keys, get_options opts)
{
  check_thread("get_multi");
  return b_.get_multi(std::move(keys), opts).get();
}
multi_result<mutation_result> bucket::upsert_multi(std::vector<std::pair<std::string, document_value>> items,
                                                   mutation_options opts)
{
  check_thread("upsert_multi");
  return b_.upsert_multi(std::move(items), opts).get();
}
multi_result<mutation_result> bucket::insert_multi(std::vector<std::pair<std::string, document_value>> items,
                                                   mutation_options opts)
{
  check_thread("insert_multi");
  return b_.insert_multi(std::move(items), opts).get();
}
multi_result<mutation_result> bucket::replace_multi(std::vector<std::pair<std::string, document_value>> items,
                                                    mutation_options opts)
{
  check_thread("replace_multi");
  return b_.replace_multi(std::move(items), opts).get();
}
multi_result<mutation_result> bucket::remove_multi(std::vector<std::string> keys, remove_options opts)
{
  check_thread("remove_multi");
  return b_.remove_multi(std::move(keys), opts).get();
}
multi_result<counter_result> bucket::counter_multi(std::vector<std::string> keys, std::int64_t delta, counter_options opts)
{
  check_thread("counter_multi");
  return b_.counter_multi(std::move(keys), delta, opts).get();
}
view_result bucket::query(view_query q, view_options opts)
{
  check_thread("query");
  return b_.query(std::move(q), opts).get();
}

} // namespace couchkv
