#include "view_index.hpp"

#include <algorithm>
#include <functional>

namespace couchkv::mock::views {

namespace {

std::uint64_t fingerprint(const doc_ref& d)
{
  std::uint64_t h = std::hash<std::string_view>{}(d.value);
  auto mix = [&h](std::uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  mix(d.cas);
  mix(d.flags);
  mix(d.expiration);
  mix(d.is_json ? 1 : 0);
  return h;
}

} // namespace

void ddoc_index::update(js_runtime& js, const std::vector<view_def>& views, const doc_source& docs)
{
  const auto generation = updates_ + 1;
  bool changed = updates_ == 0;
  docs([&](const doc_ref& d) {
    if (d.id.starts_with("_design/")) return;
    const auto fp = fingerprint(d);
    auto it = docs_.find(d.id);
    if (it != docs_.end() && it->second.fingerprint == fp && it->second.seen != generation) {
      it->second.seen = generation;
      return;
    }
    if (it == docs_.end()) it = docs_.emplace(std::string(d.id), doc_entry{}).first;
    auto& e = it->second;
    e.fingerprint = fp;
    e.seen = generation;
    e.emits.assign(views.size(), {});
    e.errors.assign(views.size(), {});
    for (std::size_t v = 0; v < views.size(); ++v) {
      if (auto err = js.map(views[v].map_fn, d, e.emits[v])) e.errors[v] = std::move(*err);
    }
    changed = true;
  });
  for (auto it = docs_.begin(); it != docs_.end();) {
    if (it->second.seen != generation) {
      it = docs_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  updates_ = generation;
  if (changed) resort();
}

void ddoc_index::resort()
{
  for (std::size_t v = 0; v < sorted_.size(); ++v) {
    auto& rows = sorted_[v];
    auto& errs = errors_[v];
    rows.clear();
    errs.clear();
    // docs_ iterates in raw doc-id order, so a stable sort by key leaves ties ordered by id.
    for (const auto& [id, e] : docs_) {
      for (const auto& em : e.emits[v]) rows.push_back({id, &em.key, &em.value});
      if (!e.errors[v].empty()) errs.emplace_back(id, e.errors[v]);
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const index_row& a, const index_row& b) { return collate(*a.key, *b.key) < 0; });
  }
}

} // namespace couchkv::mock::views
