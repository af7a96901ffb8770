#include <couchkv/protocol/error_map.hpp>
#include <couchkv/protocol/json_bounds.hpp>
#include <couchkv/protocol/errors.hpp>

#include <nlohmann/json.hpp>

#include <charconv>

namespace couchkv::protocol {
namespace {

std::uint32_t u32_member(const nlohmann::json& obj, const char* name)
{
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_number_unsigned()) return 0;
  auto v = it->get<std::uint64_t>();
  return v > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(v);
}

std::string string_member(const nlohmann::json& obj, const char* name)
{
  auto it = obj.find(name);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : std::string{};
}

} // namespace

std::optional<error_attribute> parse_error_attribute(std::string_view name) noexcept
{
  static constexpr std::pair<std::string_view, error_attribute> table[] = {
      {"success", error_attribute::success},
      {"item-deleted", error_attribute::item_deleted},
      {"item-locked", error_attribute::item_locked},
      {"item-only", error_attribute::item_only},
      {"invalid-input", error_attribute::invalid_input},
      {"fetch-config", error_attribute::fetch_config},
      {"conn-state-invalidated", error_attribute::conn_state_invalidated},
      {"auth", error_attribute::auth},
      {"special-handling", error_attribute::special_handling},
      {"support", error_attribute::support},
      {"temp", error_attribute::temp},
      {"internal", error_attribute::internal},
      {"retry-now", error_attribute::retry_now},
      {"retry-later", error_attribute::retry_later},
      {"no-retry", error_attribute::no_retry},
      {"subdoc", error_attribute::subdoc},
      {"dcp", error_attribute::dcp},
      {"rate-limit", error_attribute::rate_limit},
      {"system-constraint", error_attribute::system_constraint},
      {"auto-retry", error_attribute::auto_retry},
  };
  for (const auto& [n, a] : table) {
    if (n == name) return a;
  }
  return std::nullopt;
}

std::optional<error_map> parse_error_map(std::string_view json, std::error_code& ec)
{
  ec = client_errc::invalid_payload;
  // An error map is tens of kilobytes, four levels deep: bounded before a DOM is built.
  if (check_json_bounds(json, {.max_bytes = 4u * 1024u * 1024u, .max_depth = 16, .max_values = 200'000})) {
    return std::nullopt;
  }
  auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto errors = doc.find("errors");
  if (errors == doc.end() || !errors->is_object()) return std::nullopt;
  error_map map;
  map.version = u32_member(doc, "version");
  map.revision = u32_member(doc, "revision");
  for (const auto& [code_text, entry] : errors->items()) {
    unsigned code = 0;
    auto [p, err] = std::from_chars(code_text.data(), code_text.data() + code_text.size(), code, 16);
    if (err != std::errc{} || p != code_text.data() + code_text.size() || code > 0xffff || !entry.is_object()) {
      return std::nullopt;
    }
    error_info info;
    info.name = string_member(entry, "name");
    info.description = string_member(entry, "desc");
    if (auto attrs = entry.find("attrs"); attrs != entry.end() && attrs->is_array()) {
      for (const auto& a : *attrs) {
        if (!a.is_string()) continue;
        if (auto attr = parse_error_attribute(a.get_ref<const std::string&>())) {
          info.attributes |= 1u << static_cast<unsigned>(*attr);
        }
      }
    }
    if (auto retry = entry.find("retry"); retry != entry.end() && retry->is_object()) {
      retry_spec spec;
      spec.strategy = string_member(*retry, "strategy");
      spec.interval_ms = u32_member(*retry, "interval");
      spec.after_ms = u32_member(*retry, "after");
      spec.ceil_ms = u32_member(*retry, "ceil");
      spec.max_duration_ms = u32_member(*retry, "max-duration");
      info.retry = spec;
    }
    map.errors[static_cast<std::uint16_t>(code)] = std::move(info);
  }
  ec.clear();
  return map;
}

} // namespace couchkv::protocol
