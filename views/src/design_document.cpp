// Design documents: the body PUT to /<bucket>/_design/<name> and the one GET returns.
#include <couchkv/views.hpp>

#include <nlohmann/json.hpp>

namespace couchkv {
namespace {

constexpr std::string_view design_prefix = "_design/";

view_failure invalid(std::string detail)
{
  return {make_error_code(view_errc::invalid_design_document), std::move(detail)};
}

} // namespace

std::string design_document::to_json() const
{
  nlohmann::json views_json = nlohmann::json::object();
  for (const auto& [view_name, def] : views) {
    nlohmann::json v{{"map", def.map}};
    if (def.reduce) v["reduce"] = *def.reduce;
    views_json[view_name] = std::move(v);
  }
  // Invalid UTF-8 in a map function is replaced rather than thrown: the server would reject it.
  return nlohmann::json{{"views", std::move(views_json)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

view_expected<design_document> parse_design_document(std::string_view body, std::string_view fallback_name)
{
  view_expected<design_document> result;
  auto fail = [&](std::string detail) {
    result.error = invalid(std::move(detail));
    return result;
  };
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail("the body is not valid JSON");
  if (!doc.is_object()) return fail("the body is not a JSON object");

  design_document out;
  if (auto id = doc.find("_id"); id != doc.end()) {
    if (!id->is_string()) return fail("\"_id\" is not a string");
    std::string_view name = id->get_ref<const std::string&>();
    if (!name.starts_with(design_prefix)) return fail("\"_id\" does not start with \"_design/\"");
    out.name = name.substr(design_prefix.size());
  } else {
    out.name = fallback_name.starts_with(design_prefix) ? fallback_name.substr(design_prefix.size()) : fallback_name;
  }
  if (out.name.empty()) return fail("no design document name (no \"_id\" and none given)");

  if (auto views = doc.find("views"); views != doc.end()) {
    if (!views->is_object()) return fail("\"views\" is not an object");
    for (const auto& [name, def] : views->items()) {
      if (!def.is_object()) return fail("view \"" + name + "\" is not an object");
      auto map = def.find("map");
      if (map == def.end()) return fail("view \"" + name + "\" has no map function");
      if (!map->is_string()) return fail("view \"" + name + "\": \"map\" is not a string");
      view_definition v{map->get<std::string>(), std::nullopt};
      if (auto reduce = def.find("reduce"); reduce != def.end() && !reduce->is_null()) {
        if (!reduce->is_string()) return fail("view \"" + name + "\": \"reduce\" is not a string");
        v.reduce = reduce->get<std::string>();
      }
      out.views.emplace(name, std::move(v));
    }
  }
  result.value = std::move(out);
  return result;
}

} // namespace couchkv
