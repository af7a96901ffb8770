// view_query: validation and encoding into an HTTP request (method, path, body).
#include <couchkv/views.hpp>

#include <couchkv/views/json_text.hpp>

#include <array>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

namespace couchkv {
namespace {

constexpr std::string_view design_prefix = "_design/";
constexpr std::string_view dev_prefix = "dev_";

// Every name a typed setter sends (and the server's aliases), so raw() cannot send it twice.
constexpr std::array<std::string_view, 23> typed_names{
    "stale",          "descending",       "reduce",       "group",           "group_level",
    "key",            "keys",             "startkey",     "start_key",       "startkey_docid",
    "start_key_doc_id", "endkey",         "end_key",      "endkey_docid",    "end_key_doc_id",
    "inclusive_end",  "limit",            "skip",         "on_error",        "full_set",
    "connection_timeout", "debug",        "include_docs",
};

std::string_view trim(std::string_view s) noexcept
{
  constexpr std::string_view ws = " \t\r\n";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

std::string keys_array(const std::vector<json_value>& keys)
{
  std::string out = "[";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i != 0) out += ',';
    out += keys[i].text();
  }
  out += ']';
  return out;
}

// Builds "a=b&c=d", percent-encoding each value.
class query_builder {
public:
  void add(std::string_view name, std::string_view value)
  {
    if (!out_.empty()) out_ += '&';
    views::append_percent_encoded(out_, name);
    out_ += '=';
    views::append_percent_encoded(out_, value);
  }
  void add(std::string_view name, bool value) { add(name, std::string_view{value ? "true" : "false"}); }
  void add(std::string_view name, std::int64_t value)
  {
    std::array<char, 24> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    (void)ec; // 24 bytes hold any int64
    add(name, std::string_view(buf.data(), static_cast<std::size_t>(end - buf.data())));
  }
  [[nodiscard]] const std::string& str() const noexcept { return out_; }

private:
  std::string out_;
};

view_failure invalid(std::string detail)
{
  return {make_error_code(view_errc::invalid_argument), std::move(detail)};
}

} // namespace

json_value::json_value(std::string_view s)
{
  views::append_json_string(text_, s);
  if (!views::is_valid_utf8(s)) problem_ = "string is not valid UTF-8";
}

json_value::json_value(std::int64_t n) : text_(std::to_string(n)) {}

json_value::json_value(std::uint64_t n) : text_(std::to_string(n)) {}

json_value::json_value(double d)
{
  if (!std::isfinite(d)) {
    text_ = "null";
    problem_ = "number is not finite (JSON has no NaN or infinity)";
    return;
  }
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  (void)ec; // the shortest round-trip form of a double fits in 32 bytes
  text_.assign(buf.data(), end);
}

json_value json_value::raw(std::string_view json_text)
{
  json_value v;
  const auto t = trim(json_text);
  v.text_.assign(t);
  if (t.empty()) {
    v.problem_ = "empty JSON text";
  } else if (!nlohmann::json::accept(t)) {
    v.problem_ = "not valid JSON: " + std::string(t.substr(0, 64));
  }
  return v;
}

json_value json_value::array(std::initializer_list<json_value> elements)
{
  json_value v;
  v.text_ = "[";
  std::size_t i = 0;
  for (const auto& e : elements) {
    if (i != 0) v.text_ += ',';
    v.text_ += e.text_;
    if (v.problem_.empty() && !e.problem_.empty()) v.problem_ = "element " + std::to_string(i) + ": " + e.problem_;
    ++i;
  }
  v.text_ += ']';
  return v;
}

view_query::view_query(std::string design_document, std::string view_name, bool development)
    : ddoc_(std::move(design_document)), view_(std::move(view_name))
{
  if (ddoc_.starts_with(design_prefix)) ddoc_.erase(0, design_prefix.size());
  if (development && !ddoc_.starts_with(dev_prefix)) ddoc_.insert(0, dev_prefix);
}

view_query& view_query::stale(view_stale s) { stale_ = s; return *this; }
view_query& view_query::descending(bool d) { descending_ = d; return *this; }
view_query& view_query::reduce(bool r) { reduce_ = r; return *this; }
view_query& view_query::group(bool g) { group_ = g; return *this; }
view_query& view_query::group_level(std::int64_t level) { group_level_ = level; return *this; }
view_query& view_query::key(json_value k) { key_ = std::move(k); return *this; }
view_query& view_query::keys(std::vector<json_value> ks) { keys_ = std::move(ks); return *this; }
view_query& view_query::start_key(json_value k) { start_key_ = std::move(k); return *this; }
view_query& view_query::start_key_doc_id(std::string id) { start_key_doc_id_ = std::move(id); return *this; }
view_query& view_query::end_key(json_value k) { end_key_ = std::move(k); return *this; }
view_query& view_query::end_key_doc_id(std::string id) { end_key_doc_id_ = std::move(id); return *this; }
view_query& view_query::inclusive_end(bool i) { inclusive_end_ = i; return *this; }
view_query& view_query::limit(std::int64_t n) { limit_ = n; return *this; }
view_query& view_query::skip(std::int64_t n) { skip_ = n; return *this; }
view_query& view_query::on_error(view_on_error e) { on_error_ = e; return *this; }
view_query& view_query::full_set(bool f) { full_set_ = f; return *this; }
view_query& view_query::connection_timeout(std::int64_t milliseconds) { connection_timeout_ = milliseconds; return *this; }
view_query& view_query::debug(bool d) { debug_ = d; return *this; }
view_query& view_query::include_docs(bool i) { include_docs_ = i; return *this; }
view_query& view_query::post_threshold(std::size_t bytes) { post_threshold_ = bytes; return *this; }

