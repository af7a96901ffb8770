// The bucket: every KV operation of the Python SDK 2.x Bucket/AsyncBucket, each one function with
// a completion token. The default token returns std::future<Result>:
//
//   auto r = bucket.get("user::1").get();                               // future
//   bucket.upsert("k", R"({"a":1})", {}, [](std::error_code ec, couchkv::mutation_result r) {});
//   auto [ec, r] = co_await bucket.get("k", {}, asio::as_tuple(asio::use_awaitable));
//
// Routing (vBucket or ketama), retries (NOT_MY_VBUCKET, TMPFAIL, connection loss for reads) and
// live topology happen inside. A failure carries its own error_context (key, operation, status,
// node, retries, the server's words, elapsed time): in the result (`r.context`) for a callback or
// coroutine, in the operation_error a future throws, in each key's outcome of a _multi form.
// Every KV operation is a request type (operations.hpp) handed to one generic path, execute().
// Safe to call from any thread.
#pragma once
#include <couchkv/completion.hpp>
#include <couchkv/detail/operation.hpp>
#include <couchkv/operations.hpp>
#include <couchkv/options.hpp>
#include <couchkv/results.hpp>
#include <couchkv/transcoder.hpp>
#include <couchkv/views.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv {

namespace detail {
class bucket_impl;
}

// Keys the caller owns and keeps alive, unchanged, until the operation completes (as Asio's
// buffers): get_multi_each then copies no key. Explicit, so that the call site says so.
class borrowed_keys {
public:
  explicit borrowed_keys(std::span<const std::string_view> keys) noexcept : keys_(keys) {}
  [[nodiscard]] std::span<const std::string_view> keys() const noexcept { return keys_; }

private:
  std::span<const std::string_view> keys_;
};

class async_bucket {
public:
  using get_signature = void(std::error_code, get_result);
  using mutation_signature = void(std::error_code, mutation_result);
  using counter_signature = void(std::error_code, counter_result);
  using multi_get_signature = void(std::error_code, multi_result<get_result>);
  // get_multi_each: called once per key with its answer or its error (see get_view).
  using get_each_callback = std::function<void(std::error_code, const get_view&)>;
  // get_multi_each's completion: how many keys were found.
  using multi_each_signature = void(std::error_code, std::size_t);
  using multi_mutation_signature = void(std::error_code, multi_result<mutation_result>);
  using endure_signature = void(std::error_code, endure_result);
  using multi_endure_signature = void(std::error_code, multi_result<endure_result>);
  using multi_counter_signature = void(std::error_code, multi_result<counter_result>);
  using observe_signature = void(std::error_code, observe_result);
  using multi_observe_signature = void(std::error_code, multi_result<observe_result>);
  using stats_signature = void(std::error_code, stats_result);
  using locate_signature = void(std::error_code, key_location);
  using view_signature = void(std::error_code, view_result);
  using view_stream_signature = void(std::error_code, view_meta);
  using design_document_signature = void(std::error_code, design_document);
  using design_documents_signature = void(std::error_code, std::vector<design_document>);
  // "_design/<name>"; on failure what went wrong (the server's words where it gave any).
  using design_ack_signature = void(std::error_code, std::string);
  // Receives streamed rows in order, on the bucket's strand (do not block in it); return false to stop.
  using view_row_handler = std::function<bool(view_row&&)>;

  async_bucket() = default;
  // The first handle of an open bucket (cluster::open_bucket makes it). Copies share it; when the
  // last copy is gone the bucket stops its background work, lets the operations in flight finish
  // and then closes its connections (close() instead cancels them at once). Destroy the handles
  // before the execution context, as any Asio I/O object; a context destroyed with operations
  // still pending (its threads stopped) destroys their handlers uncalled (a future then reports
  // broken_promise) rather than keeping them for ever.
  explicit async_bucket(std::shared_ptr<detail::bucket_impl> impl);

