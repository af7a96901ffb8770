// async_bucket: views and design documents.
#include "view_ops.hpp"
#include <couchkv/views/json_text.hpp>

#include <couchkv/async_bucket.hpp>
#include <couchkv/errors.hpp>

#include <nlohmann/json.hpp>

namespace couchkv {

using detail::bucket_impl;

namespace {

std::string strip_design_prefix(std::string name)
{
  constexpr std::string_view prefix = "_design/";
  if (name.starts_with(prefix)) name.erase(0, prefix.size());
  return name;
}

std::string design_path(const bucket_impl& impl, const std::string& name)
{
  std::string path = "/";
  views::append_percent_encoded(path, impl.name());
  path += "/_design/";
  views::append_percent_encoded(path, name);
  return path;
}

io::http_request make_request(std::string method, std::string target, const view_options& o)
{
  io::http_request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.deadline = detail::deadline_after(io::clock::now(), o.timeout);
  return r;
}

// The error of a design-document response: transport, then HTTP status with the server's body;
// `detail` says it in words.
std::error_code http_error(std::error_code ec, const io::http_response& r, std::string_view what, std::string& detail)
{
  if (ec) {
    detail = std::string(what) + ": " + r.detail;
    return ec;
  }
  if (r.status >= 200 && r.status < 300) return {};
  std::optional<view_server_error> se;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    se = view_server_error{j["error"].get<std::string>(),
                           j.contains("reason") && j["reason"].is_string() ? j["reason"].get<std::string>() : std::string{}};
  }
  detail = std::string(what) + ": HTTP " + std::to_string(r.status) +
           (se ? ": " + se->error + ": " + se->reason : ": " + r.body.substr(0, 200));
  return classify_view_error(r.status, se ? &*se : nullptr);
}

design_document failed_document(std::string why)
{
  design_document d;
  d.error_detail = std::move(why);
  return d;
}

template <class Sig>
std::shared_ptr<detail::completion<Sig>> share(detail::completion<Sig> c)
{
  return std::make_shared<detail::completion<Sig>>(std::move(c));
}

} // namespace

