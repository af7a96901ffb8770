#include <couchkv/protocol/opcode.hpp>

namespace couchkv::protocol {

std::string_view to_string(opcode op) noexcept
{
  switch (op) {
    case opcode::get: return "GET";
    case opcode::set: return "SET";
    case opcode::add: return "ADD";
    case opcode::replace: return "REPLACE";
    case opcode::del: return "DELETE";
    case opcode::increment: return "INCREMENT";
    case opcode::decrement: return "DECREMENT";
    case opcode::quit: return "QUIT";
    case opcode::flush: return "FLUSH";
    case opcode::getq: return "GETQ";
    case opcode::noop: return "NOOP";
    case opcode::version: return "VERSION";
    case opcode::getk: return "GETK";
    case opcode::getkq: return "GETKQ";
    case opcode::append: return "APPEND";
    case opcode::prepend: return "PREPEND";
    case opcode::stat: return "STAT";
    case opcode::setq: return "SETQ";
    case opcode::addq: return "ADDQ";
    case opcode::replaceq: return "REPLACEQ";
    case opcode::delq: return "DELETEQ";
    case opcode::incrementq: return "INCREMENTQ";
    case opcode::decrementq: return "DECREMENTQ";
    case opcode::quitq: return "QUITQ";
    case opcode::flushq: return "FLUSHQ";
    case opcode::appendq: return "APPENDQ";
    case opcode::prependq: return "PREPENDQ";
    case opcode::verbosity: return "VERBOSITY";
    case opcode::touch: return "TOUCH";
    case opcode::gat: return "GAT";
    case opcode::gatq: return "GATQ";
    case opcode::hello: return "HELLO";
    case opcode::sasl_list_mechs: return "SASL_LIST_MECHS";
    case opcode::sasl_auth: return "SASL_AUTH";
    case opcode::sasl_step: return "SASL_STEP";
    case opcode::get_all_vb_seqnos: return "GET_ALL_VB_SEQNOS";
    case opcode::list_buckets: return "LIST_BUCKETS";
    case opcode::get_replica: return "GET_REPLICA";
    case opcode::select_bucket: return "SELECT_BUCKET";
    case opcode::observe_seqno: return "OBSERVE_SEQNO";
    case opcode::observe: return "OBSERVE";
    case opcode::evict_key: return "EVICT_KEY";
    case opcode::get_locked: return "GET_LOCKED";
    case opcode::unlock_key: return "UNLOCK_KEY";
    case opcode::get_failover_log: return "GET_FAILOVER_LOG";
    case opcode::get_meta: return "GET_META";
    case opcode::get_cluster_config: return "GET_CLUSTER_CONFIG";
    case opcode::get_random_key: return "GET_RANDOM_KEY";
    case opcode::collections_get_manifest: return "COLLECTIONS_GET_MANIFEST";
    case opcode::collections_get_id: return "COLLECTIONS_GET_ID";
    case opcode::collections_get_scope_id: return "COLLECTIONS_GET_SCOPE_ID";
    case opcode::get_error_map: return "GET_ERROR_MAP";
  }
  return "UNKNOWN";
}

bool is_quiet(opcode op) noexcept
{
  switch (op) {
    case opcode::getq:
    case opcode::getkq:
    case opcode::setq:
    case opcode::addq:
    case opcode::replaceq:
    case opcode::delq:
    case opcode::incrementq:
    case opcode::decrementq:
    case opcode::quitq:
    case opcode::flushq:
    case opcode::appendq:
    case opcode::prependq:
    case opcode::gatq:
      return true;
    default:
      return false;
  }
}

bool carries_collection_id(opcode op) noexcept
{
  // gocbcore's list of collection-encoded commands (docs/protocol.md 3.10), limited to our opcodes.
  switch (op) {
    case opcode::get:
    case opcode::getq:
    case opcode::getk:
    case opcode::getkq:
    case opcode::set:
    case opcode::setq:
    case opcode::add:
    case opcode::addq:
    case opcode::replace:
    case opcode::replaceq:
    case opcode::del:
    case opcode::delq:
    case opcode::increment:
    case opcode::incrementq:
    case opcode::decrement:
    case opcode::decrementq:
    case opcode::append:
    case opcode::appendq:
    case opcode::prepend:
    case opcode::prependq:
    case opcode::touch:
    case opcode::gat:
    case opcode::gatq:
    case opcode::get_replica:
    case opcode::get_locked:
    case opcode::unlock_key:
    case opcode::get_meta:
    case opcode::evict_key:
      return true;
    default:
      return false;
  }
}

bool is_mutation(opcode op) noexcept
{
  switch (op) {
    case opcode::set:
    case opcode::setq:
    case opcode::add:
    case opcode::addq:
    case opcode::replace:
    case opcode::replaceq:
    case opcode::del:
    case opcode::delq:
    case opcode::increment:
    case opcode::incrementq:
    case opcode::decrement:
    case opcode::decrementq:
    case opcode::append:
    case opcode::appendq:
    case opcode::prepend:
    case opcode::prependq:
    case opcode::flush:
    case opcode::flushq:
      return true;
    default:
      return false;
  }
}

} // namespace couchkv::protocol
