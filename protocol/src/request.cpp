#include "packet_writer.hpp"

#include <couchkv/protocol/leb128.hpp>
#include <couchkv/protocol/request.hpp>

#include <array>

namespace couchkv::protocol {
namespace {

// Framing extras are tiny (durability: 4 bytes, preserve TTL: 1); build them on the stack.
struct frames_buf {
  std::array<std::byte, 8> bytes{};
  std::size_t size{0};
  bytes_view view() const noexcept { return {bytes.data(), size}; }
};

frames_buf encode_frames(const mutation_frames& f) noexcept
{
  frames_buf b;
  if (f.durability) {
    std::size_t len = f.durability->timeout_ms ? 3 : 1;
    b.bytes[b.size++] = static_cast<std::byte>((1u << 4) | len);
    b.bytes[b.size++] = static_cast<std::byte>(f.durability->level);
    if (f.durability->timeout_ms) {
      store_be16(b.bytes.data() + b.size, *f.durability->timeout_ms);
      b.size += 2;
    }
  }
  if (f.preserve_ttl) b.bytes[b.size++] = static_cast<std::byte>(5u << 4);
  return b;
}

struct key_prefix_buf {
  std::array<std::byte, max_leb128_u32_size> bytes{};
  std::size_t size{0};
  bytes_view view() const noexcept { return {bytes.data(), size}; }
};

key_prefix_buf encode_prefix(const doc_key& k) noexcept
{
  key_prefix_buf b;
  if (k.collection_id) b.size = encode_leb128(*k.collection_id, b.bytes.data());
  return b;
}

void append_doc_request(byte_buffer& out, opcode op, std::uint32_t opaque, const doc_key& key, std::uint64_t cas,
                        std::uint8_t datatype, bytes_view framing, bytes_view extras, bytes_view value)
{
  auto prefix = encode_prefix(key);
  detail::append_packet(out, {.magic_byte = framing.empty() ? magic::client_request : magic::alt_client_request,
                              .opcode = static_cast<std::uint8_t>(op),
                              .specific = key.vbucket,
                              .opaque = opaque,
                              .cas = cas,
                              .datatype = datatype,
                              .framing_extras = framing,
                              .extras = extras,
                              .key_prefix = prefix.view(),
                              .key = as_bytes(key.key),
                              .value = value});
}

void append_simple(byte_buffer& out, opcode op, std::uint32_t opaque, bytes_view extras = {}, bytes_view key = {},
                   bytes_view value = {}, std::uint16_t vbucket = 0)
{
  detail::append_packet(out, {.magic_byte = magic::client_request,
                              .opcode = static_cast<std::uint8_t>(op),
                              .specific = vbucket,
                              .opaque = opaque,
                              .extras = extras,
                              .key = key,
                              .value = value});
}

} // namespace

void append_request(byte_buffer& out, const raw_request& r)
{
  detail::append_packet(out, {.magic_byte = r.framing_extras.empty() ? magic::client_request : magic::alt_client_request,
                              .opcode = static_cast<std::uint8_t>(r.op),
                              .specific = r.vbucket,
                              .opaque = r.opaque,
                              .cas = r.cas,
                              .datatype = r.datatype,
                              .framing_extras = r.framing_extras,
                              .extras = r.extras,
                              .key = r.key,
                              .value = r.value});
}

void append_get(byte_buffer& out, std::uint32_t opaque, const doc_key& key, opcode op)
{
  append_doc_request(out, op, opaque, key, 0, 0, {}, {}, {});
}

void append_store(byte_buffer& out, opcode op, std::uint32_t opaque, const doc_key& key, const store_args& args)
{
  std::byte extras[8];
  store_be32(extras, args.flags);
  store_be32(extras + 4, args.expiry);
  auto frames = encode_frames(args.frames);
  append_doc_request(out, op, opaque, key, args.cas, args.datatype, frames.view(), extras, args.value);
}

void append_delete(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint64_t cas,
                   const mutation_frames& frames, opcode op)
{
  auto f = encode_frames(frames);
  append_doc_request(out, op, opaque, key, cas, 0, f.view(), {}, {});
}

void append_concat(byte_buffer& out, opcode op, std::uint32_t opaque, const doc_key& key, bytes_view value,
                   std::uint64_t cas, const mutation_frames& frames)
{
  auto f = encode_frames(frames);
  append_doc_request(out, op, opaque, key, cas, 0, f.view(), {}, value);
}

void append_counter(byte_buffer& out, opcode op, std::uint32_t opaque, const doc_key& key, const counter_args& args)
{
  std::byte extras[20];
  store_be64(extras, args.delta);
  store_be64(extras + 8, args.initial);
  store_be32(extras + 16, args.expiry);
  auto f = encode_frames(args.frames);
  append_doc_request(out, op, opaque, key, 0, 0, f.view(), extras, {});
}

void append_touch(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint32_t expiry)
{
  std::byte extras[4];
  store_be32(extras, expiry);
  append_doc_request(out, opcode::touch, opaque, key, 0, 0, {}, extras, {});
}

void append_gat(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint32_t expiry, opcode op)
{
  std::byte extras[4];
  store_be32(extras, expiry);
  append_doc_request(out, op, opaque, key, 0, 0, {}, extras, {});
}

void append_get_locked(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint32_t lock_time_s)
{
  std::byte extras[4];
  store_be32(extras, lock_time_s);
  append_doc_request(out, opcode::get_locked, opaque, key, 0, 0, {}, lock_time_s ? bytes_view{extras} : bytes_view{},
                     {});
}

void append_unlock(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint64_t cas)
{
  append_doc_request(out, opcode::unlock_key, opaque, key, cas, 0, {}, {}, {});
}

void append_observe_seqno(byte_buffer& out, std::uint32_t opaque, std::uint16_t vbucket, std::uint64_t vbuuid)
{
  std::byte value[8];
  store_be64(value, vbuuid);
  append_simple(out, opcode::observe_seqno, opaque, {}, {}, value, vbucket);
}

void append_noop(byte_buffer& out, std::uint32_t opaque) { append_simple(out, opcode::noop, opaque); }

void append_version(byte_buffer& out, std::uint32_t opaque) { append_simple(out, opcode::version, opaque); }

void append_stat(byte_buffer& out, std::uint32_t opaque, std::string_view group)
{
  append_simple(out, opcode::stat, opaque, {}, as_bytes(group));
}

void append_select_bucket(byte_buffer& out, std::uint32_t opaque, std::string_view bucket)
{
  append_simple(out, opcode::select_bucket, opaque, {}, as_bytes(bucket));
}

void append_get_error_map(byte_buffer& out, std::uint32_t opaque, std::uint16_t max_version)
{
  std::byte value[2];
  store_be16(value, max_version);
  append_simple(out, opcode::get_error_map, opaque, {}, {}, value);
}

void append_get_cluster_config(byte_buffer& out, std::uint32_t opaque, std::optional<config_version> known)
{
  std::byte extras[16];
  if (known) {
    store_be64(extras, static_cast<std::uint64_t>(known->epoch));
    store_be64(extras + 8, static_cast<std::uint64_t>(known->revision));
  }
  append_simple(out, opcode::get_cluster_config, opaque, known ? bytes_view{extras} : bytes_view{});
}

void append_get_collection_id(byte_buffer& out, std::uint32_t opaque, std::string_view path)
{
  append_simple(out, opcode::collections_get_id, opaque, {}, {}, as_bytes(path));
}

} // namespace couchkv::protocol
