// Request builders. Each appends one complete packet to a caller-owned buffer (reuse the buffer
// across packets: no per-packet allocation once it has grown). Layouts: docs/protocol.md 2.
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/frame_info.hpp>
#include <couchkv/protocol/header.hpp>
#include <couchkv/protocol/opcode.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace couchkv::protocol {

// Any packet from its parts. Chooses magic 0x08 (flexible framing) when framing_extras is not
// empty, else `classic_magic` (0x80 for requests; the mock uses append_response instead).
struct raw_request {
  opcode op{opcode::noop};
  std::uint32_t opaque{0};
  std::uint16_t vbucket{0};
  std::uint64_t cas{0};
  std::uint8_t datatype{0};
  bytes_view framing_extras{};
  bytes_view extras{};
  bytes_view key{};
  bytes_view value{};
};
void append_request(byte_buffer& out, const raw_request& r);

// Document key with its routing: vbucket, and the collection id when the connection negotiated
// Collections (then the key is prefixed with its LEB128 encoding).
struct doc_key {
  std::string_view key{};
  std::uint16_t vbucket{0};
  std::optional<std::uint32_t> collection_id{};
};

// Mutation options common to SET/ADD/REPLACE/DELETE/APPEND/PREPEND/INCR/DECR.
struct mutation_frames {
  std::optional<durability_requirement> durability{};
  bool preserve_ttl{false};
};

struct store_args {
  bytes_view value{};
  std::uint32_t flags{0};
  std::uint32_t expiry{0};
  std::uint64_t cas{0};
  std::uint8_t datatype{0};
  mutation_frames frames{};
};

struct counter_args {
  std::uint64_t delta{1};
  std::uint64_t initial{0};
  std::uint32_t expiry{0}; // 0xffffffff: fail with not-found instead of creating
  mutation_frames frames{};
};

// op: get, getq, getk, getkq, get_replica
void append_get(byte_buffer& out, std::uint32_t opaque, const doc_key& key, opcode op = opcode::get);
// The same bytes as append_get for a key without a collection (opaque 0), written in place with no
// intermediate header: for batches of GETs, where it runs once per key. write_plain_get writes
// every byte of the request at `out` (header_size + key.size() bytes; nothing need be zeroed
// beforehand) and returns the end.
inline std::byte* write_plain_get(std::byte* out, std::string_view key, std::uint16_t vbucket) noexcept
{
  out[0] = static_cast<std::byte>(magic::client_request);
  out[1] = static_cast<std::byte>(opcode::get);
  store_be16(out + 2, static_cast<std::uint16_t>(key.size()));
  out[4] = std::byte{0}; // extras length
  out[5] = std::byte{0}; // datatype
  store_be16(out + 6, vbucket);
  store_be32(out + 8, static_cast<std::uint32_t>(key.size()));
  store_be32(out + 12, 0); // opaque
  store_be64(out + 16, 0); // CAS
  if (!key.empty()) std::memcpy(out + header_size, key.data(), key.size());
  return out + header_size + key.size();
}
inline void append_plain_get(byte_buffer& out, std::string_view key, std::uint16_t vbucket)
{
  const auto at = out.size();
  out.resize(at + header_size + key.size());
  write_plain_get(out.data() + at, key, vbucket);
}
// op: set, add, replace and their quiet forms
void append_store(byte_buffer& out, opcode op, std::uint32_t opaque, const doc_key& key, const store_args& args);
// op: del, delq
void append_delete(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint64_t cas,
                   const mutation_frames& frames = {}, opcode op = opcode::del);
// op: append, prepend and their quiet forms
void append_concat(byte_buffer& out, opcode op, std::uint32_t opaque, const doc_key& key, bytes_view value,
                   std::uint64_t cas, const mutation_frames& frames = {});
// op: increment, decrement and their quiet forms
void append_counter(byte_buffer& out, opcode op, std::uint32_t opaque, const doc_key& key, const counter_args& args);
void append_touch(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint32_t expiry);
// op: gat, gatq
void append_gat(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint32_t expiry,
                opcode op = opcode::gat);
// lock_time_s == 0: server default lock time (no extras are sent)
void append_get_locked(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint32_t lock_time_s);
void append_unlock(byte_buffer& out, std::uint32_t opaque, const doc_key& key, std::uint64_t cas);
void append_observe_seqno(byte_buffer& out, std::uint32_t opaque, std::uint16_t vbucket, std::uint64_t vbuuid);
void append_noop(byte_buffer& out, std::uint32_t opaque);
void append_version(byte_buffer& out, std::uint32_t opaque);
void append_stat(byte_buffer& out, std::uint32_t opaque, std::string_view group = {});
void append_select_bucket(byte_buffer& out, std::uint32_t opaque, std::string_view bucket);
void append_get_error_map(byte_buffer& out, std::uint32_t opaque, std::uint16_t max_version = 2);

struct config_version {
  std::int64_t epoch{0};
  std::int64_t revision{0};
};
// With a known version (GetClusterConfigWithKnownVersion negotiated) the 16-byte extras are sent.
void append_get_cluster_config(byte_buffer& out, std::uint32_t opaque,
                               std::optional<config_version> known = std::nullopt);
// path: "scope.collection"
void append_get_collection_id(byte_buffer& out, std::uint32_t opaque, std::string_view path);

} // namespace couchkv::protocol
