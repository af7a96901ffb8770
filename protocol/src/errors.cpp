#include <couchkv/protocol/errors.hpp>

#include <string>

namespace couchkv {
namespace {

class condition_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "couchkv"; }
  std::string message(int v) const override
  {
    switch (static_cast<errc>(v)) {
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
    return "unknown couchkv condition " + std::to_string(v);
  }
};

} // namespace

const std::error_category& condition_category() noexcept
{
  static const condition_category_impl instance;
  return instance;
}

std::error_condition make_error_condition(errc e) noexcept { return {static_cast<int>(e), condition_category()}; }

} // namespace couchkv

namespace couchkv::protocol {

namespace detail {
constinit const client_category_impl client_category_instance{};

const char* client_category_impl::name() const noexcept { return "couchkv.client"; }

std::string client_category_impl::message(int v) const
{
  switch (static_cast<client_errc>(v)) {
    case client_errc::invalid_magic: return "invalid magic byte in packet header";
    case client_errc::invalid_header: return "packet header lengths are inconsistent";
    case client_errc::body_too_large: return "packet body exceeds the configured maximum";
    case client_errc::invalid_extras: return "unexpected extras length for the opcode";
    case client_errc::invalid_payload: return "malformed packet payload";
    case client_errc::invalid_frame_info: return "malformed frame info";
    case client_errc::invalid_leb128: return "malformed or non-canonical LEB128 value";
    case client_errc::key_too_long: return "key too long";
    case client_errc::sasl_no_common_mechanism: return "no SASL mechanism in common with the server";
    case client_errc::sasl_server_nonce_mismatch: return "SCRAM server nonce does not extend the client nonce";
    case client_errc::sasl_server_signature_mismatch: return "SCRAM server signature is wrong";
    case client_errc::sasl_invalid_server_message: return "malformed SASL server message";
    case client_errc::timeout: return "operation timed out";
    case client_errc::ambiguous_timeout: return "operation timed out after it may have been applied";
    case client_errc::cancelled: return "operation cancelled";
    case client_errc::connection_closed: return "connection closed";
    case client_errc::connection_failed: return "connection failed";
    case client_errc::queue_full: return "too many operations in flight on the connection";
    case client_errc::not_connected: return "not connected";
    case client_errc::handshake_failed: return "connection handshake failed";
    case client_errc::unexpected_response: return "unexpected response from the server";
    case client_errc::invalid_argument: return "invalid argument";
    case client_errc::bucket_not_found: return "bucket not found";
    case client_errc::feature_not_available: return "feature not available on this server or bucket";
    case client_errc::no_node_for_vbucket: return "no node serves the vBucket";
    case client_errc::config_rejected: return "cluster configuration rejected";
    case client_errc::durability_impossible: return "durability requirement impossible with the bucket's replicas";
    case client_errc::durability_mutation_lost: return "mutation lost: a failover rolled the vBucket back past it";
    case client_errc::durability_mutation_replaced: return "the document changed again before the mutation was durable";
    case client_errc::durability_timeout: return "durability requirement not met before the timeout";
    case client_errc::document_not_found_on_master: return "the document is not on the vBucket's master";
  }
  return "unknown client error " + std::to_string(v);
}

std::error_condition client_category_impl::default_error_condition(int v) const noexcept
{
  switch (static_cast<client_errc>(v)) {
    case client_errc::invalid_magic:
    case client_errc::invalid_header:
    case client_errc::body_too_large:
    case client_errc::invalid_extras:
    case client_errc::invalid_payload:
    case client_errc::invalid_frame_info:
    case client_errc::invalid_leb128:
    case client_errc::unexpected_response: return errc::decoding_failure;
    case client_errc::key_too_long:
    case client_errc::invalid_argument: return errc::invalid_argument;
    case client_errc::sasl_no_common_mechanism:
    case client_errc::sasl_server_nonce_mismatch:
    case client_errc::sasl_server_signature_mismatch:
    case client_errc::sasl_invalid_server_message: return errc::authentication_failure;
    case client_errc::timeout: return errc::timeout;
    case client_errc::ambiguous_timeout: return errc::ambiguous_timeout;
    case client_errc::cancelled: return errc::request_canceled;
    case client_errc::connection_closed:
    case client_errc::connection_failed:
    case client_errc::not_connected:
    case client_errc::handshake_failed: return errc::network_error;
    case client_errc::queue_full: return errc::temporary_failure;
    case client_errc::bucket_not_found: return errc::bucket_not_found;
    case client_errc::feature_not_available: return errc::unsupported_operation;
    case client_errc::no_node_for_vbucket: return errc::not_my_vbucket;
    case client_errc::config_rejected: return errc::decoding_failure;
    case client_errc::durability_impossible: return errc::durability_impossible;
    case client_errc::durability_mutation_lost: return errc::durability_ambiguous;
    case client_errc::durability_mutation_replaced: return errc::cas_mismatch;
    case client_errc::durability_timeout: return errc::durability_ambiguous;
    case client_errc::document_not_found_on_master: return errc::document_not_found;
  }
  return {v, *this};
}

} // namespace detail

namespace {

// The meaning of a KV status depends on the operation (kv_engine reuses KeyEexists for "exists" and
// "CAS mismatch", NotStored for "missing" on APPEND). Each family is its own category object with
// the same name and messages, so error_code::value() stays the wire status while the condition is
// right for the operation.
enum class kv_family { generic, insert, cas_mutation, replace, concat, unlock };

std::error_condition generic_condition(status s) noexcept
{
  switch (s) {
    case status::key_enoent: return errc::document_not_found;
    case status::key_eexists: return errc::document_exists;
    case status::e2big: return errc::value_too_large;
    case status::einval:
    case status::cas_value_invalid:
    case status::xattr_einval:
    case status::expiry_overflow:
    case status::lock_expiry_overflow: return errc::invalid_argument;
    case status::not_stored: return errc::not_stored;
    case status::delta_badval: return errc::delta_invalid;
    case status::not_my_vbucket: return errc::not_my_vbucket;
    case status::no_bucket: return errc::bucket_not_found;
    case status::locked: return errc::document_locked;
    case status::not_locked: return errc::document_not_locked;
    case status::auth_stale:
    case status::auth_error: return errc::authentication_failure;
    case status::eaccess: return errc::access_denied;
    case status::unknown_command:
    case status::not_supported: return errc::unsupported_operation;
    case status::enomem:
    case status::einternal: return errc::server_internal_error;
    case status::ebusy:
    case status::etmpfail:
    case status::ewould_throttle: return errc::temporary_failure;
    case status::unknown_collection: return errc::collection_not_found;
    case status::unknown_scope: return errc::scope_not_found;
    case status::durability_invalid_level: return errc::durability_level_not_available;
    case status::durability_impossible: return errc::durability_impossible;
    case status::sync_write_in_progress:
    case status::sync_write_recommit_in_progress: return errc::durable_write_in_progress;
    case status::sync_write_ambiguous: return errc::durability_ambiguous;
    case status::rate_limited_network_ingress:
    case status::rate_limited_network_egress:
    case status::rate_limited_max_connections:
    case status::rate_limited_max_commands: return errc::rate_limited;
    case status::scope_size_limit_exceeded:
    case status::bucket_size_limit_exceeded:
    case status::bucket_resident_ratio_too_low:
    case status::bucket_data_size_too_big:
    case status::bucket_disk_space_too_low: return errc::quota_limited;
    case status::cancelled: return errc::request_canceled;
    default: break;
  }
  return {};
}

class kv_category_impl final : public std::error_category {
public:
  explicit constexpr kv_category_impl(kv_family f) noexcept : family_(f) {}
  const char* name() const noexcept override { return "couchkv.kv"; }
  std::string message(int v) const override
  {
    auto s = static_cast<status>(v);
    char hex[8];
    static constexpr char digits[] = "0123456789abcdef";
    hex[0] = '0';
    hex[1] = 'x';
    for (int i = 0; i < 4; ++i) hex[2 + i] = digits[(static_cast<unsigned>(v) >> (12 - 4 * i)) & 0xf];
    hex[6] = 0;
    // "document exists (KeyEexists 0x0002)": what it means for this operation, then the wire facts.
    std::string text(to_string(s));
    auto cond = default_error_condition(v);
    std::string meaning = cond.category() == *this ? std::string("server status") : cond.message();
    return meaning + " (" + text + " " + hex + ")";
  }
  std::error_condition default_error_condition(int v) const noexcept override
  {
    auto s = static_cast<status>(v);
    switch (family_) {
      case kv_family::insert:
        if (s == status::key_eexists || s == status::not_stored) return errc::document_exists;
        break;
      case kv_family::cas_mutation:
        if (s == status::key_eexists) return errc::cas_mismatch;
        if (s == status::not_stored) return errc::document_not_found;
        break;
      case kv_family::replace:
        if (s == status::not_stored) return errc::document_not_found;
        break;
      case kv_family::concat:
        if (s == status::not_stored) return errc::document_not_found;
        break;
      case kv_family::unlock:
        // UNLOCK answers Locked when the CAS is not the lock's CAS.
        if (s == status::locked) return errc::cas_mismatch;
        break;
      case kv_family::generic: break;
    }
    auto c = generic_condition(s);
    if (c) return c;
    return {v, *this};
  }

private:
  kv_family family_;
};

const kv_category_impl& kv(kv_family f) noexcept
{
  static const kv_category_impl instances[] = {
      kv_category_impl{kv_family::generic},      kv_category_impl{kv_family::insert},
      kv_category_impl{kv_family::cas_mutation}, kv_category_impl{kv_family::replace},
      kv_category_impl{kv_family::concat},       kv_category_impl{kv_family::unlock},
  };
  return instances[static_cast<int>(f)];
}

const std::error_category& category_for(opcode op, bool had_cas) noexcept
{
  switch (op) {
    case opcode::add:
    case opcode::addq: return kv(kv_family::insert);
    case opcode::set:
    case opcode::setq:
    case opcode::del:
    case opcode::delq: return kv(had_cas ? kv_family::cas_mutation : kv_family::generic);
    case opcode::replace:
    case opcode::replaceq: return kv(had_cas ? kv_family::cas_mutation : kv_family::replace);
    case opcode::append:
    case opcode::appendq:
    case opcode::prepend:
    case opcode::prependq: return kv(had_cas ? kv_family::cas_mutation : kv_family::concat);
    case opcode::unlock_key: return kv(kv_family::unlock);
    default: return kv(kv_family::generic);
  }
}

} // namespace

const std::error_category& kv_category() noexcept { return kv(kv_family::generic); }

std::error_code make_error_code(status s) noexcept { return {static_cast<int>(s), kv(kv_family::generic)}; }

std::error_code make_kv_error(opcode op, status s, bool had_cas) noexcept
{
  return {static_cast<int>(s), category_for(op, had_cas)};
}

bool is_kv_error(const std::error_code& ec) noexcept
{
  for (int f = 0; f <= static_cast<int>(kv_family::unlock); ++f) {
    if (&ec.category() == &kv(static_cast<kv_family>(f))) return true;
  }
  return false;
}

bool is_retryable(status s) noexcept
{
  switch (s) {
    case status::etmpfail:
    case status::ebusy:
    case status::not_my_vbucket:
    case status::sync_write_in_progress:
    case status::sync_write_recommit_in_progress:
    case status::ewould_throttle:
      return true;
    default:
      return false;
  }
}

bool is_fatal(std::error_code ec) noexcept
{
  if (ec.category() == client_category()) {
    switch (static_cast<client_errc>(ec.value())) {
      case client_errc::invalid_magic:
      case client_errc::invalid_header:
      case client_errc::body_too_large:
      case client_errc::connection_closed:
      case client_errc::connection_failed:
      case client_errc::handshake_failed:
        return true;
      default:
        return false;
    }
  }
  if (is_kv_error(ec)) {
    auto s = static_cast<status>(ec.value());
    return s == status::auth_stale;
  }
  return false;
}

} // namespace couchkv::protocol
