// The entry point: a cluster from a connection string and credentials, and the buckets opened
// from it.
//
//   asio::io_context io;
//   couchkv::cluster c{io.get_executor(), "couchbase://127.0.0.1/default", {"default", "secret"}};
//   auto bucket = c.open_bucket("default").get();
#pragma once
#include <couchkv/async_bucket.hpp>
#include <couchkv/completion.hpp>
#include <couchkv/protocol/bootstrap.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace couchkv {

// Username and password: one type, the one the connections' handshake takes.
using credentials = protocol::credentials;

struct cluster_options {
  // A promise that one thread, at most, runs the executor's execution context (an io_context run
  // by one thread). A bucket then runs on that executor itself instead of on a strand of it, which
  // saves a strand pass per socket completion (about a fifth of the instructions of a GET; see
  // bench/RESULTS.md). Operations may still be started from any thread: each is posted to the
  // executor (a strand would take a burst from another thread in fewer passes). Broken promise,
  // data race: leave it false if several threads run the context.
  bool single_threaded{false};
};

class cluster {
public:
  using open_signature = void(std::error_code, async_bucket);

  // Throws std::system_error (topology::config_errc) when the connection string is malformed; the
  // message names the offending part.
  cluster(asio::any_io_executor ex, std::string connection_string, credentials creds);
  cluster(asio::any_io_executor ex, std::string connection_string, credentials creds, cluster_options options);
  ~cluster();
  cluster(cluster&&) noexcept;
  cluster& operator=(cluster&&) noexcept;

  [[nodiscard]] asio::any_io_executor get_executor() const;

  // Bootstraps from the first reachable node, selects the bucket, connects to every data node.
  // `bucket` empty: the one named in the connection string.
  template <class Token = use_future_t>
  auto open_bucket(std::string bucket = {}, Token&& token = {})
  {
    // The initiation holds the cluster's state, not `this`: with asio::deferred it may run after
    // the cluster object was moved (or destroyed).
    return detail::initiate<open_signature>(std::forward<Token>(token), get_executor(),
                                            [impl = impl_](auto done, std::string b) {
                                              start_open(impl, std::move(b), std::move(done));
                                            },
                                            std::move(bucket));
  }

  // Why the last open_bucket failed ("SCRAM-SHA512 authentication: AuthError ..."). Safe from
  // any thread.
  [[nodiscard]] std::string last_error_detail() const;

private:
  struct impl;
  static void start_open(const std::shared_ptr<impl>& self, std::string bucket, detail::completion<open_signature> done);
  // Shared so that an open_bucket still in flight can record its error after the cluster object
  // is gone (it holds a weak reference; the error then goes nowhere).
  std::shared_ptr<impl> impl_;
};

} // namespace couchkv