view_query& view_query::raw(std::string name, std::string value)
{
  raw_.emplace_back(std::move(name), std::move(value));
  return *this;
}

view_expected<encoded_view_request> view_query::encode(std::string_view bucket) const
{
  view_expected<encoded_view_request> result;
  auto fail = [&](std::string detail) {
    result.error = invalid(std::move(detail));
    return result;
  };

  if (bucket.empty()) return fail("bucket name is empty");
  if (ddoc_.empty()) return fail("design document name is empty");
  if (view_.empty()) return fail("view name is empty");
  if (limit_ && *limit_ < 0) return fail("limit must not be negative (" + std::to_string(*limit_) + ")");
  if (skip_ && *skip_ < 0) return fail("skip must not be negative (" + std::to_string(*skip_) + ")");
  if (group_level_ && *group_level_ < 0) {
    return fail("group_level must not be negative (" + std::to_string(*group_level_) + ")");
  }
  if (connection_timeout_ && *connection_timeout_ < 0) {
    return fail("connection_timeout must not be negative (" + std::to_string(*connection_timeout_) + ")");
  }
  if (reduce_ == false && group_level_) return fail("group_level needs reduce; reduce=false was set");
  if (reduce_ == false && group_ == true) return fail("group=true needs reduce; reduce=false was set");
  if (group_ && group_level_) return fail("group and group_level are mutually exclusive");
  if (key_ && keys_) return fail("key and keys are mutually exclusive");
  if (include_docs_ && reduce_ == true) return fail("include_docs needs document rows; it is invalid with reduce=true");

  const std::pair<const char*, const std::optional<json_value>*> json_params[] = {
      {"key", &key_}, {"start_key", &start_key_}, {"end_key", &end_key_}};
  for (const auto& [name, value] : json_params) {
    if (*value && !(*value)->problem().empty()) return fail(std::string(name) + ": " + (*value)->problem());
  }
  if (keys_) {
    for (std::size_t i = 0; i < keys_->size(); ++i) {
      if (!(*keys_)[i].problem().empty()) return fail("keys[" + std::to_string(i) + "]: " + (*keys_)[i].problem());
    }
  }
  for (const auto& [name, value] : raw_) {
    if (name.empty()) return fail("raw parameter with an empty name");
    for (auto typed : typed_names) {
      if (name == typed) return fail("raw parameter \"" + name + "\" duplicates a typed setter");
    }
  }

  // Encoded twice at most: with keys in the query string, then (over the threshold) without.
  auto build = [&](bool with_keys) {
    query_builder q;
    if (stale_) {
      switch (*stale_) {
        case view_stale::ok: q.add("stale", std::string_view{"ok"}); break;
        case view_stale::update_after: q.add("stale", std::string_view{"update_after"}); break;
        case view_stale::false_: q.add("stale", std::string_view{"false"}); break;
      }
    }
    if (descending_) q.add("descending", *descending_);
    if (reduce_) q.add("reduce", *reduce_);
    if (group_) q.add("group", *group_);
    if (group_level_) q.add("group_level", *group_level_);
    if (key_) q.add("key", key_->text());
    if (keys_ && with_keys) q.add("keys", keys_array(*keys_));
    if (start_key_) q.add("startkey", start_key_->text());
    if (start_key_doc_id_) q.add("startkey_docid", *start_key_doc_id_);
    if (end_key_) q.add("endkey", end_key_->text());
    if (end_key_doc_id_) q.add("endkey_docid", *end_key_doc_id_);
    if (inclusive_end_) q.add("inclusive_end", *inclusive_end_);
    if (limit_) q.add("limit", *limit_);
    if (skip_) q.add("skip", *skip_);
    if (on_error_) q.add("on_error", std::string_view{*on_error_ == view_on_error::stop ? "stop" : "continue"});
    if (full_set_) q.add("full_set", *full_set_);
    if (connection_timeout_) q.add("connection_timeout", *connection_timeout_);
    if (debug_) q.add("debug", *debug_);
    for (const auto& [name, value] : raw_) q.add(name, value);
    return q.str();
  };

  encoded_view_request req;
  std::string query = build(true);
  if (keys_ && query.size() > post_threshold_) {
    query = build(false);
    req.method = "POST";
    req.body = "{\"keys\":" + keys_array(*keys_) + "}";
    req.content_type = "application/json";
  } else {
    req.method = "GET";
  }
  req.path = "/";
  views::append_percent_encoded(req.path, bucket);
  req.path += "/_design/";
  views::append_percent_encoded(req.path, ddoc_);
  req.path += "/_view/";
  views::append_percent_encoded(req.path, view_);
  if (!query.empty()) {
    req.path += '?';
    req.path += query;
  }
  result.value = std::move(req);
  return result;
}

} // namespace couchkv
