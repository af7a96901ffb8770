#include <couchkv/protocol/json_bounds.hpp>

namespace couchkv::protocol {

std::optional<std::string> check_json_bounds(std::string_view text, const json_bounds& bounds)
{
  if (text.size() > bounds.max_bytes) {
    return std::to_string(text.size()) + " bytes, above the limit of " + std::to_string(bounds.max_bytes);
  }
  std::size_t depth = 0;
  std::size_t values = 1;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i; // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > bounds.max_depth) {
          return "nesting deeper than " + std::to_string(bounds.max_depth) + " levels at byte " + std::to_string(i);
        }
        ++values;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case ',':
      case ':': ++values; break;
      default: continue;
    }
    if (values > bounds.max_values) {
      return "more than " + std::to_string(bounds.max_values) + " values (at byte " + std::to_string(i) + ")";
    }
  }
  return std::nullopt;
}

} // namespace couchkv::protocol
