// Bounds on JSON a server sends (cluster configs, error maps, view error bodies), checked before a
// DOM is built. nlohmann's DOM costs tens of bytes per value and a heap block per container, so a
// document of deep nesting ("[[[[...") or of millions of tiny values takes many times its size in
// memory to accept or even to reject (a 28 MB nested config took over 1 GB). check_json_bounds is
// one pass over the text without allocating: it tracks the nesting depth and counts the values (an
// upper bound: every opening bracket, comma and colon outside strings starts one), so what passes
// costs a small multiple of its size to parse. It does not validate the JSON; the parser does.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace couchkv::protocol {

struct json_bounds {
  std::size_t max_bytes{64u * 1024u * 1024u};
  std::size_t max_depth{64};
  std::size_t max_values{2'000'000};
};

// nullopt when the text is within the bounds; otherwise which bound it exceeds and where
// ("nesting deeper than 64 levels at byte 1234").
[[nodiscard]] std::optional<std::string> check_json_bounds(std::string_view text, const json_bounds& bounds = {});

} // namespace couchkv::protocol
