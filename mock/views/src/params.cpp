#include "params.hpp"

#include <algorithm>
#include <charconv>

namespace couchkv::mock::views {

namespace {

constexpr int max_json_depth = 256;

bool nesting_within(std::string_view text, int limit)
{
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

std::string lower(std::string_view s)
{
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

param_error invalid(std::string_view name, std::string_view value, std::string_view expected)
{
  std::string reason = "Invalid value for parameter `" + std::string(name) + "`: \"";
  reason.append(value.substr(0, 200));
  reason += "\" (expected ";
  reason += expected;
  reason += ")";
  return {"query_parse_error", std::move(reason)};
}

std::optional<bool> parse_bool(std::string_view v)
{
  const auto l = lower(v);
  if (l == "true") return true;
  if (l == "false") return false;
  return std::nullopt;
}

std::optional<std::uint64_t> parse_uint(std::string_view v)
{
  std::uint64_t n = 0;
  if (v.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || p != v.data() + v.size()) return std::nullopt;
  return n;
}

} // namespace

std::optional<json> parse_request_json(std::string_view text)
{
  if (!nesting_within(text, max_json_depth)) return std::nullopt;
  auto v = json::parse(text, nullptr, false);
  if (v.is_discarded()) return std::nullopt;
  return v;
}

std::string_view to_string(stale_mode s)
{
  switch (s) {
    case stale_mode::ok: return "ok";
    case stale_mode::false_: return "false";
    default: return "update_after";
  }
}

std::variant<query_params, param_error> parse_params(const std::multimap<std::string, std::string>& params,
                                                     std::optional<std::string_view> post_body)
{
  query_params q;
  for (const auto& [name, value] : params) {
    auto want_json = [&](std::optional<json>& slot) -> std::optional<param_error> {
      auto v = parse_request_json(value);
      if (!v) return invalid(name, value, "a JSON value");
      slot = std::move(*v);
      q.key_or_range = true;
      return std::nullopt;
    };
    auto want_bool = [&](auto& slot) -> std::optional<param_error> {
      auto v = parse_bool(value);
      if (!v) return invalid(name, value, "true or false");
      slot = *v;
      return std::nullopt;
    };
    auto want_uint = [&](auto& slot) -> std::optional<param_error> {
      auto v = parse_uint(value);
      if (!v) return invalid(name, value, "a non-negative integer");
      slot = *v;
      return std::nullopt;
    };
    std::optional<param_error> err;
    if (name == "key") {
      err = want_json(q.start_key);
      if (!err) q.end_key = q.start_key;
    } else if (name == "keys") {
      auto v = parse_request_json(value);
      if (!v || !v->is_array()) return invalid(name, value, "a JSON array");
      q.keys = std::vector<json>(v->begin(), v->end());
    } else if (name == "startkey" || name == "start_key") {
      err = want_json(q.start_key);
    } else if (name == "endkey" || name == "end_key") {
      err = want_json(q.end_key);
    } else if (name == "startkey_docid" || name == "start_key_doc_id") {
      q.start_docid = value;
    } else if (name == "endkey_docid" || name == "end_key_doc_id") {
      q.end_docid = value;
    } else if (name == "inclusive_end") {
      err = want_bool(q.inclusive_end);
    } else if (name == "limit") {
      err = want_uint(q.limit);
    } else if (name == "skip") {
      err = want_uint(q.skip);
    } else if (name == "descending") {
      err = want_bool(q.descending);
    } else if (name == "reduce") {
      err = want_bool(q.reduce);
    } else if (name == "group") {
      err = want_bool(q.group);
    } else if (name == "group_level") {
      err = want_uint(q.group_level);
    } else if (name == "stale") {
      const auto l = lower(value);
      if (l == "ok") q.stale = stale_mode::ok;
      else if (l == "false") q.stale = stale_mode::false_;
      else if (l == "update_after") q.stale = stale_mode::update_after;
      else return invalid(name, value, "false, ok or update_after");
    } else if (name == "on_error") {
      const auto l = lower(value);
      if (l == "continue") q.on_error = on_error_mode::continue_;
      else if (l == "stop") q.on_error = on_error_mode::stop;
      else return invalid(name, value, "continue or stop");
    } else if (name == "debug") {
      err = want_bool(q.debug);
    } else if (name == "full_set" || name == "include_docs") {
      bool ignored = false;
      err = want_bool(ignored);
    } else if (name == "connection_timeout") {
      std::uint64_t ignored = 0;
      err = want_uint(ignored);
    }
    // Anything else is passed through by the server as an "extra" parameter: ignored.
    if (err) return *err;
  }
  if (post_body && !post_body->empty()) {
    auto body = parse_request_json(*post_body);
    if (!body || !body->is_object())
      return param_error{"bad_request", "the POST body must be a JSON object such as {\"keys\":[...]}"};
    if (auto it = body->find("keys"); it != body->end()) {
      if (!it->is_array()) return param_error{"query_parse_error", "`keys` member must be an array."};
      q.keys = std::vector<json>(it->begin(), it->end());
    }
  }
  if (q.keys && q.key_or_range)
    return param_error{"query_parse_error", "`keys` is incompatible with `key`, `startkey` and `endkey`"};
  return q;
}

} // namespace couchkv::mock::views
