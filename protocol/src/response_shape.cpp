#include <couchkv/protocol/response_shape.hpp>

namespace couchkv::protocol {

std::string describe(response_defect d, opcode op, const packet_view& p)
{
  const std::string name(to_string(op));
  // The server answered success: a mutation it reports so was applied, whatever the client does
  // with the answer.
  const std::string applied = is_mutation(op) ? " (the change was applied)" : "";
  switch (d) {
    case response_defect::none: return {};
    case response_defect::no_flags:
      return name + " answered success without the 4-byte flags extras (it has " + std::to_string(p.extras.size()) +
             " bytes of extras)";
    case response_defect::no_counter_value:
      return name + " answered success" + applied + " without the 8-byte counter value (it has " +
             std::to_string(p.value.size()) + " bytes of value)";
    case response_defect::bad_mutation_token:
      return name + " answered success" + applied + " with " + std::to_string(p.extras.size()) +
             " bytes of extras, which are no 16-byte mutation token";
  }
  return {};
}

} // namespace couchkv::protocol
