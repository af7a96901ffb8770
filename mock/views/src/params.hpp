// The view query parameters as couch_httpd_view.erl / the Couchbase view merger parse them.
#pragma once
#include "collate.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace couchkv::mock::views {

enum class stale_mode { update_after, ok, false_ };
enum class on_error_mode { continue_, stop };

struct query_params {
  std::optional<json> start_key;
  std::optional<json> end_key;
  std::optional<std::string> start_docid;
  std::optional<std::string> end_docid;
  std::optional<std::vector<json>> keys;
  bool inclusive_end{true};
  std::optional<std::uint64_t> limit;
  std::uint64_t skip{0};
  bool descending{false};
  std::optional<bool> reduce;
  std::optional<bool> group;
  std::optional<std::uint64_t> group_level;
  stale_mode stale{stale_mode::update_after};
  on_error_mode on_error{on_error_mode::continue_};
  bool debug{false};
  bool key_or_range{false}; // key, startkey or endkey given (incompatible with keys)
};

struct param_error {
  std::string error; // "query_parse_error" or "bad_request"
  std::string reason;
};

// params are URL-decoded; post_body is the POST body ({"keys":[...]}), if the request was a POST.
std::variant<query_params, param_error> parse_params(const std::multimap<std::string, std::string>& params,
                                                     std::optional<std::string_view> post_body);

// Parses JSON from a request, refusing nesting deeper than the engine handles (bounded recursion).
std::optional<json> parse_request_json(std::string_view text);

std::string_view to_string(stale_mode s);

} // namespace couchkv::mock::views
