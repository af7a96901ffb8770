#include <couchkv/errors.hpp>
#include <couchkv/results.hpp>

#include <cstdio>

#include <optional>
#include <string>

namespace couchkv {
namespace {

constexpr std::string_view condition_message(errc e) noexcept
{
  switch (e) {
    case errc::document_not_found: return "document not found";
    case errc::document_exists: return "document exists";
    case errc::cas_mismatch: return "CAS mismatch";
    case errc::document_locked: return "document locked";
    case errc::document_not_locked: return "document not locked";
    case errc::value_too_large: return "value too large";
    case errc::invalid_argument: return "invalid argument";
    case errc::delta_invalid: return "counter value is not a number";
    case errc::not_stored: return "not stored";
    case errc::temporary_failure: return "temporary failure";
    case errc::timeout: return "timeout";
    case errc::ambiguous_timeout: return "ambiguous timeout (the mutation may have been applied)";
    case errc::request_canceled: return "request canceled";
    case errc::durability_impossible: return "durability impossible";
    case errc::durability_ambiguous: return "durability ambiguous";
    case errc::durable_write_in_progress: return "durable write in progress";
    case errc::durability_level_not_available: return "durability level not available";
    case errc::authentication_failure: return "authentication failure";
    case errc::access_denied: return "access denied";
    case errc::bucket_not_found: return "bucket not found";
    case errc::unsupported_operation: return "unsupported operation";
    case errc::not_my_vbucket: return "not my vbucket";
    case errc::collection_not_found: return "collection not found";
    case errc::scope_not_found: return "scope not found";
    case errc::server_internal_error: return "server internal error";
    case errc::network_error: return "network error";
    case errc::decoding_failure: return "decoding failure";
    case errc::rate_limited: return "rate limited";
    case errc::quota_limited: return "quota limited";
  }
  return {};
}

constexpr int condition_count = static_cast<int>(errc::quota_limited);

// A KV status means what the protocol layer says it means for the operation's family
// (protocol::kv_meaning, the one place that reads statuses); the condition is the one of that
// name. tests/src/test_errors.cpp checks that every meaning names a condition.
std::optional<errc> kv_condition(protocol::kv_family f, protocol::status s) noexcept
{
  auto meaning = protocol::kv_meaning(f, s);
  if (meaning.empty()) return std::nullopt;
  for (int c = 1; c <= condition_count; ++c) {
    if (condition_message(static_cast<errc>(c)) == meaning) return static_cast<errc>(c);
  }
  return std::nullopt;
}

std::optional<errc> protocol_condition(protocol::client_errc e) noexcept
{
  using protocol::client_errc;
  switch (e) {
    case client_errc::invalid_magic:
    case client_errc::invalid_header:
    case client_errc::body_too_large:
    case client_errc::invalid_extras:
    case client_errc::invalid_payload:
    case client_errc::invalid_frame_info:
    case client_errc::invalid_leb128:
    case client_errc::unexpected_response:
    case client_errc::malformed_response:
    case client_errc::malformed_http: return errc::decoding_failure;
    case client_errc::key_too_long:
    case client_errc::key_empty:
    case client_errc::invalid_argument: return errc::invalid_argument;
    case client_errc::sasl_no_common_mechanism:
    case client_errc::sasl_server_nonce_mismatch:
    case client_errc::sasl_server_signature_mismatch:
    case client_errc::sasl_invalid_server_message:
    case client_errc::sasl_too_many_iterations: return errc::authentication_failure;
    case client_errc::timeout: return errc::timeout;
    case client_errc::ambiguous_timeout: return errc::ambiguous_timeout;
    case client_errc::cancelled: return errc::request_canceled;
    case client_errc::connection_closed:
    case client_errc::connection_failed:
    case client_errc::not_connected:
    case client_errc::handshake_failed:
    case client_errc::kv_port_speaks_http: return errc::network_error;
    case client_errc::queue_full: return errc::temporary_failure;
    case client_errc::bucket_not_found: return errc::bucket_not_found;
  }
  return std::nullopt;
}

std::optional<errc> facade_condition(client_errc e) noexcept
{
  switch (e) {
    case client_errc::feature_not_available: return errc::unsupported_operation;
    case client_errc::no_node_for_vbucket: return errc::not_my_vbucket;
    case client_errc::config_rejected: return errc::decoding_failure;
    case client_errc::durability_impossible: return errc::durability_impossible;
    case client_errc::durability_mutation_lost: return errc::durability_ambiguous;
    case client_errc::durability_mutation_replaced: return errc::cas_mismatch;
    case client_errc::durability_timeout: return errc::durability_ambiguous;
    case client_errc::document_not_found_on_master: return errc::document_not_found;
  }
  return std::nullopt;
}

class condition_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "couchkv"; }
  std::string message(int v) const override
  {
    auto text = condition_message(static_cast<errc>(v));
    return text.empty() ? "unknown couchkv condition " + std::to_string(v) : std::string(text);
  }
  // `code == condition` asks here when the code's own category does not know the condition: the
  // codes of the lower layers know nothing of the facade's conditions.
  bool equivalent(const std::error_code& code, int condition) const noexcept override
  {
    std::optional<errc> c;
    if (auto family = protocol::kv_family_of(code)) {
      c = kv_condition(*family, static_cast<protocol::status>(code.value()));
    } else if (code.category() == protocol::client_category()) {
      c = protocol_condition(static_cast<protocol::client_errc>(code.value()));
    } else if (code.category() == client_category()) {
      c = facade_condition(static_cast<client_errc>(code.value()));
    }
    return c && static_cast<int>(*c) == condition;
  }
};

