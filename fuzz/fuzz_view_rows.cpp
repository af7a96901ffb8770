// The streaming view-row parser. The first byte picks chunk sizes; the rest is the body.
// Checks: the outcome does not depend on how the body is split; a body the parser accepts is
// JSON (nlohmann agrees) and every row's key/value/doc is JSON; a body nlohmann accepts is never
// reported as truncated.
#include <couchkv/views/row_parser.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

struct outcome {
  std::error_code ec;
  std::string detail;
  std::vector<couchkv::view_row> rows;
  std::optional<std::uint64_t> total_rows;
  std::vector<couchkv::view_error> errors;
  std::optional<std::string> debug_info;
  std::optional<couchkv::view_server_error> server_error;
};

outcome run(std::string_view body, std::uint8_t split, std::size_t max_row)
{
  couchkv::views::view_row_parser p(max_row);
  outcome out;
  std::size_t at = 0;
  std::size_t step = 0;
  while (!out.ec && at < body.size()) {
    // Chunk sizes cycle through 1..8 scaled by the split byte; split 0 feeds the whole body.
    const std::size_t n = split == 0 ? body.size() : 1 + ((split >> 3) + step++ * (split & 7u)) % 9;
    out.ec = p.feed(body.substr(at, n));
    at += std::min(n, body.size() - at);
    while (auto row = p.next()) out.rows.push_back(std::move(*row));
  }
  if (!out.ec) out.ec = p.finish();
  out.detail = p.error().detail;
  out.total_rows = p.meta().total_rows;
  out.errors = p.meta().errors;
  out.debug_info = p.meta().debug_info;
  out.server_error = p.server_error();
  if (p.buffered_bytes() > 2 * std::min(body.size(), max_row) + 64) std::abort(); // only one row is kept
  return out;
}

bool same(const outcome& a, const outcome& b)
{
  return a.ec == b.ec && a.detail == b.detail && a.rows == b.rows && a.total_rows == b.total_rows &&
         a.errors == b.errors && a.debug_info == b.debug_info && a.server_error == b.server_error;
}

// JSON by RFC 8259's grammar. nlohmann also refuses numbers beyond a double's range (out_of_range
// 406, "number overflow"), which the grammar allows and the row parser rightly passes through as
// raw text; such a body counts as JSON here (the oracle then stops at the first such number).
bool grammar_json(std::string_view text)
{
  try {
    (void)nlohmann::json::parse(text);
    return true;
  } catch (const nlohmann::json::out_of_range& e) {
    return e.id == 406;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto limit = couchkv::views::view_row_parser::default_max_row_bytes;
  const outcome whole = run(body, 0, limit);
  if (!same(whole, run(body, data[0], limit))) std::abort();
  if (!same(whole, run(body, 1, limit))) std::abort(); // byte by byte

  const bool json = nlohmann::json::accept(body);
  if (!whole.ec) {
    if (!json && !grammar_json(body)) std::abort();
    for (const auto& row : whole.rows) {
      if (!grammar_json(row.key) || !grammar_json(row.value)) std::abort();
      if (row.document && !grammar_json(*row.document)) std::abort();
    }
    if (whole.debug_info && !grammar_json(*whole.debug_info)) std::abort();
  } else if (json && whole.ec == couchkv::view_errc::truncated_response) {
    std::abort();
  }
  // A small row cap exercises the row_too_large path; it must fail cleanly or agree.
  (void)run(body, data[0], 48);
  return 0;
}
