// What a successful answer must carry for the opcode it answers (docs/protocol.md 3.1). The
// decoder only checks that a packet's lengths add up; the parts the client then reads -- a GET's
// flags, a counter's value, a mutation token -- are checked here, once per successful answer and
// before anything reads them. An answer without them is malformed (client_errc::
// malformed_response); it is never read as zeros.
//
// Error answers are not checked: their body is the server's text (or a config), not the opcode's.
// Bodies the client parses as a whole (OBSERVE, OBSERVE_SEQNO, STAT, HELLO, ...) are checked by
// their own parsers.
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/opcode.hpp>
#include <couchkv/protocol/packet.hpp>

#include <cstdint>
#include <string>

namespace couchkv::protocol {

enum class response_defect : std::uint8_t {
  none,
  no_flags,           // GET, GAT, GET_LOCKED, GET_REPLICA (and quiet/key forms): extras are not the 4-byte flags
  no_counter_value,   // INCREMENT / DECREMENT: the value is not the 8-byte counter
  bad_mutation_token, // a mutation's extras: present but not a 16-byte mutation token
};

// The defect of `p` as an answer to `op` (the request's opcode). A switch and a compare or two:
// it runs for every answer.
[[nodiscard]] inline response_defect defect_of(opcode op, const packet_view& p) noexcept
{
  if (p.status() != status::success) return response_defect::none;
  const auto token_ok = [&p] { return p.extras.empty() || p.extras.size() == 16; };
  switch (op) {
    case opcode::get:
    case opcode::getq:
    case opcode::getk:
    case opcode::getkq:
    case opcode::gat:
    case opcode::gatq:
    case opcode::get_locked:
    case opcode::get_replica:
      return p.extras.size() == 4 ? response_defect::none : response_defect::no_flags;
    case opcode::increment:
    case opcode::incrementq:
    case opcode::decrement:
    case opcode::decrementq:
      if (p.value.size() != 8) return response_defect::no_counter_value;
      return token_ok() ? response_defect::none : response_defect::bad_mutation_token;
    case opcode::set:
    case opcode::setq:
    case opcode::add:
    case opcode::addq:
    case opcode::replace:
    case opcode::replaceq:
    case opcode::del:
    case opcode::delq:
    case opcode::append:
    case opcode::appendq:
    case opcode::prepend:
    case opcode::prependq:
    case opcode::touch:
    case opcode::unlock_key:
      return token_ok() ? response_defect::none : response_defect::bad_mutation_token;
    default:
      return response_defect::none;
  }
}

// What is wrong with `p` as an answer to `op`, for an error context: the opcode, what it lacks,
// the sizes it has, and whether the server applied the change anyway, e.g. "GET answered success
// without the 4-byte flags extras (it has 0 bytes of extras)". Empty for response_defect::none.
[[nodiscard]] std::string describe(response_defect d, opcode op, const packet_view& p);

// Readers of the parts defect_of() checked: valid only for an answer it found no defect in.
[[nodiscard]] inline std::uint32_t item_flags(const packet_view& p) noexcept { return load_be32(p.extras.data()); }
[[nodiscard]] inline std::uint64_t counter_value(const packet_view& p) noexcept { return load_be64(p.value.data()); }

} // namespace couchkv::protocol
