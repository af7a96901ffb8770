// One Duktape heap holding the compiled functions of one design document. Every call into
// JavaScript runs inside a protected call, with a memory cap on the heap and a step budget on
// loops (see loop_guard.hpp), so no map or reduce function can crash or wedge the mock: errors,
// runaway loops, deep recursion and memory exhaustion all come back as an error text.
#pragma once
#include "collate.hpp"

#include <couchkv_mock/view_engine.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace couchkv::mock::views {

struct emitted {
  json key;
  json value;
};

struct js_limits {
  std::size_t memory_bytes{256u << 20};
  std::uint64_t loop_steps{20'000'000}; // loop iterations per map or reduce call
  std::size_t emits_per_doc{100'000};
};

class js_runtime {
public:
  explicit js_runtime(js_limits limits = {});
  ~js_runtime();
  js_runtime(const js_runtime&) = delete;
  js_runtime& operator=(const js_runtime&) = delete;

  // Compiles a function expression ("function (doc, meta) {...}"). Returns its handle, or
  // nullopt with the compiler's message in error.
  std::optional<int> compile(std::string_view source, std::string_view name, std::string& error);

  // Runs map function fn on doc; on success appends the emitted rows to out and returns nullopt,
  // else returns the error text (nothing is appended: a failing doc emits nothing).
  std::optional<std::string> map(int fn, const doc_ref& doc, std::vector<emitted>& out);

  // Runs reduce function fn(keys, values, rereduce). keys is a JSON array of [key, id] pairs (or
  // "null" for a rereduce), values a JSON array. Returns the result or the error text.
  struct reduce_result {
    std::optional<json> value;
    std::string error;
  };
  reduce_result reduce(int fn, const std::string& keys, const std::string& values, bool rereduce);

  struct state;

private:
  std::unique_ptr<state> st_;
};

// Valid UTF-8 from Duktape's internal encoding: surrogate pairs encoded separately (CESU-8) are
// joined, anything malformed becomes U+FFFD.
std::string to_utf8(std::string_view bytes);

} // namespace couchkv::mock::views
