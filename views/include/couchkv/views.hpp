// Couchbase views (CAPI, port 8092): the query builder, the result types and design documents.
// Pure values, no I/O: view_query::encode() gives the HTTP method, path and body to send; the
// facade sends it and feeds the streamed body to the row parser.
#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace couchkv {

// Errors of the view pieces: their own category. Human detail travels next to the code in
// view_failure.
enum class view_errc {
  invalid_argument = 1,      // the query cannot be encoded (detail names the parameter)
  malformed_response,        // the body is not JSON, or not shaped like a view response
  truncated_response,        // the body ended before the JSON did
  row_too_large,             // one row (or errors entry, debug_info) exceeds the parser's cap
  invalid_design_document,   // a design document body that cannot be used
  design_document_not_found, // 404 on the design document (server said not_found)
  view_not_found,            // 404 with reason "missing_named_view"
  query_rejected,            // 400: query_parse_error / bad_request from the server
  server_error,              // any other error body or HTTP status
  result_too_large,          // query(): the rows outgrew view_options::max_result_bytes
};

const std::error_category& view_category() noexcept;
std::error_code make_error_code(view_errc e) noexcept;

// An error plus what exactly was wrong ("offset 17: expected ':' after an object key, got 'x'").
struct view_failure {
  std::error_code ec{};
  std::string detail{};
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(ec); }
  [[nodiscard]] std::string message() const { return detail.empty() ? ec.message() : ec.message() + ": " + detail; }
};

// A value or the failure that prevented it; never throws.
template <class T>
struct view_expected {
  std::optional<T> value{};
  view_failure error{};

  [[nodiscard]] explicit operator bool() const noexcept { return value.has_value(); }
  [[nodiscard]] T& operator*() & { return *value; }
  [[nodiscard]] const T& operator*() const& { return *value; }
  [[nodiscard]] T* operator->() { return &*value; }
  [[nodiscard]] const T* operator->() const { return &*value; }
};

// A JSON value given to a key parameter. Built from C++ values (a string is JSON-encoded, with
// escapes: json_value("abc") is the text "abc" with quotes) or from a JSON text with raw(), which
// is checked when the query is encoded. Non-ASCII characters stay UTF-8 (percent-encoded on the
// wire); invalid UTF-8 and non-finite doubles are reported by encode().
class json_value {
public:
  json_value() : text_("null") {}
  json_value(std::nullptr_t) : text_("null") {}
  json_value(bool b) : text_(b ? "true" : "false") {}
  json_value(std::string_view s);
  json_value(const std::string& s) : json_value(std::string_view{s}) {}
  json_value(const char* s) : json_value(std::string_view{s}) {}
  json_value(std::int64_t n);
  json_value(std::uint64_t n);
  json_value(double d);
  template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, char> && !std::same_as<I, char8_t> &&
             !std::same_as<I, std::int64_t> && !std::same_as<I, std::uint64_t>)
  json_value(I n) : json_value(widen(n))
  {
  }

  // A JSON text used as is (surrounding whitespace dropped), e.g. raw(R"(["a",1])").
  static json_value raw(std::string_view json_text);
  // A JSON array of values, e.g. array({"beer", 2015}) -> ["beer",2015].
  static json_value array(std::initializer_list<json_value> elements);

  // The JSON text (compact for built values, as given for raw()).
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  // Empty when the value is usable, else why not ("not valid JSON: ...").
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

  friend bool operator==(const json_value&, const json_value&) = default;

private:
  template <std::integral I> static auto widen(I n)
  {
    if constexpr (std::is_signed_v<I>) {
      return static_cast<std::int64_t>(n);
    } else {
      return static_cast<std::uint64_t>(n);
    }
  }

  std::string text_;
  std::string problem_;
};

enum class view_stale { ok, update_after, false_ };    // stale=ok / update_after / false
enum class view_on_error { stop, continue_ };          // on_error=stop / continue

// What to send: "GET" with everything in the query string, or "POST" with the keys in a JSON body.
struct encoded_view_request {
  std::string method;       // "GET" or "POST"
  std::string path;         // "/<bucket>/_design/<ddoc>/_view/<view>[?<query>]"
  std::string body;         // {"keys":[...]} for POST, empty for GET
  std::string content_type; // "application/json" for POST, empty for GET
  friend bool operator==(const encoded_view_request&, const encoded_view_request&) = default;
};

// A view query. Parameters are sent only when set, in a fixed order (the order of the setters
// below), with RFC 3986 percent-encoding: unreserved characters (A-Z a-z 0-9 - . _ ~) are kept,
// every other byte becomes %XX (upper-case hex). Key parameters are JSON, then percent-encoded:
// key("abc") sends key=%22abc%22.
//
// keys: sent as the query parameter keys=[...] while the whole query string stays within
// post_threshold() bytes (default 1024, like URL limits of proxies); beyond that, or always with
// post_threshold(0), the request becomes a POST whose body is {"keys":[...]}.
class view_query {
public:
  static constexpr std::size_t default_post_threshold = 1024;

  // design_document may be given with or without "_design/"; development adds "dev_" unless the
  // name already starts with it.
  view_query(std::string design_document, std::string view_name, bool development = false);

