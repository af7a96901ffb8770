// The mock's views (CAPI) engine for one bucket: design documents, map functions run by an
// embedded JavaScript engine (Duktape), CouchDB collation, the view query parameters and the
// built-in reducers. Pure: no sockets. The HTTP layer of the mock calls it and sends the body.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace couchkv::mock::views {

// One live document as the map function sees it (doc, meta).
struct doc_ref {
  std::string_view id;
  std::string_view value;   // raw bytes as stored
  bool is_json{false};      // datatype JSON (or value parses as JSON)
  std::uint64_t cas{0};
  std::uint32_t flags{0};
  std::uint32_t expiration{0};
};

// Visits every live (not deleted, not expired) document of the bucket.
using doc_source = std::function<void(const std::function<void(const doc_ref&)>&)>;

struct http_result {
  int status{200};
  std::string body;         // JSON
};

// Limits on what user JavaScript may use per map or reduce call (see src/js_runtime.hpp).
struct engine_options {
  std::size_t js_memory_bytes{256u << 20};   // per design document heap
  std::uint64_t js_loop_steps{20'000'000};   // loop iterations per call before it is aborted
};

// Thread-safe: every member takes one internal lock (the mock's HTTP layer may call from several
// threads).
class engine {
public:
  engine();
  explicit engine(engine_options options);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // name is the design document name without the "_design/" prefix ("dev_beer" or "beer").
  http_result put_design_doc(std::string_view name, std::string_view json_body);
  http_result get_design_doc(std::string_view name) const;
  http_result delete_design_doc(std::string_view name);
  // The management API's list: {"rows":[{"doc":{"meta":{"id":"_design/x","rev":"1-..."},"json":{...}}}]}
  [[nodiscard]] std::string list_design_docs() const;

  // GET (post_body empty) or POST (post_body holds {"keys":[...]}) of
  // /<bucket>/_design/<ddoc>/_view/<view>?<params>. params are already URL-decoded.
  http_result query(std::string_view ddoc, std::string_view view,
                    const std::multimap<std::string, std::string>& params,
                    std::optional<std::string_view> post_body, const doc_source& docs);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace couchkv::mock::views
