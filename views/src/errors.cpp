#include <couchkv/views.hpp>

namespace couchkv {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "couchkv.views"; }
  std::string message(int v) const override
  {
    switch (static_cast<view_errc>(v)) {
      case view_errc::invalid_argument: return "invalid view query";
      case view_errc::malformed_response: return "malformed view response";
      case view_errc::truncated_response: return "truncated view response";
      case view_errc::row_too_large: return "view row too large";
      case view_errc::invalid_design_document: return "invalid design document";
      case view_errc::design_document_not_found: return "design document not found";
      case view_errc::view_not_found: return "view not found";
      case view_errc::query_rejected: return "view query rejected by the server";
      case view_errc::server_error: return "view server error";
      case view_errc::result_too_large: return "view result too large to keep (use query_stream)";
    }
    return "unknown view error";
  }
};

} // namespace

const std::error_category& view_category() noexcept
{
  static const category instance;
  return instance;
}

std::error_code make_error_code(view_errc e) noexcept { return {static_cast<int>(e), view_category()}; }

std::error_code classify_view_error(unsigned http_status, const view_server_error* body) noexcept
{
  const bool ok_status = http_status >= 200 && http_status < 300;
  if (ok_status && body == nullptr) return {};
  const std::string_view error = body ? std::string_view{body->error} : std::string_view{};
  const std::string_view reason = body ? std::string_view{body->reason} : std::string_view{};
  if (http_status == 404 || error == "not_found") {
    // CouchDB: "missing_named_view" for a view, "missing"/"deleted" for the design document.
    return reason.find("view") != std::string_view::npos ? make_error_code(view_errc::view_not_found)
                                                         : make_error_code(view_errc::design_document_not_found);
  }
  if (http_status == 400 || error == "query_parse_error" || error == "bad_request") {
    return make_error_code(view_errc::query_rejected);
  }
  return make_error_code(view_errc::server_error);
}

} // namespace couchkv