void async_bucket::start_query(impl_ptr impl, view_query q, view_options o, detail::completion<view_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (o.timeout.count() < 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  auto d = share(std::move(done));
  detail::run_view_query(impl, std::move(q), o, nullptr, [d](std::error_code ec, view_result r, std::string detail) {
    if (ec) r.meta.error_detail = std::move(detail);
    std::move(*d)(ec, std::move(r));
  });
}

void async_bucket::start_query_stream(impl_ptr impl, view_query q, view_row_handler h, view_options o,
                                      detail::completion<view_stream_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (o.timeout.count() < 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  if (!h) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  auto d = share(std::move(done));
  detail::run_view_query(impl, std::move(q), o, std::move(h), [d](std::error_code ec, view_result r, std::string detail) {
    if (ec) r.meta.error_detail = std::move(detail);
    std::move(*d)(ec, std::move(r.meta));
  });
}

void async_bucket::start_get_design_document(impl_ptr impl, std::string name, view_options o,
                                             detail::completion<design_document_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (o.timeout.count() < 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  name = strip_design_prefix(std::move(name));
  if (name.empty()) return std::move(done)(make_error_code(view_errc::invalid_argument), {});
  auto d = share(std::move(done));
  auto req = make_request("GET", design_path(*impl, name), o);
  detail::run_http(impl, bucket_impl::http_service::views, std::move(req), [impl, d, name](std::error_code ec, io::http_response r) {
    std::string why;
    if (auto e = http_error(ec, r, "get design document " + name, why)) return std::move(*d)(e, failed_document(std::move(why)));
    auto doc = parse_design_document(r.body, name);
    if (!doc) return std::move(*d)(doc.error.ec, failed_document(doc.error.message()));
    std::move(*d)({}, std::move(*doc));
  });
}

void async_bucket::start_upsert_design_document(impl_ptr impl, design_document doc, view_options o,
                                                detail::completion<design_ack_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (o.timeout.count() < 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  doc.name = strip_design_prefix(std::move(doc.name));
  if (doc.name.empty()) return std::move(done)(make_error_code(view_errc::invalid_argument), {});
  auto d = share(std::move(done));
  auto req = make_request("PUT", design_path(*impl, doc.name), o);
  req.body = doc.to_json();
  req.content_type = "application/json";
  detail::run_http(impl, bucket_impl::http_service::views, std::move(req),
                   [impl, d, name = doc.name](std::error_code ec, io::http_response r) {
                     std::string why;
                     if (auto e = http_error(ec, r, "upsert design document " + name, why)) return std::move(*d)(e, why);
                     std::move(*d)({}, "_design/" + name);
                   });
}

void async_bucket::start_remove_design_document(impl_ptr impl, std::string name, view_options o,
                                                detail::completion<design_ack_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (o.timeout.count() < 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  name = strip_design_prefix(std::move(name));
  if (name.empty()) return std::move(done)(make_error_code(view_errc::invalid_argument), {});
  auto d = share(std::move(done));
  auto req = make_request("DELETE", design_path(*impl, name), o);
  detail::run_http(impl, bucket_impl::http_service::views, std::move(req), [impl, d, name](std::error_code ec, io::http_response r) {
    std::string why;
    if (auto e = http_error(ec, r, "remove design document " + name, why)) return std::move(*d)(e, why);
    std::move(*d)({}, "_design/" + name);
  });
}

void async_bucket::start_list_design_documents(impl_ptr impl, view_options o,
                                               detail::completion<design_documents_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (o.timeout.count() < 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  auto d = share(std::move(done));
  std::string target = "/pools/default/buckets/";
  views::append_percent_encoded(target, impl->name());
  target += "/ddocs";
  detail::run_http(impl, bucket_impl::http_service::mgmt, make_request("GET", std::move(target), o),
                   [impl, d](std::error_code ec, io::http_response r) {
                     std::string why;
                     if (auto e = http_error(ec, r, "list design documents", why)) return std::move(*d)(e, {});
                     // {"rows":[{"doc":{"meta":{"id":"_design/x","rev":"..."},"json":{"views":{...}}}}]}
                     auto j = nlohmann::json::parse(r.body, nullptr, false);
                     std::vector<design_document> out;
                     if (!j.is_object() || !j.contains("rows") || !j["rows"].is_array()) {
                       return std::move(*d)(make_error_code(view_errc::malformed_response), {});
                     }
                     for (const auto& row : j["rows"]) {
                       const auto* doc = row.is_object() && row.contains("doc") ? &row["doc"] : nullptr;
                       if (!doc || !doc->is_object() || !doc->contains("json")) continue;
                       std::string id;
                       if (doc->contains("meta") && (*doc)["meta"].is_object() && (*doc)["meta"].contains("id") &&
                           (*doc)["meta"]["id"].is_string()) {
                         id = strip_design_prefix((*doc)["meta"]["id"].get<std::string>());
                       }
                       auto parsed = parse_design_document((*doc)["json"].dump(), id);
                       if (!parsed) return std::move(*d)(parsed.error.ec, {});
                       out.push_back(std::move(*parsed));
                     }
                     std::move(*d)({}, std::move(out));
                   });
}

void async_bucket::start_publish_design_document(impl_ptr impl, std::string name, view_options o,
                                                 detail::completion<design_ack_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (o.timeout.count() < 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  name = strip_design_prefix(std::move(name));
  if (name.starts_with("dev_")) name.erase(0, 4);
  if (name.empty()) return std::move(done)(make_error_code(view_errc::invalid_argument), {});
  auto d = share(std::move(done));
  // get dev_<name> -> put <name> -> delete dev_<name>; each step's failure ends it with its error.
  start_get_design_document(
      impl, "dev_" + name, o,
      detail::completion<design_document_signature>(
          asio::any_completion_handler<design_document_signature>([impl, d, name, o](std::error_code ec, design_document dev) {
            if (ec) return std::move(*d)(ec, std::move(dev.error_detail));
            dev.name = name;
            start_upsert_design_document(
                impl, std::move(dev), o,
                detail::completion<design_ack_signature>(
                    asio::any_completion_handler<design_ack_signature>([impl, d, name, o](std::error_code ec2, std::string why2) {
                      if (ec2) return std::move(*d)(ec2, std::move(why2));
                      start_remove_design_document(
                          impl, "dev_" + name, o,
                          detail::completion<design_ack_signature>(
                              asio::any_completion_handler<design_ack_signature>([d, name](std::error_code ec3, std::string why3) {
                                std::move(*d)(ec3, ec3 ? std::move(why3) : "_design/" + name);
                              }),
                              impl->executor()));
                    }),
                    impl->executor()));
          }),
          impl->executor()));
}

} // namespace couchkv
