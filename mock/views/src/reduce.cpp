#include "reduce.hpp"

#include <algorithm>
#include <cstdint>

namespace couchkv::mock::views {

namespace {

bool fits_int64(const json& n)
{
  return n.is_number_integer() &&
         !(n.is_number_unsigned() && n.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX));
}

// A sum that stays an integer until it overflows or meets a float.
struct number_sum {
  bool integral{true};
  std::int64_t i{0};
  double d{0};

  void add_double(double x)
  {
    if (integral) {
      d = static_cast<double>(i);
      integral = false;
    }
    d += x;
  }
  void add(const json& n)
  {
    if (fits_int64(n) && integral) {
      std::int64_t r = 0;
      if (!__builtin_add_overflow(i, n.get<std::int64_t>(), &r)) {
        i = r;
        return;
      }
    }
    add_double(n.get<double>());
  }
  void add_square(const json& n)
  {
    if (fits_int64(n) && integral) {
      const auto x = n.get<std::int64_t>();
      std::int64_t sq = 0, r = 0;
      if (!__builtin_mul_overflow(x, x, &sq) && !__builtin_add_overflow(i, sq, &r)) {
        i = r;
        return;
      }
    }
    const auto x = n.get<double>();
    add_double(x * x);
  }
  [[nodiscard]] json value() const { return integral ? json(i) : json(d); }
};

bool is_plain_number(const json& v)
{
  return v.is_number_integer() || v.is_number_float();
}

reduce_outcome sum(const std::vector<const index_row*>& rows)
{
  static const char* const error = "builtin _sum function requires map values to be numbers or lists of numbers";
  std::vector<number_sum> sums(1);
  bool as_array = false;
  for (const auto* r : rows) {
    const json& v = *r->value;
    if (is_plain_number(v)) {
      sums[0].add(v);
    } else if (v.is_array()) {
      as_array = true;
      if (sums.size() < v.size()) sums.resize(v.size());
      for (std::size_t k = 0; k < v.size(); ++k) {
        if (!is_plain_number(v[k])) return {std::nullopt, error};
        sums[k].add(v[k]);
      }
    } else {
      return {std::nullopt, error};
    }
  }
  if (!as_array) return {sums[0].value(), {}};
  json out = json::array();
  for (const auto& s : sums) out.push_back(s.value());
  return {std::move(out), {}};
}

reduce_outcome stats(const std::vector<const index_row*>& rows)
{
  number_sum total, squares;
  const json* min = nullptr;
  const json* max = nullptr;
  for (const auto* r : rows) {
    const json& v = *r->value;
    if (!is_plain_number(v)) return {std::nullopt, "builtin _stats function requires map values to be numbers"};
    total.add(v);
    squares.add_square(v);
    if (min == nullptr || v.get<double>() < min->get<double>()) min = &v;
    if (max == nullptr || v.get<double>() > max->get<double>()) max = &v;
  }
  json out = json::object();
  out["sum"] = total.value();
  out["count"] = rows.size();
  out["min"] = min != nullptr ? *min : json(0);
  out["max"] = max != nullptr ? *max : json(0);
  out["sumsqr"] = squares.value();
  return {std::move(out), {}};
}

std::string dump(const json& v)
{
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// JavaScript reduce: chunks of rows reduced, then the partial results re-reduced until one is left.
reduce_outcome javascript(const view_def& view, js_runtime& js, const std::vector<const index_row*>& rows)
{
  std::vector<json> partials;
  for (std::size_t at = 0; at < rows.size(); at += reduce_chunk_rows) {
    const auto end = std::min(rows.size(), at + reduce_chunk_rows);
    std::string keys = "[", values = "[";
    for (std::size_t k = at; k < end; ++k) {
      if (k != at) {
        keys += ',';
        values += ',';
      }
      keys += '[';
      keys += dump(*rows[k]->key);
      keys += ',';
      keys += dump(json(std::string(rows[k]->id)));
      keys += ']';
      values += dump(*rows[k]->value);
    }
    keys += ']';
    values += ']';
    auto r = js.reduce(view.reduce_fn, keys, values, false);
    if (!r.value) return {std::nullopt, "reduce function failed: " + r.error};
    partials.push_back(std::move(*r.value));
  }
  if (partials.empty()) {
    auto r = js.reduce(view.reduce_fn, "[]", "[]", false);
    if (!r.value) return {std::nullopt, "reduce function failed: " + r.error};
    return {std::move(r.value), {}};
  }
  while (partials.size() > 1) {
    std::vector<json> next;
    for (std::size_t at = 0; at < partials.size(); at += reduce_chunk_rows) {
      const auto end = std::min(partials.size(), at + reduce_chunk_rows);
      json chunk(json::value_t::array);
      for (std::size_t k = at; k < end; ++k) chunk.push_back(std::move(partials[k]));
      auto r = js.reduce(view.reduce_fn, "null", dump(chunk), true);
      if (!r.value) return {std::nullopt, "rereduce failed: " + r.error};
      next.push_back(std::move(*r.value));
    }
    partials = std::move(next);
  }
  return {std::move(partials.front()), {}};
}

} // namespace

reduce_outcome run_reduce(const view_def& view, js_runtime& js, const std::vector<const index_row*>& rows)
{
  switch (view.reduce) {
    case reduce_kind::count: return {json(rows.size()), {}};
    case reduce_kind::sum: return sum(rows);
    case reduce_kind::stats: return stats(rows);
    case reduce_kind::js: return javascript(view, js, rows);
    default: return {std::nullopt, "the view has no reduce function"};
  }
}

} // namespace couchkv::mock::views
