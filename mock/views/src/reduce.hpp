// Reduce functions: the built-ins (_count, _sum, _stats) and JavaScript reduce functions, the
// latter fed in chunks and re-reduced, as a B-tree index would call them.
#pragma once
#include "view_index.hpp"

#include <optional>
#include <string>
#include <vector>

namespace couchkv::mock::views {

struct reduce_outcome {
  std::optional<json> value;
  std::string error;
};

inline constexpr std::size_t reduce_chunk_rows = 256;

reduce_outcome run_reduce(const view_def& view, js_runtime& js, const std::vector<const index_row*>& rows);

} // namespace couchkv::mock::views
