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
  [[nodiscard]] error_context last_error() const { return b_.last_error(); }
  // True when this thread runs the bucket's executor (where blocking calls are refused).
  [[nodiscard]] bool in_io_thread() const;

  get_result get(std::string key, get_options opts = {});
  get_result get_and_touch(std::string key, get_and_touch_options opts);
  get_result get_and_lock(std::string key, get_and_lock_options opts = {});
  get_result get_replica(std::string key, replica_options opts = {});
  mutation_result unlock(std::string key, std::uint64_t cas, common_options opts = {});
  mutation_result touch(std::string key, expiry_time expiry, touch_options opts = {});
  mutation_result upsert(std::string key, document_value value, mutation_options opts = {});
  mutation_result insert(std::string key, document_value value, mutation_options opts = {});
  mutation_result replace(std::string key, document_value value, mutation_options opts = {});
  mutation_result append(std::string key, std::string bytes, mutation_options opts = {});
  mutation_result prepend(std::string key, std::string bytes, mutation_options opts = {});
  mutation_result remove(std::string key, remove_options opts = {});
  counter_result counter(std::string key, std::int64_t delta, counter_options opts = {});
  endure_result endure(mutation_result mutation, endure_options opts);
  observe_result observe(std::string key, common_options opts = {});
  stats_result stats(std::string group = {}, common_options opts = {});

  multi_result<get_result> get_multi(std::vector<std::string> keys, get_options opts = {});
  multi_result<mutation_result> upsert_multi(std::vector<std::pair<std::string, document_value>> items,
                                             mutation_options opts = {});
  multi_result<mutation_result> insert_multi(std::vector<std::pair<std::string, document_value>> items,
                                             mutation_options opts = {});
  multi_result<mutation_result> replace_multi(std::vector<std::pair<std::string, document_value>> items,
                                              mutation_options opts = {});
  multi_result<mutation_result> remove_multi(std::vector<std::string> keys, remove_options opts = {});
  multi_result<counter_result> counter_multi(std::vector<std::string> keys, std::int64_t delta, counter_options opts = {});

  view_result query(view_query q, view_options opts = {});

  void close() { b_.close(); }

private:
  // Throws std::logic_error when this thread runs the bucket's executor.
  void check_thread(const char* op) const;
  async_bucket b_;
};

} // namespace couchkv
