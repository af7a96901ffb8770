// What each KV request sends and what its answer becomes (include/couchkv/operations.hpp). The
// routing, deadlines, retries and durability around them are the one generic path's
// (src/bucket_impl.cpp, include/couchkv/detail/operation.hpp).
#include "bucket_impl.hpp"

#include <couchkv/operations.hpp>
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/mutation_token.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/protocol/response_shape.hpp>

#include <chrono>
#include <optional>

namespace couchkv {

namespace {

using detail::validate_key;
using protocol::opcode;

std::error_code invalid() { return make_error_code(protocol::client_errc::invalid_argument); }

// The expiry field as the server reads it (see expiry_time): nullopt when `e` cannot be sent as
// meant (negative, past the wire's 2106, or a time point the server would read as relative).
std::optional<std::uint32_t> wire_expiry(expiry_time e)
{
  constexpr std::int64_t thirty_days = 30 * 24 * 3600;
  constexpr std::int64_t wire_max = 0xffffffff;
  auto s = e.value().count();
  if (e.is_absolute()) {
    if (s <= thirty_days || s > wire_max) return std::nullopt;
    return static_cast<std::uint32_t>(s);
  }
  if (s < 0) return std::nullopt;
  if (s <= thirty_days) return static_cast<std::uint32_t>(s);
  // Longer than 30 days: the server wants an absolute Unix time (s is at most 2^33: no overflow).
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (s > wire_max - now) return std::nullopt;
  return static_cast<std::uint32_t>(now + s);
}

// Checked before the mutation is sent: observe-based durability is polled after it, and a timeout it
// cannot use must be refused before the mutation was applied, not after. Synchronous and
// observe-based durability are alternatives, as in every SDK.
std::error_code check_durability(const durability_options& d)
{
  if (d.timeout.count() < 0) return invalid();
  if (d.level && d.polled()) return invalid();
  return {};
}

std::optional<protocol::durability_requirement> sync_durability(const durability_options& d)
{
  if (!d.level || *d.level == protocol::durability_level::none) return std::nullopt;
  return protocol::durability_requirement{*d.level, std::nullopt};
}

get_result to_get_result(std::string&& key, const protocol::packet_view& p, bool replica)
{
  get_result g;
  g.key = std::move(key);
  g.value.assign(reinterpret_cast<const char*>(p.value.data()), p.value.size());
  g.flags = protocol::item_flags(p);
  g.cas = p.cas();
  g.datatype = p.datatype();
  g.is_replica = replica;
  return g;
}

void fill_mutation(mutation_result& m, std::string&& key, const protocol::packet_view& p, std::uint16_t vbucket)
{
  m.key = std::move(key);
  m.cas = p.cas();
  m.token = protocol::parse_mutation_token(p.extras, vbucket);
}

mutation_result to_mutation_result(std::string&& key, const protocol::packet_view& p, std::uint16_t vbucket)
{
  mutation_result m;
  fill_mutation(m, std::move(key), p, vbucket);
  return m;
}

} // namespace

protocol::feature_set durability_features(const durability_options& d) noexcept
{
  if (!sync_durability(d)) return {};
  return {protocol::hello_feature::alt_request_support, protocol::hello_feature::sync_replication};
}

// ---- get ------------------------------------------------------------------------------------------

std::error_code get_request::validate() const { return validate_key(key); }
void get_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const { protocol::append_get(out, 0, k); }
get_result get_request::decode(const protocol::packet_view& p, std::uint16_t)
{
  return to_get_result(std::move(key), p, false);
}

std::error_code get_and_touch_request::validate() const
{
  if (auto ec = validate_key(key)) return ec;
  return wire_expiry(options.expiry) ? std::error_code{} : invalid();
}
void get_and_touch_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const
{
  protocol::append_gat(out, 0, k, wire_expiry(options.expiry).value_or(0));
}
get_result get_and_touch_request::decode(const protocol::packet_view& p, std::uint16_t)
{
  return to_get_result(std::move(key), p, false);
}

std::error_code get_and_lock_request::validate() const
{
  if (auto ec = validate_key(key)) return ec;
  // Negative (it became 0xFFFFFFFF on the wire) or beyond 32 bits (truncated): refused.
  if (options.lock_time.count() < 0 || options.lock_time.count() > 0xffffffffLL) return invalid();
  return {};
}
void get_and_lock_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const
{
  protocol::append_get_locked(out, 0, k, static_cast<std::uint32_t>(options.lock_time.count()));
}
get_result get_and_lock_request::decode(const protocol::packet_view& p, std::uint16_t)
{
  return to_get_result(std::move(key), p, false);
}

std::error_code get_replica_request::validate() const { return validate_key(key); }
void get_replica_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const
{
  protocol::append_get(out, 0, k, opcode::get_replica);
}
get_result get_replica_request::decode(const protocol::packet_view& p, std::uint16_t)
{
  return to_get_result(std::move(key), p, true);
}

// ---- unlock, touch ----------------------------------------------------------------------------------

std::error_code unlock_request::validate() const
{
  if (auto ec = validate_key(key)) return ec;
  // CAS 0 is no lock's CAS: the server would answer with a status that reads like a lost race
  // (or, on some versions, unlock anyway). The caller passed the wrong value; say so, send nothing.
  return cas == 0 ? invalid() : std::error_code{};
}
void unlock_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const
{
  protocol::append_unlock(out, 0, k, cas);
}
mutation_result unlock_request::decode(const protocol::packet_view& p, std::uint16_t vbucket)
{
  return to_mutation_result(std::move(key), p, vbucket);
}

std::error_code touch_request::validate() const
{
  if (auto ec = validate_key(key)) return ec;
  return wire_expiry(expiry) ? std::error_code{} : invalid();
}
void touch_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const
{
  protocol::append_touch(out, 0, k, wire_expiry(expiry).value_or(0));
}
mutation_result touch_request::decode(const protocol::packet_view& p, std::uint16_t vbucket)
{
  return to_mutation_result(std::move(key), p, vbucket);
}

// ---- stores ---------------------------------------------------------------------------------------

std::error_code store_request::validate() const
{
  if (auto ec = validate_key(key)) return ec;
  if (auto ec = value.error()) return ec;
  if (auto ec = check_durability(options.durability)) return ec;
  if (mode == store_mode::insert && options.cas != 0) return invalid(); // a new document has no CAS
  return wire_expiry(options.expiry) ? std::error_code{} : invalid();
}

protocol::opcode store_request::opcode() const noexcept
{
  switch (mode) {
    case store_mode::upsert: return opcode::set;
    case store_mode::insert: return opcode::add;
    case store_mode::replace: return opcode::replace;
    case store_mode::append: return opcode::append;
    case store_mode::prepend: return opcode::prepend;
  }
  return opcode::set;
}

void store_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const
{
  const auto& v = value.encoded();
  protocol::mutation_frames frames{.durability = sync_durability(options.durability)};
  if (mode == store_mode::append || mode == store_mode::prepend) {
    protocol::append_concat(out, opcode(), 0, k, protocol::as_bytes(v.data), options.cas, frames);
    return;
  }
  protocol::append_store(out, opcode(), 0, k,
                         {.value = protocol::as_bytes(v.data),
                          .flags = options.flags.value_or(v.flags),
                          .expiry = wire_expiry(options.expiry).value_or(0),
                          .cas = options.cas,
                          .datatype = v.datatype,
                          .frames = frames});
}

mutation_result store_request::decode(const protocol::packet_view& p, std::uint16_t vbucket)
{
  return to_mutation_result(std::move(key), p, vbucket);
}

std::error_code remove_request::validate() const
{
  if (auto ec = validate_key(key)) return ec;
  return check_durability(options.durability);
}
void remove_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const
{
  protocol::append_delete(out, 0, k, options.cas, {.durability = sync_durability(options.durability)});
}
mutation_result remove_request::decode(const protocol::packet_view& p, std::uint16_t vbucket)
{
  return to_mutation_result(std::move(key), p, vbucket);
}

// ---- counter --------------------------------------------------------------------------------------

std::error_code counter_request::validate() const
{
  if (auto ec = validate_key(key)) return ec;
  if (auto ec = check_durability(options.durability)) return ec;
  // Checked with or without `initial` (without, the expiry is not sent): a bad value is a bug.
  return wire_expiry(options.expiry) ? std::error_code{} : invalid();
}

void counter_request::encode(protocol::byte_buffer& out, const protocol::doc_key& k) const
{
  protocol::counter_args args;
  args.delta = delta >= 0 ? static_cast<std::uint64_t>(delta) : static_cast<std::uint64_t>(-(delta + 1)) + 1;
  args.initial = options.initial.value_or(0);
  args.expiry = options.initial ? wire_expiry(options.expiry).value_or(0) : 0xffffffffu; // no initial: missing is an error
  args.frames.durability = sync_durability(options.durability);
  protocol::append_counter(out, opcode(), 0, k, args);
}

counter_result counter_request::decode(const protocol::packet_view& p, std::uint16_t vbucket)
{
  counter_result c;
  fill_mutation(c, std::move(key), p, vbucket);
  c.value = protocol::counter_value(p);
  return c;
}

} // namespace couchkv
