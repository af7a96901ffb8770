// Design documents and view queries: the CAPI behaviour of Couchbase Server 2.x-6.x views
// (couch_set_view / the view merger), for one bucket of the mock.
#include <couchkv_mock/view_engine.hpp>

#include "js_runtime.hpp"
#include "params.hpp"
#include "reduce.hpp"
#include "view_index.hpp"

#include <algorithm>
#include <limits>
#include <mutex>

namespace couchkv::mock::views {

namespace {

struct design_doc {
  std::string body; // as PUT
  json parsed;
  std::string rev;
  std::unique_ptr<js_runtime> js;
  std::vector<view_def> views;
  ddoc_index index{0};
};

std::string dump(const json& v)
{
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

http_result error_result(int status, std::string_view error, std::string_view reason)
{
  json body = json::object();
  body["error"] = error;
  body["reason"] = reason;
  return {status, dump(body)};
}

http_result invalid_ddoc(std::string_view reason)
{
  return error_result(400, "invalid_design_document", reason);
}

std::string_view trim(std::string_view s)
{
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Compiles the design document's functions; returns the error text on failure.
std::optional<std::string> load_views(design_doc& d, const engine_options& opts)
{
  d.js = std::make_unique<js_runtime>(js_limits{opts.js_memory_bytes, opts.js_loop_steps});
  const auto it = d.parsed.find("views");
  if (it == d.parsed.end()) return std::nullopt;
  if (!it->is_object()) return "`views` must be a JSON object";
  for (const auto& [name, def] : it->items()) {
    if (name.empty()) return "a view name is empty";
    if (!def.is_object()) return "view `" + name + "` must be a JSON object";
    const auto map = def.find("map");
    if (map == def.end() || !map->is_string()) return "view `" + name + "` has no `map` function (a string)";
    view_def v{name};
    std::string error;
    const auto fn = d.js->compile(map->get_ref<const std::string&>(), "_design/map/" + name, error);
    if (!fn) return "view `" + name + "`: map function does not compile: " + error;
    v.map_fn = *fn;
    if (const auto red = def.find("reduce"); red != def.end()) {
      if (!red->is_string()) return "view `" + name + "`: `reduce` must be a string";
      const auto src = trim(red->get_ref<const std::string&>());
      if (src == "_count") {
        v.reduce = reduce_kind::count;
      } else if (src == "_sum") {
        v.reduce = reduce_kind::sum;
      } else if (src == "_stats") {
        v.reduce = reduce_kind::stats;
      } else if (src.starts_with("_")) {
        return "view `" + name + "`: unknown built-in reduce function `" + std::string(src) +
               "` (_count, _sum and _stats exist)";
      } else {
        const auto rfn = d.js->compile(src, "_design/reduce/" + name, error);
        if (!rfn) return "view `" + name + "`: reduce function does not compile: " + error;
        v.reduce = reduce_kind::js;
        v.reduce_fn = *rfn;
      }
    }
    d.views.push_back(std::move(v));
  }
  d.index = ddoc_index(d.views.size());
  return std::nullopt;
}

// A stretch of the index in output order: [lo, hi), walked backwards when descending.
struct segment {
  std::size_t lo;
  std::size_t hi;
  bool descending;
};

int compare_row(const index_row& r, const json& key, const std::optional<std::string>& docid)
{
  if (int c = collate(*r.key, key); c != 0 || !docid) return c;
  const int c = r.id.compare(*docid);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// First row not below (key, docid), or above it when strictly is set.
std::size_t bound(const std::vector<index_row>& rows, const json& key, const std::optional<std::string>& docid,
                  bool strictly)
{
  auto it = std::partition_point(rows.begin(), rows.end(), [&](const index_row& r) {
    const int c = compare_row(r, key, docid);
    return strictly ? c <= 0 : c < 0;
  });
  return static_cast<std::size_t>(it - rows.begin());
}

std::vector<segment> select_rows(const std::vector<index_row>& rows, const query_params& q)
{
  std::vector<segment> out;
  if (q.keys) {
    for (const auto& k : *q.keys) out.push_back({bound(rows, k, std::nullopt, false), bound(rows, k, std::nullopt, true), q.descending});
    return out;
  }
  std::size_t lo = 0, hi = rows.size();
  if (!q.descending) {
    if (q.start_key) lo = bound(rows, *q.start_key, q.start_docid, false);
    if (q.end_key) hi = bound(rows, *q.end_key, q.end_docid, q.inclusive_end);
  } else {
    // CouchDB swaps the roles: startkey is the upper end, endkey the lower one.
    if (q.start_key) hi = bound(rows, *q.start_key, q.start_docid, true);
    if (q.end_key) lo = bound(rows, *q.end_key, q.end_docid, !q.inclusive_end);
  }
  out.push_back({lo, std::max(lo, hi), q.descending});
  return out;
}

template <class F>
void for_each_row(const std::vector<index_row>& rows, const std::vector<segment>& segs, F&& f)
{
  for (const auto& s : segs) {
    if (s.descending) {
      for (auto i = s.hi; i > s.lo; --i)
        if (!f(rows[i - 1])) return;
    } else {
      for (auto i = s.lo; i < s.hi; ++i)
        if (!f(rows[i])) return;
    }
  }
}

// The key a row groups under at group_level `level`; whole_key groups by the whole key.
constexpr std::uint64_t whole_key = std::numeric_limits<std::uint64_t>::max();
json group_key(const json& key, std::uint64_t level)
{
  if (!key.is_array() || key.size() <= level) return key;
  json out = json::array();
  for (std::size_t k = 0; k < level; ++k) out.push_back(key[k]);
  return out;
}

struct response {
  std::string debug_info;
  std::optional<std::size_t> total_rows;
  std::vector<std::string> rows;
  std::vector<std::string> errors;

  [[nodiscard]] std::string render() const
  {
    std::string out = "{";
    if (!debug_info.empty()) out += "\"debug_info\":" + debug_info + ",\n";
    if (total_rows) out += "\"total_rows\":" + std::to_string(*total_rows) + ",";
    out += "\"rows\":[\n";
    for (std::size_t k = 0; k < rows.size(); ++k) {
      out += rows[k];
      out += k + 1 < rows.size() ? ",\n" : "\n";
    }
    out += "]";
    if (!errors.empty()) {
      out += ",\n\"errors\":[\n";
      for (std::size_t k = 0; k < errors.size(); ++k) {
        out += errors[k];
        out += k + 1 < errors.size() ? ",\n" : "\n";
      }
      out += "]";
    }
    out += "\n}";
    return out;
  }
};

std::string error_entry(std::string_view reason)
{
  json e = json::object();
  e["from"] = "local";
  e["reason"] = reason;
  return dump(e);
}

std::string map_error_reason(std::string_view id, std::string_view error)
{
  return "map function failed for document " + dump(json(std::string(id))) + ": " + std::string(error);
}

} // namespace

struct engine::impl {
  engine_options opts;
  mutable std::mutex mu;
  std::map<std::string, std::unique_ptr<design_doc>, std::less<>> ddocs;
  std::map<std::string, std::uint64_t, std::less<>> revisions; // kept across deletes

  http_result run_query(design_doc& d, std::size_t view, const query_params& q, const doc_source& docs);
  static std::string render(design_doc& d, std::size_t view, const query_params& q);
};

engine::engine() : engine(engine_options{}) {}

engine::engine(engine_options options) : impl_(std::make_unique<impl>())
{
  impl_->opts = options;
}

engine::~engine() = default;

http_result engine::put_design_doc(std::string_view name, std::string_view json_body)
{
  if (name.empty()) return invalid_ddoc("the design document name is empty");
  auto parsed = parse_request_json(json_body);
  if (!parsed) return invalid_ddoc("the design document is not valid JSON");
  if (!parsed->is_object()) return invalid_ddoc("the design document must be a JSON object");
  auto d = std::make_unique<design_doc>();
  d->body = std::string(json_body);
  d->parsed = std::move(*parsed);
  if (auto err = load_views(*d, impl_->opts)) return invalid_ddoc(*err);

  std::lock_guard lock(impl_->mu);
  auto& rev = impl_->revisions[std::string(name)];
  ++rev;
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08zx", std::hash<std::string_view>{}(json_body) & 0xffffffffu);
  d->rev = std::to_string(rev) + "-" + hash;
  impl_->ddocs[std::string(name)] = std::move(d);
  json body = json::object();
  body["ok"] = true;
  body["id"] = "_design/" + std::string(name);
  return {201, dump(body)};
}

http_result engine::get_design_doc(std::string_view name) const
{
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->ddocs.find(name);
  if (it == impl_->ddocs.end()) return error_result(404, "not_found", "missing");
  return {200, it->second->body};
}

http_result engine::delete_design_doc(std::string_view name)
{
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->ddocs.find(name);
  if (it == impl_->ddocs.end()) return error_result(404, "not_found", "missing");
  json body = json::object();
  body["ok"] = true;
  body["id"] = "_design/" + std::string(name);
  body["rev"] = it->second->rev;
  impl_->ddocs.erase(it);
  return {200, dump(body)};
}

std::string engine::list_design_docs() const
{
  std::lock_guard lock(impl_->mu);
  json rows = json::array();
  for (const auto& [name, d] : impl_->ddocs) {
    json meta = json::object();
    meta["id"] = "_design/" + name;
    meta["rev"] = d->rev;
    json doc = json::object();
    doc["meta"] = std::move(meta);
    doc["json"] = d->parsed;
    json row = json::object();
    row["doc"] = std::move(doc);
    rows.push_back(std::move(row));
  }
  json out = json::object();
  out["rows"] = std::move(rows);
  return dump(out);
}

http_result engine::query(std::string_view ddoc, std::string_view view,
                          const std::multimap<std::string, std::string>& params,
                          std::optional<std::string_view> post_body, const doc_source& docs)
{
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->ddocs.find(ddoc);
  if (it == impl_->ddocs.end()) return error_result(404, "not_found", "missing");
  auto& d = *it->second;
  const auto v = std::find_if(d.views.begin(), d.views.end(), [&](const view_def& x) { return x.name == view; });
  if (v == d.views.end()) return error_result(404, "not_found", "missing_named_view");
  auto parsed = parse_params(params, post_body);
  if (auto* e = std::get_if<param_error>(&parsed)) return error_result(400, e->error, e->reason);
  return impl_->run_query(d, static_cast<std::size_t>(v - d.views.begin()), std::get<query_params>(parsed), docs);
}

http_result engine::impl::run_query(design_doc& d, std::size_t view, const query_params& q, const doc_source& docs)
{
  const auto& def = d.views[view];
  const bool has_reduce = def.reduce != reduce_kind::none;
  if (q.reduce.value_or(false) && !has_reduce)
    return error_result(400, "query_parse_error", "Invalid URL parameter `reduce` for map view.");
  const bool reducing = has_reduce && q.reduce.value_or(true);
  const bool grouping = q.group.value_or(false) || q.group_level.has_value();
  if (grouping && !reducing)
    return error_result(400, "query_parse_error", "Invalid URL parameter `group` or `group_level` for non-reduce view.");
  if (reducing && q.keys && !grouping)
    return error_result(400, "query_parse_error", "Multi-key fetchs for reduce view must include `group=true`");

  const bool was_built = d.index.built();
  if (q.stale == stale_mode::false_ || !was_built) d.index.update(*d.js, d.views, docs);
  auto result = http_result{200, render(d, view, q)};
  if (q.stale == stale_mode::update_after && was_built) d.index.update(*d.js, d.views, docs);
  return result;
}

std::string engine::impl::render(design_doc& d, std::size_t view, const query_params& q)
{
  const auto& def = d.views[view];
  const bool reducing = def.reduce != reduce_kind::none && q.reduce.value_or(true);
  const auto& rows = d.index.rows(view);
  response out;
  if (q.debug) {
    json info = json::object();
    info["stale"] = to_string(q.stale);
    info["index_updates"] = d.index.updates();
    info["indexed_documents"] = d.index.documents();
    info["map_errors"] = d.index.errors(view).size();
    json local = json::object();
    local["local"] = std::move(info);
    out.debug_info = dump(local);
  }
  for (const auto& [id, error] : d.index.errors(view)) {
    out.errors.push_back(error_entry(map_error_reason(id, error)));
    if (q.on_error == on_error_mode::stop) {
      out.total_rows = 0;
      return out.render();
    }
  }

  const auto segs = select_rows(rows, q);
  const auto limit = q.limit.value_or(UINT64_MAX);
  std::uint64_t skipped = 0;
  auto wanted = [&] {
    if (skipped < q.skip) {
      ++skipped;
      return false;
    }
    return true;
  };
  bool stopped = false;
  if (!reducing) {
    out.total_rows = rows.size();
    for_each_row(rows, segs, [&](const index_row& r) {
      if (out.rows.size() >= limit) return false;
      if (wanted())
        out.rows.push_back("{\"id\":" + dump(json(std::string(r.id))) + ",\"key\":" + dump(*r.key) +
                           ",\"value\":" + dump(*r.value) + "}");
      return true;
    });
  } else {
    // group_level=N groups by the first N elements; group=true by the whole key; neither: one group.
    const std::uint64_t level = q.group_level ? *q.group_level : (q.group.value_or(false) ? whole_key : 0);
    const bool single = level == 0 && !q.keys;
    std::vector<const index_row*> group;
    json current;
    auto flush = [&]() {
      if (group.empty()) return true;
      auto r = run_reduce(def, *d.js, group);
      group.clear();
      if (!r.value) {
        out.errors.push_back(error_entry(r.error));
        if (q.on_error == on_error_mode::stop) {
          stopped = true;
          return false;
        }
        return out.rows.size() < limit;
      }
      if (out.rows.size() < limit && wanted())
        out.rows.push_back("{\"key\":" + dump(single ? json(nullptr) : current) + ",\"value\":" + dump(*r.value) + "}");
      return out.rows.size() < limit;
    };
    for (const auto& s : segs) {
      bool go = true;
      for_each_row(rows, {s}, [&](const index_row& r) {
        if (!single) {
          auto k = group_key(*r.key, level);
          if (!group.empty() && collate(k, current) != 0) go = flush();
          if (!go) return false;
          if (group.empty()) current = std::move(k);
        }
        group.push_back(&r);
        return true;
      });
      if (!go) break;
      if (q.keys && !flush()) break; // each key is its own group
    }
    if (!stopped && out.rows.size() < limit) flush();
  }

  return out.render();
}

} // namespace couchkv::mock::views