  view_query& stale(view_stale s);
  view_query& descending(bool d);
  view_query& reduce(bool r);
  view_query& group(bool g);
  view_query& group_level(std::int64_t level);
  view_query& key(json_value k);
  view_query& keys(std::vector<json_value> ks);
  view_query& start_key(json_value k);
  view_query& start_key_doc_id(std::string id);   // a document id: plain string, not JSON
  view_query& end_key(json_value k);
  view_query& end_key_doc_id(std::string id);
  view_query& inclusive_end(bool i);
  view_query& limit(std::int64_t n);
  view_query& skip(std::int64_t n);
  view_query& on_error(view_on_error e);
  view_query& full_set(bool f);
  view_query& connection_timeout(std::int64_t milliseconds);
  view_query& debug(bool d);
  // Client side only (never sent): fetch each row's document by KV after the query.
  view_query& include_docs(bool i);
  // Any other parameter, sent after the typed ones in the order given; name and value are
  // percent-encoded as they are (no JSON encoding). Naming a typed parameter is an error.
  view_query& raw(std::string name, std::string value);
  view_query& post_threshold(std::size_t bytes);

  [[nodiscard]] const std::string& design_document() const noexcept { return ddoc_; }
  [[nodiscard]] const std::string& view_name() const noexcept { return view_; }
  [[nodiscard]] bool include_docs() const noexcept { return include_docs_; }

  // Validates and encodes; errors are view_errc::invalid_argument with the parameter named.
  [[nodiscard]] view_expected<encoded_view_request> encode(std::string_view bucket) const;

private:
  std::string ddoc_;
  std::string view_;
  std::optional<view_stale> stale_;
  std::optional<bool> descending_;
  std::optional<bool> reduce_;
  std::optional<bool> group_;
  std::optional<std::int64_t> group_level_;
  std::optional<json_value> key_;
  std::optional<std::vector<json_value>> keys_;
  std::optional<json_value> start_key_;
  std::optional<std::string> start_key_doc_id_;
  std::optional<json_value> end_key_;
  std::optional<std::string> end_key_doc_id_;
  std::optional<bool> inclusive_end_;
  std::optional<std::int64_t> limit_;
  std::optional<std::int64_t> skip_;
  std::optional<view_on_error> on_error_;
  std::optional<bool> full_set_;
  std::optional<std::int64_t> connection_timeout_;
  std::optional<bool> debug_;
  bool include_docs_{false};
  std::vector<std::pair<std::string, std::string>> raw_;
  std::size_t post_threshold_{default_post_threshold};
};

// One row. key and value are raw JSON texts exactly as the server sent them; id is the decoded
// document id (empty for reduce rows, which have none).
struct view_row {
  std::string id;
  std::string key;
  std::string value;
  std::optional<std::string> document; // filled by include_docs (or a server-sent "doc")
  friend bool operator==(const view_row&, const view_row&) = default;
};

// A partial failure reported in the body's "errors" array (on_error=continue).
struct view_error {
  std::string from;
  std::string reason;
  friend bool operator==(const view_error&, const view_error&) = default;
};

struct view_meta {
  std::optional<std::uint64_t> total_rows;
  std::vector<view_error> errors;
  std::optional<std::string> debug_info; // raw JSON text
  // When the query failed: what went wrong, in the server's words where it gave any ("HTTP 400:
  // query_parse_error: ...") - this query's own, not another's.
  std::string error_detail{};
};

struct view_result {
  std::vector<view_row> rows;
  view_meta meta;
};

// A CouchDB error body: {"error":"not_found","reason":"missing"}.
struct view_server_error {
  std::string error;
  std::string reason;
  friend bool operator==(const view_server_error&, const view_server_error&) = default;
};

// Parses a whole view response body (the streaming parser underneath). An error body is
// reported as view_errc::server_error-family codes via classify_view_error with the detail
// "<error>: <reason>".
[[nodiscard]] view_expected<view_result> parse_view_response(std::string_view body);

// Maps an HTTP status and the server's error body (if any) to a view_errc: 404 not_found ->
// design_document_not_found (or view_not_found when the reason says the view is missing),
// 400 -> query_rejected, anything else non-2xx -> server_error. 2xx gives no error.
[[nodiscard]] std::error_code classify_view_error(unsigned http_status, const view_server_error* body) noexcept;

struct view_definition {
  std::string map;
  std::optional<std::string> reduce;
  friend bool operator==(const view_definition&, const view_definition&) = default;
};

struct design_document {
  std::string name; // without "_design/", e.g. "dev_beer"
  std::map<std::string, view_definition> views;
  // get_design_document's failure: what went wrong (empty otherwise; not part of the document).
  std::string error_detail{};

  // The body to PUT to /<bucket>/_design/<name>: {"views":{"v":{"map":"...","reduce":"..."}}}.
  [[nodiscard]] std::string to_json() const;
  friend bool operator==(const design_document&, const design_document&) = default;
};

// Parses the body of GET /<bucket>/_design/<name>. The name comes from "_id" ("_design/x") when
// present, else from fallback_name. Errors are view_errc::invalid_design_document.
[[nodiscard]] view_expected<design_document> parse_design_document(std::string_view body,
                                                                   std::string_view fallback_name = {});

} // namespace couchkv

template <> struct std::is_error_code_enum<couchkv::view_errc> : std::true_type {};