class client_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "couchkv.facade"; }
  std::string message(int v) const override
  {
    switch (static_cast<client_errc>(v)) {
      case client_errc::feature_not_available: return "feature not available on this server or bucket";
      case client_errc::no_node_for_vbucket: return "no node serves the vBucket";
      case client_errc::config_rejected: return "cluster configuration rejected";
      case client_errc::durability_impossible: return "durability requirement impossible with the bucket's replicas";
      case client_errc::durability_mutation_lost: return "mutation lost: a failover rolled the vBucket back past it";
      case client_errc::durability_mutation_replaced: return "the document changed again before the mutation was durable";
      case client_errc::durability_timeout: return "durability requirement not met before the timeout";
      case client_errc::document_not_found_on_master: return "the document is not on the vBucket's master";
    }
    return "unknown facade error " + std::to_string(v);
  }
  std::error_condition default_error_condition(int v) const noexcept override
  {
    if (auto c = facade_condition(static_cast<client_errc>(v))) return *c;
    return {v, *this};
  }
};

constinit const condition_category_impl condition_category_instance{};
constinit const client_category_impl client_category_instance{};

} // namespace

const std::error_category& condition_category() noexcept { return condition_category_instance; }

std::error_condition make_error_condition(errc e) noexcept { return {static_cast<int>(e), condition_category()}; }

const std::error_category& client_category() noexcept { return client_category_instance; }

std::error_code make_error_code(client_errc e) noexcept { return {static_cast<int>(e), client_category()}; }

} // namespace couchkv

namespace couchkv {

std::string describe(std::error_code ec, const error_context& ctx)
{
  std::string out = ec.message();
  std::string where;
  auto add = [&where](const std::string& part) {
    if (part.empty()) return;
    if (!where.empty()) where += ", ";
    where += part;
  };
  if (!ctx.operation.empty() || !ctx.key.empty()) {
    std::string op(ctx.operation);
    if (!ctx.key.empty()) op += (op.empty() ? "\"" : " \"") + ctx.key + "\"";
    add(op);
  }
  if (!ctx.endpoint.empty()) add("at " + ctx.endpoint);
  if (ctx.status != 0) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(ctx.status));
    add(std::string("status ") + hex);
  }
  if (ctx.retries != 0) {
    add(std::to_string(ctx.retries) + (ctx.retries == 1 ? " retry" : " retries") +
        (ctx.last_retry_reason != retry_reason::none ? std::string(" (last: ") + std::string(to_string(ctx.last_retry_reason)) + ")"
                                                     : std::string()));
  }
  if (ctx.elapsed.count() != 0) add(std::to_string(ctx.elapsed.count()) + " ms");
  if (!where.empty()) out += " (" + where + ")";
  if (!ctx.server_message.empty()) out += ": " + ctx.server_message;
  return out;
}

} // namespace couchkv
