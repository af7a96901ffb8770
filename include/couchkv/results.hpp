// Operation results. Plain values: they own their bytes (the connection's read buffer is reused).
#pragma once
#include <couchkv/errors.hpp>
#include <couchkv/protocol/mutation_token.hpp>
#include <couchkv/retry_reason.hpp>
#include <couchkv/transcoder.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace couchkv {

// Identifies a mutation for durability polling (HELLO MutationSeqno negotiated): vbucket, vbuuid,
// seqno. One type, the codec's.
using mutation_token = protocol::mutation_token;

// What a failed operation knows beyond its error_code, carried by that operation alone: in its
// result (`result.context`, for a callback or coroutine caller), in the exception a future throws
// (operation_error::context()), in each key's outcome of a _multi operation. Empty on success.
struct error_context {
  std::string key;                     // the document's key (empty for node-wide operations)
  std::string_view operation{};        // the opcode's name ("GET", "SET", ...); static storage
  std::uint16_t status{0};             // wire status of the last response, 0 if none
  std::string server_message;          // the server's own words: XERROR context, or the error map's text
  retry_reason last_retry_reason{retry_reason::none};
  std::uint32_t retries{0};
  std::string endpoint;                // "host:port" of the last node tried
  std::uint16_t vbucket{0};            // where the key was routed (Couchbase buckets)
  std::chrono::milliseconds elapsed{0}; // from the call to the failure
};

// The error and its context in one line: "document not found (GET "k" at 127.0.0.1:11210, ...)".
[[nodiscard]] std::string describe(std::error_code ec, const error_context& ctx);

// Thrown by future::get() for a failed operation: its error_code and its own context.
class operation_error : public std::system_error {
public:
  operation_error(std::error_code ec, error_context ctx) : std::system_error(ec, describe(ec, ctx)), context_(std::move(ctx))
  {
  }
  [[nodiscard]] const error_context& context() const noexcept { return context_; }

private:
  error_context context_;
};

// A data node open_bucket could not use (async_bucket::unreachable_nodes): "host:port", the error
// (authentication_failure, connection_failed, timeout...) and what the node or the connection said.
struct node_problem {
  std::string endpoint;
  std::error_code ec;
  std::string detail;
};

struct get_result {
  std::string key;
  std::string value;
  std::uint32_t flags{0};
  std::uint64_t cas{0};
  std::uint8_t datatype{0};
  bool is_replica{false};
  error_context context{}; // on failure: what went wrong (see error_context)

  [[nodiscard]] couchkv::format format() const noexcept { return format_of(flags); }
};

// One key's answer in get_multi_each, valid during the callback only: key and value point into the
// library's buffers (nothing is copied per key). On an error only `key` is set.
struct get_view {
  std::string_view key{};
  std::string_view value{};
  std::uint32_t flags{0};
  std::uint64_t cas{0};
  std::uint8_t datatype{0};

  [[nodiscard]] couchkv::format format() const noexcept { return format_of(flags); }
};

// What durability polling (persist_to / replicate_to, endure) observed. Present on a mutation's
// result when durability was requested, also when it failed (the mutation itself succeeded then).
struct durability_outcome {
  bool met{false};
  int persist_to{0};         // resolved (a negative request means "all there are")
  int replicate_to{0};
  bool found_on_master{false};
  bool persisted_on_master{false};
  int persisted{0};          // nodes (master included) that persisted the mutation
  int replicated{0};         // replicas that hold it in memory
  std::uint32_t polls{0};
  bool by_seqno{false};      // OBSERVE_SEQNO with the mutation token (else OBSERVE with the CAS)
  std::string detail;        // human-readable: what was met, what was not, the last node error
};

struct mutation_result {
  std::string key;
  std::uint64_t cas{0};
  std::optional<mutation_token> token{};
  std::optional<durability_outcome> durability{};
  error_context context{}; // on failure: what went wrong (see error_context)
};

// A counter's mutation, and the counter's value after it.
struct counter_result : mutation_result {
  std::uint64_t value{0};
};

struct endure_result {
  std::string key;
  std::uint64_t cas{0};
  durability_outcome durability{};
  error_context context{};
};

// Thrown by future::get() when a mutation succeeded but its durability requirement failed: it
// carries the mutation's CAS and token as well as the error, so nothing is lost.
class durability_error : public operation_error {
public:
  durability_error(std::error_code ec, std::string key, std::uint64_t cas, std::optional<mutation_token> token,
                   durability_outcome outcome, error_context ctx = {})
      : operation_error(ec, with_detail(std::move(ctx), outcome.detail)), key_(std::move(key)), cas_(cas), token_(token),
        outcome_(std::move(outcome))
  {
  }
  [[nodiscard]] const std::string& key() const noexcept { return key_; }
  [[nodiscard]] std::uint64_t cas() const noexcept { return cas_; }
  [[nodiscard]] const std::optional<mutation_token>& token() const noexcept { return token_; }
  [[nodiscard]] const durability_outcome& outcome() const noexcept { return outcome_; }

private:
  static error_context with_detail(error_context ctx, const std::string& detail)
  {
    if (ctx.server_message.empty()) ctx.server_message = detail;
    return ctx;
  }
  std::string key_;
  std::uint64_t cas_;
  std::optional<mutation_token> token_;
  durability_outcome outcome_;
};

enum class observe_key_state : std::uint8_t { found = 0x00, persisted = 0x01, not_found = 0x80, logically_deleted = 0x81 };

struct observe_node_result {
  std::string endpoint;
  bool is_master{false};
  observe_key_state state{observe_key_state::not_found};
  std::uint64_t cas{0};
};

struct observe_result {
  std::string key;
  std::vector<observe_node_result> nodes;
  error_context context{};
};

// Stats: endpoint -> (name -> value).
using stats_result = std::map<std::string, std::map<std::string, std::string>>;

// One node a key routes to: its index in the bucket config's node list (memcached://: the
// server's position in the connection string) and the KV endpoint the client uses for it,
// "host:port" (the TLS port under couchbases://).
struct node_endpoint {
  std::size_t index{0};
  std::string endpoint;
  friend bool operator==(const node_endpoint&, const node_endpoint&) = default;
};

// Where a key routes under the bucket's current config (what libcouchbase's `cbc hash` prints).
struct key_location {
  std::string key;
  std::optional<std::uint16_t> vbucket{}; // none for a memcached bucket (ketama routing)
  std::optional<node_endpoint> master{};  // none while the map gives the vBucket no active node
  // One entry per replica the bucket is configured with, in order; none: that copy has no node
  // in the current map. Empty for a memcached bucket.
  std::vector<std::optional<node_endpoint>> replicas{};
};

// One key of a _multi operation: its result or its error, never both lost.
template <class Result>
struct outcome {
  std::error_code ec{};
  error_context context{};
  std::optional<Result> value{};
  [[nodiscard]] explicit operator bool() const noexcept { return !ec && value.has_value(); }
};

template <class Result>
using multi_result = std::map<std::string, outcome<Result>>;

} // namespace couchkv
