#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/scram.hpp>

#include <string>

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
    case client_errc::key_too_long: return "key too long (more than 250 bytes)";
    case client_errc::key_empty: return "empty key (a document key has 1 to 250 bytes)";
    case client_errc::malformed_response: return "malformed response: a success without what its opcode promises";
    case client_errc::malformed_http: return "malformed HTTP response";
    case client_errc::kv_port_speaks_http:
      return "the server answered in HTTP: this is not a KV port (a management port is written host:port=http)";
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
    case client_errc::sasl_too_many_iterations:
      return "SCRAM: the server asks for more PBKDF2 iterations than the client allows (" +
             std::to_string(scram::max_iterations) + ")";
  }
  return "unknown client error " + std::to_string(v);
}

} // namespace detail

namespace {

// The meaning of a KV status depends on the operation (kv_engine reuses KeyEexists for "exists" and
// "CAS mismatch", NotStored for "missing" on APPEND). Each family is its own category object with
// the same name, so error_code::value() stays the wire status while the family says how to read it.
std::string_view generic_meaning(status s) noexcept
{
  switch (s) {
    case status::key_enoent: return "document not found";
    case status::key_eexists: return "document exists";
    case status::e2big: return "value too large";
    case status::einval:
    case status::cas_value_invalid:
    case status::xattr_einval:
    case status::expiry_overflow:
    case status::lock_expiry_overflow: return "invalid argument";
    case status::not_stored: return "not stored";
    case status::delta_badval: return "counter value is not a number";
    case status::not_my_vbucket: return "not my vbucket";
    case status::no_bucket: return "bucket not found";
    case status::locked: return "document locked";
    case status::not_locked: return "document not locked";
    case status::auth_stale:
    case status::auth_error: return "authentication failure";
    case status::eaccess: return "access denied";
    case status::unknown_command:
    case status::not_supported: return "unsupported operation";
    case status::enomem:
    case status::einternal: return "server internal error";
    case status::ebusy:
    case status::etmpfail:
    case status::ewould_throttle: return "temporary failure";
    case status::unknown_collection: return "collection not found";
    case status::unknown_scope: return "scope not found";
    case status::durability_invalid_level: return "durability level not available";
    case status::durability_impossible: return "durability impossible";
    case status::sync_write_in_progress:
    case status::sync_write_recommit_in_progress: return "durable write in progress";
    case status::sync_write_ambiguous: return "durability ambiguous";
    case status::rate_limited_network_ingress:
    case status::rate_limited_network_egress:
    case status::rate_limited_max_connections:
    case status::rate_limited_max_commands: return "rate limited";
    case status::scope_size_limit_exceeded:
    case status::bucket_size_limit_exceeded:
    case status::bucket_resident_ratio_too_low:
    case status::bucket_data_size_too_big:
    case status::bucket_disk_space_too_low: return "quota limited";
    case status::cancelled: return "request canceled";
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
    auto meaning = kv_meaning(family_, s);
    return std::string(meaning.empty() ? std::string_view("server status") : meaning) + " (" +
           std::string(to_string(s)) + " " + hex + ")";
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

std::optional<kv_family> kv_family_of(const std::error_code& ec) noexcept
{
  for (int f = 0; f <= static_cast<int>(kv_family::unlock); ++f) {
    if (&ec.category() == &kv(static_cast<kv_family>(f))) return static_cast<kv_family>(f);
  }
  return std::nullopt;
}

bool is_kv_error(const std::error_code& ec) noexcept { return kv_family_of(ec).has_value(); }

std::string_view kv_meaning(kv_family f, status s) noexcept
{
  switch (f) {
    case kv_family::insert:
      if (s == status::key_eexists || s == status::not_stored) return "document exists";
      break;
    case kv_family::cas_mutation:
      if (s == status::key_eexists) return "CAS mismatch";
      if (s == status::not_stored) return "document not found";
      break;
    case kv_family::replace:
    case kv_family::concat:
      if (s == status::not_stored) return "document not found";
      break;
    case kv_family::unlock:
      // UNLOCK answers Locked when the CAS is not the lock's CAS.
      if (s == status::locked) return "CAS mismatch";
      break;
    case kv_family::generic: break;
  }
  return generic_meaning(s);
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
      case client_errc::kv_port_speaks_http:
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
