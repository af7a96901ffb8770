// Client opcodes (magic 0x80/0x08) and server-initiated opcodes (magic 0x82).
#pragma once
#include <cstdint>
#include <string_view>

namespace couchkv::protocol {

enum class opcode : std::uint8_t {
  get = 0x00,
  set = 0x01,
  add = 0x02,
  replace = 0x03,
  del = 0x04,
  increment = 0x05,
  decrement = 0x06,
  quit = 0x07,
  flush = 0x08,
  getq = 0x09,
  noop = 0x0a,
  version = 0x0b,
  getk = 0x0c,
  getkq = 0x0d,
  append = 0x0e,
  prepend = 0x0f,
  stat = 0x10,
  setq = 0x11,
  addq = 0x12,
  replaceq = 0x13,
  delq = 0x14,
  incrementq = 0x15,
  decrementq = 0x16,
  quitq = 0x17,
  flushq = 0x18,
  appendq = 0x19,
  prependq = 0x1a,
  verbosity = 0x1b,
  touch = 0x1c,
  gat = 0x1d,
  gatq = 0x1e,
  hello = 0x1f,
  sasl_list_mechs = 0x20,
  sasl_auth = 0x21,
  sasl_step = 0x22,
  get_all_vb_seqnos = 0x48,
  list_buckets = 0x87,
  get_replica = 0x83,
  select_bucket = 0x89,
  observe_seqno = 0x91,
  observe = 0x92,
  evict_key = 0x93,
  get_locked = 0x94,
  unlock_key = 0x95,
  get_failover_log = 0x96,
  get_meta = 0xa0,
  get_cluster_config = 0xb5,
  get_random_key = 0xb6,
  collections_get_manifest = 0xba,
  collections_get_id = 0xbb,
  collections_get_scope_id = 0xbc,
  get_error_map = 0xfe,
};

// Opcodes of server-initiated requests (magic 0x82).
enum class server_opcode : std::uint8_t {
  clustermap_change_notification = 0x01,
  authenticate = 0x02,
  active_external_users = 0x03,
  get_authorization = 0x04,
};

// Human name, e.g. "GET", "SET"; "UNKNOWN" for codes not in the enum.
[[nodiscard]] std::string_view to_string(opcode op) noexcept;

// Quiet forms suppress the uninteresting response (success for mutations, miss for gets).
[[nodiscard]] bool is_quiet(opcode op) noexcept;

// True for the opcodes whose key carries a LEB128 collection-id prefix on a connection that
// negotiated Collections.
[[nodiscard]] bool carries_collection_id(opcode op) noexcept;

// True for operations that change a document (their failure after sending may be ambiguous).
[[nodiscard]] bool is_mutation(opcode op) noexcept;

} // namespace couchkv::protocol
