// A blocking bucket for scripts and tools: each operation waits for its result and returns it,
// or throws std::system_error (couchkv::durability_error when a mutation succeeded but its
// durability requirement did not). _multi forms return every key's outcome and throw only when
// nothing could be attempted.
//
//   couchkv::bucket b(cluster);               // opens the connection string's bucket, waits
//   auto r = b.get("user::1");
//
// The io_context must run on another thread: calling from a thread that runs the bucket's
// executor would wait for itself, so that throws std::logic_error instead.
#pragma once
#include <couchkv/async_bucket.hpp>
#include <couchkv/cluster.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace couchkv {

class bucket {
public:
  explicit bucket(async_bucket b); // throws std::system_error (not_connected) for an empty one
  // Opens `name` (empty: the connection string's bucket) and waits for it.
  explicit bucket(cluster& c, std::string name = {});

  [[nodiscard]] async_bucket& async() noexcept { return b_; }
  [[nodiscard]] const std::string& name() const { return b_.name(); }
  // True when this thread runs the bucket's executor (where blocking calls are refused).
  [[nodiscard]] bool in_io_thread() const;

  // The one wait: runs `op` (any async_bucket operation, given the token) and returns its result,
  // or throws its operation_error (durability_error, std::system_error).
  template <class Op>
  auto wait(const char* what, Op&& op)
  {
    check_thread(what);
    return std::forward<Op>(op)(b_).get();
  }
  // Any request type (operations.hpp), as async_bucket::execute.
  template <kv_request Request>
  typename Request::result_type execute(Request r)
  {
    return wait("execute", [&](async_bucket& b) { return b.execute(std::move(r)); });
  }

  // Each returns what the async_bucket operation of the same name gives its future.
  get_result get(std::string key, get_options opts = {}) { return wait("get", [&](async_bucket& b) { return b.get(std::move(key), opts); }); }
  get_result get_and_touch(std::string key, get_and_touch_options opts) { return wait("get_and_touch", [&](async_bucket& b) { return b.get_and_touch(std::move(key), opts); }); }
  get_result get_and_lock(std::string key, get_and_lock_options opts = {}) { return wait("get_and_lock", [&](async_bucket& b) { return b.get_and_lock(std::move(key), opts); }); }
  get_result get_replica(std::string key, replica_options opts = {}) { return wait("get_replica", [&](async_bucket& b) { return b.get_replica(std::move(key), opts); }); }
  mutation_result unlock(std::string key, std::uint64_t cas, common_options opts = {}) { return wait("unlock", [&](async_bucket& b) { return b.unlock(std::move(key), cas, opts); }); }
  mutation_result touch(std::string key, expiry_time expiry, touch_options opts = {}) { return wait("touch", [&](async_bucket& b) { return b.touch(std::move(key), expiry, opts); }); }
  mutation_result upsert(std::string key, document_value value, mutation_options opts = {}) { return wait("upsert", [&](async_bucket& b) { return b.upsert(std::move(key), std::move(value), opts); }); }
  mutation_result insert(std::string key, document_value value, mutation_options opts = {}) { return wait("insert", [&](async_bucket& b) { return b.insert(std::move(key), std::move(value), opts); }); }
  mutation_result replace(std::string key, document_value value, mutation_options opts = {}) { return wait("replace", [&](async_bucket& b) { return b.replace(std::move(key), std::move(value), opts); }); }
  mutation_result append(std::string key, std::string bytes, mutation_options opts = {}) { return wait("append", [&](async_bucket& b) { return b.append(std::move(key), std::move(bytes), opts); }); }
  mutation_result prepend(std::string key, std::string bytes, mutation_options opts = {}) { return wait("prepend", [&](async_bucket& b) { return b.prepend(std::move(key), std::move(bytes), opts); }); }
  mutation_result remove(std::string key, remove_options opts = {}) { return wait("remove", [&](async_bucket& b) { return b.remove(std::move(key), opts); }); }
  counter_result counter(std::string key, std::int64_t delta, counter_options opts = {}) { return wait("counter", [&](async_bucket& b) { return b.counter(std::move(key), delta, opts); }); }
  endure_result endure(mutation_result mutation, endure_options opts) { return wait("endure", [&](async_bucket& b) { return b.endure(std::move(mutation), opts); }); }
  observe_result observe(std::string key, common_options opts = {}) { return wait("observe", [&](async_bucket& b) { return b.observe(std::move(key), opts); }); }
  stats_result stats(std::string group = {}, common_options opts = {}) { return wait("stats", [&](async_bucket& b) { return b.stats(std::move(group), opts); }); }
  key_location locate(std::string key) { return wait("locate", [&](async_bucket& b) { return b.locate(std::move(key)); }); }
  multi_result<get_result> get_multi(std::vector<std::string> keys, get_options opts = {}) { return wait("get_multi", [&](async_bucket& b) { return b.get_multi(std::move(keys), opts); }); }
  multi_result<mutation_result> upsert_multi(std::vector<std::pair<std::string, document_value>> items, mutation_options opts = {}) { return wait("upsert_multi", [&](async_bucket& b) { return b.upsert_multi(std::move(items), opts); }); }
  multi_result<mutation_result> insert_multi(std::vector<std::pair<std::string, document_value>> items, mutation_options opts = {}) { return wait("insert_multi", [&](async_bucket& b) { return b.insert_multi(std::move(items), opts); }); }
  multi_result<mutation_result> replace_multi(std::vector<std::pair<std::string, document_value>> items, mutation_options opts = {}) { return wait("replace_multi", [&](async_bucket& b) { return b.replace_multi(std::move(items), opts); }); }
  multi_result<mutation_result> remove_multi(std::vector<std::string> keys, remove_options opts = {}) { return wait("remove_multi", [&](async_bucket& b) { return b.remove_multi(std::move(keys), opts); }); }
  multi_result<mutation_result> touch_multi(std::vector<std::string> keys, expiry_time expiry, touch_options opts = {}) { return wait("touch_multi", [&](async_bucket& b) { return b.touch_multi(std::move(keys), expiry, opts); }); }
  multi_result<counter_result> counter_multi(std::vector<std::string> keys, std::int64_t delta, counter_options opts = {}) { return wait("counter_multi", [&](async_bucket& b) { return b.counter_multi(std::move(keys), delta, opts); }); }
  multi_result<get_result> get_and_lock_multi(std::vector<std::string> keys, get_and_lock_options opts = {}) { return wait("get_and_lock_multi", [&](async_bucket& b) { return b.get_and_lock_multi(std::move(keys), opts); }); }
  multi_result<mutation_result> unlock_multi(std::vector<std::pair<std::string, std::uint64_t>> keys_and_cas, common_options opts = {}) { return wait("unlock_multi", [&](async_bucket& b) { return b.unlock_multi(std::move(keys_and_cas), opts); }); }
  view_result query(view_query q, view_options opts = {}) { return wait("query", [&](async_bucket& b) { return b.query(std::move(q), opts); }); }

  void close() { b_.close(); }

private:
  // Throws std::logic_error when this thread runs the bucket's executor.
  void check_thread(const char* op) const;
  async_bucket b_;
};

} // namespace couchkv
