// Incremental parser of a view response body. Feed it the body in chunks split anywhere (byte by
// byte works); each row comes out of next() as soon as its closing brace has arrived. Only the
// current row's bytes are kept (plus rows not yet taken with next()), so a body of any length
// is parsed in bounded memory. The whole body is checked as strict JSON (RFC 8259, UTF-8); the
// first problem stops the parser with the offset and what was expected.
//
//   view_row_parser p;
//   for (chunk : body) { if (auto ec = p.feed(chunk)) ...; while (auto row = p.next()) use(*row); }
//   if (auto ec = p.finish()) ...;   // truncated body?   then p.meta(), p.server_error()
#pragma once
#include <couchkv/views.hpp>

#include <couchkv/views/json_text.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace couchkv::views {

class view_row_parser {
public:
  static constexpr std::size_t default_max_row_bytes = std::size_t{20} * 1024 * 1024;
  static constexpr std::size_t max_depth = 512;

  // max_row_bytes caps one row (also one "errors" entry and "debug_info").
  explicit view_row_parser(std::size_t max_row_bytes = default_max_row_bytes);

  // Consumes the whole chunk. After an error every call returns that error.
  std::error_code feed(std::string_view chunk);
  // The body has ended: an error unless it was one complete JSON object.
  std::error_code finish();

  // The next complete row, in body order.
  [[nodiscard]] std::optional<view_row> next();

  // total_rows, errors and debug_info seen so far (all of them once finish() succeeded).
  [[nodiscard]] const view_meta& meta() const noexcept { return meta_; }
  // Set when the body carried CouchDB's "error"/"reason" members.
  [[nodiscard]] const std::optional<view_server_error>& server_error() const noexcept { return server_error_; }
  [[nodiscard]] const view_failure& error() const noexcept { return failure_; }
  // Memory held: the partial row being assembled plus rows not yet taken with next().
  [[nodiscard]] std::size_t buffered_bytes() const noexcept;
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
  [[nodiscard]] std::uint64_t rows_seen() const noexcept { return rows_seen_; }
  // The root object has been closed.
  [[nodiscard]] bool complete() const noexcept { return state_ == state::end; }

private:
  enum class state : std::uint8_t {
    begin,        // before the root value
    value,        // a value must follow
    array_first,  // after '[': a value or ']'
    object_first, // after '{': a key or '}'
    object_key,   // after ',' in an object: a key
    colon,        // after a key
    after_value,  // ',' or the container's closer
    string,
    escape,       // after '\'
    unicode,      // inside \uXXXX
    low_backslash, // a high surrogate was escaped: '\' of the low one must follow
    low_u,        // ... then 'u'
    literal,      // inside true / false / null
    num_minus,
    num_zero,
    num_int,
    num_dot,
    num_frac,
    num_e,
    num_e_sign,
    num_exp,
    end,          // the root value is closed: whitespace only
  };
  // Members of the root object that matter; everything else is validated and skipped.
  enum class member : std::uint8_t { other, total_rows, rows, errors, debug_info, error, reason };
  // Members of one row or errors entry.
  enum class field : std::uint8_t { other, id, key, value, doc, from, reason };
  struct span {
    std::size_t begin{0};
    std::size_t end{0};
    bool set{false};
  };

  bool step(char c);
  bool end_number(char c);
  bool begin_value(char c);
  bool end_value();
  bool begin_string(bool is_key);
  bool end_string();
  bool push(char container);
  bool close(char closer);
  bool finish_capture();
  bool finish_row();
  bool finish_error_entry();
  bool fail(view_errc code, std::string what);
  bool unexpected(char c, std::string_view expected);
  [[nodiscard]] std::string key_text() const;
  [[nodiscard]] std::string_view captured(const span& s) const;

  std::size_t max_row_bytes_;
  state state_{state::begin};
  std::vector<char> stack_;        // '{' or '[' per open container
  std::uint64_t offset_{0};        // bytes consumed so far
  view_failure failure_{};

  // String scanning.
  bool in_key_{false};
  utf8_validator utf8_{};
  std::uint32_t unit_{0};
  std::uint8_t hex_left_{0};
  bool low_pending_{false};
  std::string key_buf_;            // raw text of the current key, first bytes only
  bool key_overflow_{false};
  std::string_view literal_rest_;  // what remains of true/false/null

  // Capture of the value being kept (a row, an errors entry, a root scalar).
  member member_{member::other};
  bool capturing_{false};
  std::size_t capture_depth_{0};
  std::string capture_;
  field field_{field::other};
  std::size_t field_begin_{0};
  span id_{}, key_{}, value_{}, doc_{}, from_{}, reason_{};

  std::deque<view_row> ready_;
  std::size_t ready_bytes_{0};
  std::uint64_t rows_seen_{0};
  std::uint64_t errors_seen_{0};
  view_meta meta_{};
  std::optional<view_server_error> server_error_{};
};

} // namespace couchkv::views
