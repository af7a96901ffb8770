// The index of one design document: every view's rows sorted by (key collation, doc id), kept
// per document so an update re-maps only new and changed documents.
#pragma once
#include "js_runtime.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace couchkv::mock::views {

enum class reduce_kind { none, count, sum, stats, js };

struct view_def {
  std::string name;
  int map_fn{-1};
  reduce_kind reduce{reduce_kind::none};
  int reduce_fn{-1};
};

struct index_row {
  std::string_view id;
  const json* key;
  const json* value;
};

class ddoc_index {
public:
  explicit ddoc_index(std::size_t views) : sorted_(views), errors_(views) {}

  // Brings the index up to date with docs: maps new and changed documents, drops vanished ones.
  void update(js_runtime& js, const std::vector<view_def>& views, const doc_source& docs);

  [[nodiscard]] bool built() const { return updates_ > 0; }
  [[nodiscard]] std::uint64_t updates() const { return updates_; }
  [[nodiscard]] std::size_t documents() const { return docs_.size(); }
  [[nodiscard]] const std::vector<index_row>& rows(std::size_t view) const { return sorted_[view]; }
  // (doc id, error text) of the documents whose map function threw, by doc id.
  [[nodiscard]] const std::vector<std::pair<std::string_view, std::string_view>>& errors(std::size_t view) const
  {
    return errors_[view];
  }

private:
  struct doc_entry {
    std::uint64_t fingerprint{0};
    std::uint64_t seen{0};
    std::vector<std::vector<emitted>> emits;   // per view
    std::vector<std::string> errors;           // per view, empty = none
  };
  void resort();

  std::map<std::string, doc_entry, std::less<>> docs_;
  std::vector<std::vector<index_row>> sorted_;
  std::vector<std::vector<std::pair<std::string_view, std::string_view>>> errors_;
  std::uint64_t updates_{0};
};

} // namespace couchkv::mock::views
