// The views (CAPI) port: /<bucket>/_design/<ddoc> (GET, PUT, DELETE) and
// /<bucket>/_design/<ddoc>/_view/<view> (GET, or POST with {"keys":[...]}), answered by the
// bucket's views::engine over the live documents of every vBucket's active copy.
#include "http.hpp"

namespace couchkv::mock {

namespace {

#ifdef COUCHKV_MOCK_HAVE_VIEWS
// The document value without its xattr section (datatype 0x04: a 4-byte length, then the xattrs).
std::string_view body_of(const document& d)
{
  std::string_view v = d.value;
  if ((d.datatype & 0x04) != 0 && v.size() >= 4) {
    auto n = protocol::load_be32(reinterpret_cast<const std::byte*>(v.data()));
    v.remove_prefix(std::min<std::size_t>(v.size(), 4 + static_cast<std::size_t>(n)));
  }
  return v;
}

views::doc_source live_documents(const cluster::impl& cl, const bucket_state& b)
{
  return [&cl, &b](const std::function<void(const views::doc_ref&)>& visit) {
    auto now = cl.now();
    for (const auto& vb : b.vbs) {
      if (vb.active < 0) continue; // no node serves it: its documents are unreachable
      for (const auto& [id, d] : vb.docs) {
        if (d.deleted || (d.expiry != 0 && d.expiry <= now)) continue;
        auto value = body_of(d);
        views::doc_ref ref;
        ref.id = id;
        ref.value = value;
        ref.is_json = (d.datatype & datatype_json) != 0 || nlohmann::json::accept(value);
        ref.cas = d.cas;
        ref.flags = d.flags;
        ref.expiration = static_cast<std::uint32_t>(std::clamp<std::int64_t>(d.expiry, 0, 0xffffffff));
        visit(ref);
      }
    }
  };
}

http_reply from_engine(views::http_result r, bool chunked)
{
  http_reply out;
  out.status = static_cast<unsigned>(r.status);
  out.body = std::move(r.body);
  out.chunked = chunked;
  return out;
}
#endif

} // namespace

http_reply route_views(cluster::impl& cl, const http_request& req)
{
  auto t = parse_target(req.target());
  if (!t) return error_reply(400, "bad_request", "bad request target (bad %-escape or not a path)");
  const auto& s = t->segments;
  bool is_ddoc = s.size() == 3 && s[1] == "_design";
  bool is_view = s.size() == 5 && s[1] == "_design" && s[3] == "_view";
  if (!is_ddoc && !is_view) return error_reply(404, "not_found", "missing");
  auto id = authenticate(cl, req);
  if (!id.valid) return unauthorized();
  // couchApiBase may carry "<bucket>+<uuid>" (%2B on the wire).
  auto bucket_name = s[0].substr(0, s[0].find('+'));
  auto it = cl.buckets.find(bucket_name);
  if (it == cl.buckets.end()) return error_reply(404, "not_found", "no_such_bucket: " + bucket_name);
  if (!id.may_access(bucket_name)) return unauthorized();
  auto& b = it->second;
  if (b.opts.type != bucket_type::couchbase) {
    return error_reply(404, "not_found", "memcached buckets have no views");
  }
  auto method = req.method();
  if (is_ddoc && method != http::verb::get && method != http::verb::put && method != http::verb::delete_) {
    return error_reply(405, "method_not_allowed", "design documents take GET, PUT and DELETE");
  }
  if (is_view && method != http::verb::get && method != http::verb::post) {
    return error_reply(405, "method_not_allowed", "views take GET and POST");
  }
  if (is_view && method == http::verb::post) {
    auto type = req[http::field::content_type];
    if (type.substr(0, type.find(';')) != "application/json") {
      return error_reply(400, "bad_request", "POST to a view needs Content-Type: application/json");
    }
  }
#ifdef COUCHKV_MOCK_HAVE_VIEWS
  auto& engine = *b.views;
  const auto& ddoc = s[2];
  if (is_ddoc) {
    if (method == http::verb::get) return from_engine(engine.get_design_doc(ddoc), false);
    if (method == http::verb::put) return from_engine(engine.put_design_doc(ddoc, req.body()), false);
    return from_engine(engine.delete_design_doc(ddoc), false);
  }
  std::optional<std::string_view> post_body;
  if (method == http::verb::post) post_body = req.body();
  return from_engine(engine.query(ddoc, s[4], t->params, post_body, live_documents(cl, b)), true);
#else
  return error_reply(501, "not_implemented", "this mock was built without the views engine");
#endif
}

} // namespace couchkv::mock