  [[nodiscard]] const std::string& name() const;
  [[nodiscard]] asio::any_io_executor get_executor() const;
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(impl_); }

  // The retry strategy of operations that do not set their own `retry` option (see
  // retry_strategy in options.hpp; the connection string's retry_strategy= sets it first).
  // Any thread; operations started after it returns use it.
  void set_retry_strategy(retry_strategy s);
  [[nodiscard]] retry_strategy default_retry_strategy() const;
  // The data nodes open_bucket could not connect to (a node down, a node that refused the
  // credentials, ...). open_bucket completes when every data node has a connection up or has
  // failed its first attempts; it fails when none came up, and otherwise opens with the rest and
  // lists the others here. Operations for their vBuckets wait for them (or fail at once with
  // authentication_failure when the node refused the credentials).
  [[nodiscard]] const std::vector<node_problem>& unreachable_nodes() const;

  // Runs one request (operations.hpp): routing, deadline, retries, durability follow-up. Every
  // single-key operation below is this with its request type.
  template <kv_request Request, class Token = use_future_t>
  auto execute(Request request, Token&& token = {})
  {
    return asio::async_initiate<Token, void(std::error_code, typename Request::result_type)>(
        [impl = impl_](auto handler, Request r) { detail::start_request(impl, std::move(r), std::move(handler)); },
        token, std::move(request));
  }

  // Runs many requests at once; completes once with every key's outcome (its result or its
  // error, with its context; for a mutation whose durability failed, both). The operation's own
  // error_code is set only when nothing could be attempted.
  template <kv_request Request, class Token = use_future_t>
  auto execute_multi(std::vector<Request> requests, Token&& token = {})
  {
    using signature = void(std::error_code, multi_result<typename Request::result_type>);
    return detail::initiate<signature>(std::forward<Token>(token), get_executor(),
                                       [impl = impl_](auto done, std::vector<Request> rs) {
                                         start_multi(impl, std::move(rs), std::move(done));
                                       },
                                       std::move(requests));
  }

  template <class Token = use_future_t>
  auto get(std::string key, get_options opts = {}, Token&& token = {})
  {
    return execute(get_request{std::move(key), opts}, std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto get_and_touch(std::string key, get_and_touch_options opts, Token&& token = {})
  {
    return execute(get_and_touch_request{std::move(key), opts}, std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto get_and_lock(std::string key, get_and_lock_options opts = {}, Token&& token = {})
  {
    return execute(get_and_lock_request{std::move(key), opts}, std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto get_replica(std::string key, replica_options opts = {}, Token&& token = {})
  {
    return execute(get_replica_request{std::move(key), opts}, std::forward<Token>(token));
  }
  // `cas` is the lock CAS get_and_lock returned; 0 is refused (invalid_argument, nothing sent).
  template <class Token = use_future_t>
  auto unlock(std::string key, std::uint64_t cas, common_options opts = {}, Token&& token = {})
  {
    return execute(unlock_request{std::move(key), cas, opts}, std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto touch(std::string key, expiry_time expiry, touch_options opts = {}, Token&& token = {})
  {
    return execute(touch_request{std::move(key), expiry, opts}, std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto upsert(std::string key, document_value value, mutation_options opts = {}, Token&& token = {})
  {
    return execute(store_request{store_mode::upsert, std::move(key), std::move(value), opts}, std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto insert(std::string key, document_value value, mutation_options opts = {}, Token&& token = {})
  {
    return execute(store_request{store_mode::insert, std::move(key), std::move(value), opts}, std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto replace(std::string key, document_value value, mutation_options opts = {}, Token&& token = {})
  {
    return execute(store_request{store_mode::replace, std::move(key), std::move(value), opts}, std::forward<Token>(token));
  }
  // append/prepend take raw bytes (the document's format does not change).
  template <class Token = use_future_t>
  auto append(std::string key, std::string bytes, mutation_options opts = {}, Token&& token = {})
  {
    return execute(store_request{store_mode::append, std::move(key), binary(std::move(bytes)), opts},
                   std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto prepend(std::string key, std::string bytes, mutation_options opts = {}, Token&& token = {})
  {
    return execute(store_request{store_mode::prepend, std::move(key), binary(std::move(bytes)), opts},
                   std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto remove(std::string key, remove_options opts = {}, Token&& token = {})
  {
    return execute(remove_request{std::move(key), opts}, std::forward<Token>(token));
  }
  // delta > 0 increments, < 0 decrements (floors at 0).
  template <class Token = use_future_t>
  auto counter(std::string key, std::int64_t delta, counter_options opts = {}, Token&& token = {})
  {
    return execute(counter_request{std::move(key), delta, opts}, std::forward<Token>(token));
  }

  // _multi forms: every key gets its result or its error; the operation's own error_code is set
  // only when nothing could be attempted.
  template <class Token = use_future_t>
  auto get_multi(std::vector<std::string> keys, get_options opts = {}, Token&& token = {})
  {
    return detail::initiate<multi_get_signature>(std::forward<Token>(token), get_executor(),
                                                 [impl = impl_](auto done, std::vector<std::string> k, get_options o) {
                                                   start_get_multi(impl, std::move(k), o, std::move(done));
                                                 },
                                                 std::move(keys), opts);
  }
  // get_multi without a result map: `on_each` runs once per key, on the bucket's executor, as its
  // answer arrives (value and metadata as views valid during the call only, nothing copied per
  // key) or with its error; the operation completes after the last key with how many were found.
  // A key given twice is read twice. Retries, timeouts and errors per key are get()'s. The
  // operation's own error_code is set only when nothing could be attempted (no bucket).
  template <class Token = use_future_t>
  auto get_multi_each(std::vector<std::string> keys, get_each_callback on_each, get_options opts = {},
                      Token&& token = {})
  {
    return detail::initiate<multi_each_signature>(
        std::forward<Token>(token), get_executor(),
        [impl = impl_](auto done, std::vector<std::string> k, get_each_callback cb, get_options o) {
          start_get_multi_each(impl, std::move(k), std::move(cb), o, std::move(done));
        },
        std::move(keys), std::move(on_each), opts);
  }
  // The same with keys the caller keeps alive until the completion (the views themselves too).
  template <class Token = use_future_t>
  auto get_multi_each(borrowed_keys keys, get_each_callback on_each, get_options opts = {}, Token&& token = {})
  {
    return detail::initiate<multi_each_signature>(
        std::forward<Token>(token), get_executor(),
        [impl = impl_](auto done, borrowed_keys k, get_each_callback cb, get_options o) {
          start_get_multi_each(impl, k, std::move(cb), o, std::move(done));
        },
        keys, std::move(on_each), opts);
  }
  template <class Token = use_future_t>
  auto upsert_multi(std::vector<std::pair<std::string, document_value>> items, mutation_options opts = {},
                    Token&& token = {})
  {
    return execute_multi(stores(store_mode::upsert, std::move(items), opts), std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto insert_multi(std::vector<std::pair<std::string, document_value>> items, mutation_options opts = {},
                    Token&& token = {})
  {
    return execute_multi(stores(store_mode::insert, std::move(items), opts), std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto replace_multi(std::vector<std::pair<std::string, document_value>> items, mutation_options opts = {},
                     Token&& token = {})
  {
    return execute_multi(stores(store_mode::replace, std::move(items), opts), std::forward<Token>(token));
  }
  // key -> raw bytes, as append().
  template <class Token = use_future_t>
  auto append_multi(std::vector<std::pair<std::string, std::string>> items, mutation_options opts = {},
                    Token&& token = {})
  {
    return execute_multi(stores(store_mode::append, as_binary(std::move(items)), opts), std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto prepend_multi(std::vector<std::pair<std::string, std::string>> items, mutation_options opts = {},
                     Token&& token = {})
  {
    return execute_multi(stores(store_mode::prepend, as_binary(std::move(items)), opts), std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto remove_multi(std::vector<std::string> keys, remove_options opts = {}, Token&& token = {})
  {
    return execute_multi(each<remove_request>(std::move(keys), opts), std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto touch_multi(std::vector<std::string> keys, expiry_time expiry, touch_options opts = {}, Token&& token = {})
  {
    return execute_multi(each<touch_request>(std::move(keys), expiry, opts), std::forward<Token>(token));
  }
  // The same delta (and options) for every key.
  template <class Token = use_future_t>
  auto counter_multi(std::vector<std::string> keys, std::int64_t delta, counter_options opts = {}, Token&& token = {})
  {
    return execute_multi(each<counter_request>(std::move(keys), delta, opts), std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto get_and_touch_multi(std::vector<std::string> keys, get_and_touch_options opts, Token&& token = {})
  {
    return execute_multi(each<get_and_touch_request>(std::move(keys), opts), std::forward<Token>(token));
  }
  // get_and_lock for every key; each result's cas is that key's lock CAS (for unlock_multi).
  template <class Token = use_future_t>
  auto get_and_lock_multi(std::vector<std::string> keys, get_and_lock_options opts = {}, Token&& token = {})
  {
    return execute_multi(each<get_and_lock_request>(std::move(keys), opts), std::forward<Token>(token));
  }
  // key -> lock CAS (0: that key fails with invalid_argument, as unlock()).
  template <class Token = use_future_t>
  auto unlock_multi(std::vector<std::pair<std::string, std::uint64_t>> keys_and_cas, common_options opts = {},
                    Token&& token = {})
  {
    std::vector<unlock_request> rs;
    rs.reserve(keys_and_cas.size());
    for (auto& [k, cas] : keys_and_cas) rs.push_back(unlock_request{std::move(k), cas, opts});
    return execute_multi(std::move(rs), std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto get_replica_multi(std::vector<std::string> keys, replica_options opts = {}, Token&& token = {})
  {
    return execute_multi(each<get_replica_request>(std::move(keys), opts), std::forward<Token>(token));
  }

  // OBSERVE (the Python SDK 2.x `observe`): asks the vBucket's master and every replica at once
  // what they hold of the key. One entry per node that answered, the master first; a replica
  // that fails is left out, a failing master fails the operation. Memcached buckets:
  // feature_not_available.
  template <class Token = use_future_t>
  auto observe(std::string key, common_options opts = {}, Token&& token = {})
  {
    return detail::initiate<observe_signature>(std::forward<Token>(token), get_executor(),
                                               [impl = impl_](auto done, std::string k, common_options o) {
                                                 start_observe(impl, std::move(k), o, std::move(done));
                                               },
                                               std::move(key), opts);
  }
  template <class Token = use_future_t>
  auto observe_multi(std::vector<std::string> keys, common_options opts = {}, Token&& token = {})
  {
    return detail::initiate<multi_observe_signature>(
        std::forward<Token>(token), get_executor(),
        [impl = impl_](auto done, std::vector<std::string> k, common_options o) {
          start_observe_multi(impl, std::move(k), o, std::move(done));
        },
        std::move(keys), opts);
  }

  // STAT to every data node: endpoint -> statistic -> value. `group` "" is the default group
  // ("memory", "timings", ...). A node that fails appears with one entry, "couchkv.error", saying
  // why; the operation fails only when no node answered.
  template <class Token = use_future_t>
  auto stats(std::string group = {}, common_options opts = {}, Token&& token = {})
  {
    return detail::initiate<stats_signature>(std::forward<Token>(token), get_executor(),
                                             [impl = impl_](auto done, std::string g, common_options o) {
                                               start_stats(impl, std::move(g), o, std::move(done));
                                             },
                                             std::move(group), opts);
  }

  // Where `key` routes now (libcouchbase's `cbc hash`): its vBucket and the KV endpoints of its
  // master and replicas, from the config the client holds; nothing is sent, and the answer is
  // only as fresh as that config. Errors: key_empty / key_too_long, not_connected (no bucket, or
  // no config yet).
  template <class Token = use_future_t>
  auto locate(std::string key, Token&& token = {})
  {
    return detail::initiate<locate_signature>(std::forward<Token>(token), get_executor(),
                                              [impl = impl_](auto done, std::string k) {
                                                start_locate(impl, std::move(k), std::move(done));
                                              },
                                              std::move(key));
  }

  // Waits until a mutation is durable (the Python SDK 2.x `endure`): polls the master and the
  // replicas with OBSERVE_SEQNO when the result carries a mutation token, OBSERVE with its CAS
  // otherwise. Errors: durability_impossible (asked for more than the bucket/map has),
  // durability_mutation_lost (a failover rolled it back), durability_mutation_replaced (CAS
  // changed), durability_timeout (the result's durability.detail says what was met).
  template <class Token = use_future_t>
  auto endure(mutation_result mutation, endure_options opts, Token&& token = {})
  {
    return detail::initiate<endure_signature>(std::forward<Token>(token), get_executor(),
                                              [impl = impl_](auto done, mutation_result m, endure_options o) {
                                                start_endure(impl, std::move(m), o, std::move(done));
                                              },
                                              std::move(mutation), opts);
  }
  // By CAS only (no mutation token): OBSERVE polling; cas 0 accepts any version.
  template <class Token = use_future_t>
  auto endure(std::string key, std::uint64_t cas, endure_options opts, Token&& token = {})
  {
    return endure(mutation_result{std::move(key), cas, std::nullopt, std::nullopt}, opts, std::forward<Token>(token));
  }
  template <class Token = use_future_t>
  auto endure_multi(std::vector<mutation_result> mutations, endure_options opts, Token&& token = {})
  {
    return detail::initiate<multi_endure_signature>(
        std::forward<Token>(token), get_executor(),
        [impl = impl_](auto done, std::vector<mutation_result> m, endure_options o) {
          start_endure_multi(impl, std::move(m), o, std::move(done));
        },
        std::move(mutations), opts);
  }

  // Views (HTTP to a node running the views service; round robin, another node when one is down).
  // Errors: view_errc (design_document_not_found, view_not_found, query_rejected, server_error,
  // malformed/truncated_response) or client_errc (timeout, connection_failed, ...); the result's
  // meta.error_detail has the server's words. Partial failures (on_error=continue) are in meta.errors.
  template <class Token = use_future_t>
  auto query(view_query q, view_options opts = {}, Token&& token = {})
  {
    return detail::initiate<view_signature>(std::forward<Token>(token), get_executor(),
                                            [impl = impl_](auto done, view_query vq, view_options o) {
                                              start_query(impl, std::move(vq), o, std::move(done));
                                            },
                                            std::move(q), opts);
  }
  // Streaming form: rows go to on_row as they arrive, never all held in memory; completes with
  // total_rows / errors / debug_info. With include_docs, a row waits only for its own document.
  template <class Token = use_future_t>
  auto query_stream(view_query q, view_row_handler on_row, view_options opts = {}, Token&& token = {})
  {
    return detail::initiate<view_stream_signature>(
        std::forward<Token>(token), get_executor(),
        [impl = impl_](auto done, view_query vq, view_row_handler h, view_options o) {
          start_query_stream(impl, std::move(vq), std::move(h), o, std::move(done));
        },
        std::move(q), std::move(on_row), opts);
  }

  // Design documents. Names are given without "_design/"; development ones start with "dev_".
  template <class Token = use_future_t>
  auto get_design_document(std::string name, view_options opts = {}, Token&& token = {})
  {
    return detail::initiate<design_document_signature>(std::forward<Token>(token), get_executor(),
                                                       [impl = impl_](auto done, std::string n, view_options o) {
                                                         start_get_design_document(impl, std::move(n), o, std::move(done));
                                                       },
                                                       std::move(name), opts);
  }
  template <class Token = use_future_t>
  auto upsert_design_document(design_document doc, view_options opts = {}, Token&& token = {})
  {
    return detail::initiate<design_ack_signature>(std::forward<Token>(token), get_executor(),
                                                  [impl = impl_](auto done, design_document d, view_options o) {
                                                    start_upsert_design_document(impl, std::move(d), o, std::move(done));
                                                  },
                                                  std::move(doc), opts);
  }
  template <class Token = use_future_t>
  auto remove_design_document(std::string name, view_options opts = {}, Token&& token = {})
  {
    return detail::initiate<design_ack_signature>(std::forward<Token>(token), get_executor(),
                                                  [impl = impl_](auto done, std::string n, view_options o) {
                                                    start_remove_design_document(impl, std::move(n), o, std::move(done));
                                                  },
                                                  std::move(name), opts);
  }
  // Every design document of the bucket (the management API's list).
  template <class Token = use_future_t>
  auto list_design_documents(view_options opts = {}, Token&& token = {})
  {
    return detail::initiate<design_documents_signature>(std::forward<Token>(token), get_executor(),
                                                        [impl = impl_](auto done, view_options o) {
                                                          start_list_design_documents(impl, o, std::move(done));
                                                        },
                                                        opts);
  }
  // Copies "dev_<name>" to "<name>" (production) and removes the development copy.
  template <class Token = use_future_t>
  auto publish_design_document(std::string name, view_options opts = {}, Token&& token = {})
  {
    return detail::initiate<design_ack_signature>(std::forward<Token>(token), get_executor(),
                                                  [impl = impl_](auto done, std::string n, view_options o) {
                                                    start_publish_design_document(impl, std::move(n), o, std::move(done));
                                                  },
                                                  std::move(name), opts);
  }

  // Closes every connection; pending operations complete with an error.
  void close();

private:
  // One request per key, each with the same arguments after the key.
  template <class Request, class... Args>
  static std::vector<Request> each(std::vector<std::string> keys, const Args&... args)
  {
    std::vector<Request> rs;
    rs.reserve(keys.size());
    for (auto& k : keys) rs.push_back(Request{std::move(k), args...});
    return rs;
  }
  static std::vector<store_request> stores(store_mode mode, std::vector<std::pair<std::string, document_value>> items,
                                           const mutation_options& opts)
  {
    std::vector<store_request> rs;
    rs.reserve(items.size());
    for (auto& [k, v] : items) rs.push_back(store_request{mode, std::move(k), std::move(v), opts});
    return rs;
  }
  static std::vector<std::pair<std::string, document_value>> as_binary(std::vector<std::pair<std::string, std::string>> items)
  {
    std::vector<std::pair<std::string, document_value>> out;
    out.reserve(items.size());
    for (auto& [k, bytes] : items) out.emplace_back(std::move(k), document_value(binary(std::move(bytes))));
    return out;
  }

  using impl_ptr = std::shared_ptr<detail::bucket_impl>;
  // The generic fan-out (defined for every request type in src/async_bucket.cpp).
  template <class Request>
  static void start_multi(impl_ptr, std::vector<Request>,
                          detail::completion<void(std::error_code, multi_result<typename Request::result_type>)>);
  static void start_get_multi(impl_ptr, std::vector<std::string>, get_options, detail::completion<multi_get_signature>);
  static void start_get_multi_each(impl_ptr, std::vector<std::string>, get_each_callback, get_options,
                                   detail::completion<multi_each_signature>);
  static void start_get_multi_each(impl_ptr, borrowed_keys, get_each_callback, get_options,
                                   detail::completion<multi_each_signature>);
  static void start_observe(impl_ptr, std::string, common_options, detail::completion<observe_signature>);
  static void start_observe_multi(impl_ptr, std::vector<std::string>, common_options,
                                  detail::completion<multi_observe_signature>);
  static void start_stats(impl_ptr, std::string, common_options, detail::completion<stats_signature>);
  static void start_locate(impl_ptr, std::string, detail::completion<locate_signature>);
  static void start_query(impl_ptr, view_query, view_options, detail::completion<view_signature>);
  static void start_query_stream(impl_ptr, view_query, view_row_handler, view_options,
                                 detail::completion<view_stream_signature>);
  static void start_get_design_document(impl_ptr, std::string, view_options, detail::completion<design_document_signature>);
  static void start_upsert_design_document(impl_ptr, design_document, view_options,
                                           detail::completion<design_ack_signature>);
  static void start_remove_design_document(impl_ptr, std::string, view_options, detail::completion<design_ack_signature>);
  static void start_list_design_documents(impl_ptr, view_options, detail::completion<design_documents_signature>);
  static void start_publish_design_document(impl_ptr, std::string, view_options, detail::completion<design_ack_signature>);
  static void start_endure(impl_ptr, mutation_result, endure_options, detail::completion<endure_signature>);
  static void start_endure_multi(impl_ptr, std::vector<mutation_result>, endure_options,
                                 detail::completion<multi_endure_signature>);

  impl_ptr impl_;
};

} // namespace couchkv
