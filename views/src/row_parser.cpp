#include <couchkv/views/row_parser.hpp>

#include <charconv>

namespace couchkv::views {
namespace {

constexpr std::size_t max_key_bytes = 64;        // longer member names match nothing we look for
constexpr std::size_t shrink_above = 64 * 1024;  // give back the buffer of an unusually large row

bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool in_number_alphabet(char c) noexcept
{
  return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

bool is_plain_string_byte(char c) noexcept
{
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
}

int hex_value(char c) noexcept
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string describe(char c)
{
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  constexpr char hex[] = "0123456789abcdef";
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 0xF];
}

// Decoded text of a JSON string, or the raw text if the value is not a string.
std::string string_or_raw(std::string_view text)
{
  if (!text.empty() && text.front() == '"') {
    if (auto s = decode_json_string(text)) return std::move(*s);
  }
  return std::string(text);
}

} // namespace

view_row_parser::view_row_parser(std::size_t max_row_bytes) : max_row_bytes_(max_row_bytes) {}

std::size_t view_row_parser::buffered_bytes() const noexcept { return capture_.capacity() + ready_bytes_; }

std::optional<view_row> view_row_parser::next()
{
  if (ready_.empty()) return std::nullopt;
  view_row row = std::move(ready_.front());
  ready_.pop_front();
  ready_bytes_ -= row.id.size() + row.key.size() + row.value.size() + (row.document ? row.document->size() : 0);
  return row;
}

std::error_code view_row_parser::feed(std::string_view chunk)
{
  if (failure_) return failure_.ec;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    // Fast path: a run of plain ASCII inside a value string needs no per-byte state.
    if (state_ == state::string && !in_key_ && utf8_.complete()) {
      std::size_t j = i;
      while (j < chunk.size() && is_plain_string_byte(chunk[j])) ++j;
      if (j != i && (!capturing_ || capture_.size() + (j - i) <= max_row_bytes_)) {
        if (capturing_) capture_.append(chunk.data() + i, j - i);
        offset_ += j - i;
        i = j;
        if (i == chunk.size()) break;
      }
    }
    const char c = chunk[i];
    // A number has no closing character: the first byte that cannot continue it ends it and is
    // then read again in the enclosing context.
    if (state_ >= state::num_minus && state_ <= state::num_exp && !in_number_alphabet(c) && !end_number(c)) {
      return failure_.ec;
    }
    if (capturing_) {
      if (capture_.size() >= max_row_bytes_) {
        fail(view_errc::row_too_large, "a value kept by the parser exceeds " + std::to_string(max_row_bytes_) + " bytes");
        return failure_.ec;
      }
      capture_.push_back(c);
    }
    if (!step(c)) return failure_.ec;
    ++offset_;
  }
  return {};
}

std::error_code view_row_parser::finish()
{
  if (failure_) return failure_.ec;
  if (state_ == state::end) return {};
  if (state_ == state::begin) {
    fail(view_errc::truncated_response, "the body is empty");
    return failure_.ec;
  }
  std::string where;
  if (capturing_ && capture_depth_ == 2) {
    where = (member_ == member::rows ? "rows[" + std::to_string(rows_seen_) : "errors[" + std::to_string(errors_seen_)) + "]";
  } else if (state_ >= state::string && state_ <= state::low_u) {
    where = "a string";
  } else {
    where = "a value " + std::to_string(stack_.size()) + " level(s) deep";
  }
  fail(view_errc::truncated_response, "the body ends inside " + where);
  return failure_.ec;
}

bool view_row_parser::fail(view_errc code, std::string what)
{
  failure_ = {make_error_code(code), "offset " + std::to_string(offset_) + ": " + what};
  return false;
}

bool view_row_parser::unexpected(char c, std::string_view expected)
{
  return fail(view_errc::malformed_response, "expected " + std::string(expected) + ", got " + describe(c));
}

bool view_row_parser::step(char c)
{
  auto keep_key_byte = [&] {
    if (!in_key_) return;
    if (key_buf_.size() < max_key_bytes) {
      key_buf_.push_back(c);
    } else {
      key_overflow_ = true;
    }
  };
  switch (state_) {
    case state::begin:
    case state::value:
      if (is_ws(c)) return true;
      return begin_value(c);
    case state::array_first:
      if (is_ws(c)) return true;
      if (c == ']') return close(c);
      return begin_value(c);
    case state::object_first:
      if (is_ws(c)) return true;
      if (c == '"') return begin_string(true);
      if (c == '}') return close(c);
      return unexpected(c, "a member name or '}'");
    case state::object_key:
      if (is_ws(c)) return true;
      if (c == '"') return begin_string(true);
      return unexpected(c, "a member name after ','");
    case state::colon:
      if (is_ws(c)) return true;
      if (c == ':') {
        state_ = state::value;
        return true;
      }
      return unexpected(c, "':' after a member name");
    case state::after_value:
      if (is_ws(c)) return true;
      if (c == ',') {
        state_ = stack_.back() == '{' ? state::object_key : state::value;
        return true;
      }
      if (c == '}' || c == ']') return close(c);
      return unexpected(c, stack_.back() == '{' ? "',' or '}'" : "',' or ']'");
    case state::string: {
      if (c == '"') {
        if (!utf8_.complete()) return fail(view_errc::malformed_response, "incomplete UTF-8 sequence in a string");
        return end_string();
      }
      if (c == '\\') {
        if (!utf8_.complete()) return fail(view_errc::malformed_response, "incomplete UTF-8 sequence in a string");
        state_ = state::escape;
        keep_key_byte();
        return true;
      }
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20) return fail(view_errc::malformed_response, "unescaped control character " + describe(c) + " in a string");
      if (!utf8_.step(u)) return fail(view_errc::malformed_response, "invalid UTF-8 in a string (" + describe(c) + ")");
      keep_key_byte();
      return true;
    }
    case state::escape:
      keep_key_byte();
      switch (c) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't': state_ = state::string; return true;
        case 'u':
          unit_ = 0;
          hex_left_ = 4;
          state_ = state::unicode;
          return true;
        default: return fail(view_errc::malformed_response, "invalid escape \\" + std::string(1, c) + " in a string");
      }
    case state::unicode: {
      keep_key_byte();
      const int h = hex_value(c);
      if (h < 0) return unexpected(c, "a hex digit in a \\u escape");
      unit_ = (unit_ << 4) | static_cast<std::uint32_t>(h);
      if (--hex_left_ != 0) return true;
      const bool high = unit_ >= 0xD800 && unit_ <= 0xDBFF;
      const bool low = unit_ >= 0xDC00 && unit_ <= 0xDFFF;
      if (low_pending_) {
        if (!low) return fail(view_errc::malformed_response, "a high surrogate escape is not followed by a low one");
        low_pending_ = false;
        state_ = state::string;
      } else if (high) {
        low_pending_ = true;
        state_ = state::low_backslash;
      } else if (low) {
        return fail(view_errc::malformed_response, "a low surrogate escape without a high one");
      } else {
        state_ = state::string;
      }
      return true;
    }
    case state::low_backslash:
      keep_key_byte();
      if (c != '\\') return unexpected(c, "the \\u escape of a low surrogate");
      state_ = state::low_u;
      return true;
    case state::low_u:
      keep_key_byte();
      if (c != 'u') return unexpected(c, "the \\u escape of a low surrogate");
      unit_ = 0;
      hex_left_ = 4;
      state_ = state::unicode;
      return true;
    case state::literal:
      if (c != literal_rest_.front()) return unexpected(c, "true, false or null");
      literal_rest_.remove_prefix(1);
      return literal_rest_.empty() ? end_value() : true;
    case state::num_minus:
      if (c == '0') {
        state_ = state::num_zero;
        return true;
      }
      if (is_digit(c)) {
        state_ = state::num_int;
        return true;
      }
      return unexpected(c, "a digit after '-'");
    case state::num_zero:
      if (c == '.') {
        state_ = state::num_dot;
        return true;
      }
      if (c == 'e' || c == 'E') {
        state_ = state::num_e;
        return true;
      }
      if (is_digit(c)) return fail(view_errc::malformed_response, "a number has a leading zero");
      return unexpected(c, "'.', an exponent or the end of the number");
    case state::num_int:
    case state::num_frac:
      if (is_digit(c)) return true;
      if (c == '.' && state_ == state::num_int) {
        state_ = state::num_dot;
        return true;
      }
      if (c == 'e' || c == 'E') {
        state_ = state::num_e;
        return true;
      }
      return unexpected(c, "a digit or the end of the number");
    case state::num_dot:
      if (!is_digit(c)) return unexpected(c, "a digit after the decimal point");
      state_ = state::num_frac;
      return true;
    case state::num_e:
      if (c == '+' || c == '-') {
        state_ = state::num_e_sign;
        return true;
      }
      [[fallthrough]];
    case state::num_e_sign:
      if (!is_digit(c)) return unexpected(c, "a digit in the exponent");
      state_ = state::num_exp;
      return true;
    case state::num_exp:
      if (is_digit(c)) return true;
      return unexpected(c, "a digit or the end of the number");
    case state::end:
      if (is_ws(c)) return true;
      return unexpected(c, "nothing after the end of the response object");
  }
  return fail(view_errc::malformed_response, "internal parser state");
}

bool view_row_parser::end_number(char c)
{
  switch (state_) {
    case state::num_minus: return unexpected(c, "a digit after '-'");
    case state::num_dot: return unexpected(c, "a digit after the decimal point");
    case state::num_e:
    case state::num_e_sign: return unexpected(c, "a digit in the exponent");
    default: return end_value();
  }
}

bool view_row_parser::begin_value(char c)
{
  const std::size_t depth = stack_.size();
  auto start_capture = [&] {
    capturing_ = true;
    capture_depth_ = depth;
    capture_.assign(1, c);
  };
  if (c != '{' && c != '[' && c != '"' && c != 't' && c != 'f' && c != 'n' && c != '-' && !is_digit(c)) {
    return unexpected(c, "a JSON value");
  }
  if (depth == 0) {
    if (c != '{') return unexpected(c, "'{' (a view response is a JSON object)");
  } else if (depth == 1) {
    switch (member_) {
      case member::rows:
      case member::errors:
        if (c != '[') {
          return fail(view_errc::malformed_response,
                      std::string(member_ == member::rows ? "\"rows\"" : "\"errors\"") + " is not an array");
        }
        break;
      case member::total_rows:
        if (c != '-' && !is_digit(c)) return fail(view_errc::malformed_response, "\"total_rows\" is not a number");
        start_capture();
        break;
      case member::error:
      case member::reason:
        if (c != '"') {
          return fail(view_errc::malformed_response,
                      std::string(member_ == member::error ? "\"error\"" : "\"reason\"") + " is not a string");
        }
        start_capture();
        break;
      case member::debug_info: start_capture(); break;
      case member::other: break;
    }
  } else if (depth == 2 && (member_ == member::rows || member_ == member::errors)) {
    if (c != '{') {
      return fail(view_errc::malformed_response,
                  (member_ == member::rows ? "rows[" + std::to_string(rows_seen_) : "errors[" + std::to_string(errors_seen_)) +
                      "] is not an object");
    }
    start_capture();
    field_ = field::other;
    id_ = key_ = value_ = doc_ = from_ = reason_ = span{};
  } else if (capturing_ && capture_depth_ == 2 && depth == 3) {
    field_begin_ = capture_.size() - 1; // this byte is already kept
  }

  switch (c) {
    case '{': state_ = state::object_first; return push('{');
    case '[': state_ = state::array_first; return push('[');
    case '"': return begin_string(false);
    case 't': literal_rest_ = "rue"; state_ = state::literal; return true;
    case 'f': literal_rest_ = "alse"; state_ = state::literal; return true;
    case 'n': literal_rest_ = "ull"; state_ = state::literal; return true;
    case '-': state_ = state::num_minus; return true;
    case '0': state_ = state::num_zero; return true;
    default: state_ = state::num_int; return true; // '1'..'9', checked above
  }
}

bool view_row_parser::push(char container)
{
  if (stack_.size() >= max_depth) return fail(view_errc::malformed_response, "nesting deeper than " + std::to_string(max_depth));
  stack_.push_back(container);
  return true;
}

bool view_row_parser::close(char closer)
{
  const char expected = stack_.back() == '{' ? '}' : ']';
  if (closer != expected) return unexpected(closer, expected == '}' ? "',' or '}'" : "',' or ']'");
  stack_.pop_back();
  return end_value();
}

bool view_row_parser::begin_string(bool is_key)
{
  in_key_ = is_key;
  if (is_key) {
    key_buf_.clear();
    key_overflow_ = false;
  }
  utf8_ = utf8_validator{};
  low_pending_ = false;
  state_ = state::string;
  return true;
}

bool view_row_parser::end_string()
{
  if (!in_key_) return end_value();
  in_key_ = false;
  state_ = state::colon;
  const std::string name = key_text();
  const std::size_t depth = stack_.size();
  if (depth == 1) {
    if (name == "total_rows") {
      member_ = member::total_rows;
    } else if (name == "rows") {
      member_ = member::rows;
    } else if (name == "errors") {
      member_ = member::errors;
    } else if (name == "debug_info") {
      member_ = member::debug_info;
    } else if (name == "error") {
      member_ = member::error;
    } else if (name == "reason") {
      member_ = member::reason;
    } else {
      member_ = member::other;
    }
  } else if (capturing_ && capture_depth_ == 2 && depth == 3) {
    if (name == "id") {
      field_ = field::id;
    } else if (name == "key") {
      field_ = field::key;
    } else if (name == "value") {
      field_ = field::value;
    } else if (name == "doc") {
      field_ = field::doc;
    } else if (name == "from") {
      field_ = field::from;
    } else if (name == "reason") {
      field_ = field::reason;
    } else {
      field_ = field::other;
    }
  }
  return true;
}

std::string view_row_parser::key_text() const
{
  if (key_overflow_) return {};
  if (key_buf_.find('\\') == std::string::npos) return key_buf_;
  return decode_json_string('"' + key_buf_ + '"').value_or(std::string{});
}

std::string_view view_row_parser::captured(const span& s) const
{
  return std::string_view(capture_).substr(s.begin, s.end - s.begin);
}

bool view_row_parser::end_value()
{
  const std::size_t depth = stack_.size();
  state_ = depth == 0 ? state::end : state::after_value;
  if (!capturing_) return true;
  if (depth == capture_depth_) {
    capturing_ = false;
    const bool ok = finish_capture();
    capture_.clear();
    if (capture_.capacity() > shrink_above) std::string{}.swap(capture_);
    return ok;
  }
  if (capture_depth_ == 2 && depth == 3) {
    const span s{field_begin_, capture_.size(), true};
    switch (field_) {
      case field::id: id_ = s; break;
      case field::key: key_ = s; break;
      case field::value: value_ = s; break;
      case field::doc: doc_ = s; break;
      case field::from: from_ = s; break;
      case field::reason: reason_ = s; break;
      case field::other: break;
    }
  }
  return true;
}

bool view_row_parser::finish_capture()
{
  if (capture_depth_ == 2) return member_ == member::rows ? finish_row() : finish_error_entry();
  switch (member_) {
    case member::total_rows: {
      std::uint64_t n = 0;
      const char* first = capture_.data();
      const char* last = first + capture_.size();
      auto [p, ec] = std::from_chars(first, last, n);
      if (ec != std::errc{} || p != last) {
        return fail(view_errc::malformed_response,
                    "\"total_rows\" is not a non-negative integer: " + capture_.substr(0, 32));
      }
      meta_.total_rows = n;
      return true;
    }
    case member::error:
    case member::reason: {
      if (!server_error_) server_error_.emplace();
      (member_ == member::error ? server_error_->error : server_error_->reason) = string_or_raw(capture_);
      return true;
    }
    case member::debug_info: meta_.debug_info = capture_; return true;
    default: return true;
  }
}

bool view_row_parser::finish_row()
{
  const std::string name = "rows[" + std::to_string(rows_seen_) + "]";
  ++rows_seen_;
  if (!key_.set) return fail(view_errc::malformed_response, name + " has no \"key\"");
  if (!value_.set) return fail(view_errc::malformed_response, name + " has no \"value\"");
  view_row row;
  if (id_.set) {
    auto id = captured(id_);
    if (id.front() != '"') return fail(view_errc::malformed_response, name + ".id is not a string");
    auto decoded = decode_json_string(id);
    if (!decoded) return fail(view_errc::malformed_response, name + ".id is not a valid string");
    row.id = std::move(*decoded);
  }
  row.key = captured(key_);
  row.value = captured(value_);
  if (doc_.set) row.document = std::string(captured(doc_));
  ready_bytes_ += row.id.size() + row.key.size() + row.value.size() + (row.document ? row.document->size() : 0);
  ready_.push_back(std::move(row));
  return true;
}

bool view_row_parser::finish_error_entry()
{
  ++errors_seen_;
  view_error e;
  if (from_.set) e.from = string_or_raw(captured(from_));
  if (reason_.set) e.reason = string_or_raw(captured(reason_));
  meta_.errors.push_back(std::move(e));
  return true;
}

} // namespace couchkv::views

namespace couchkv {

view_expected<view_result> parse_view_response(std::string_view body)
{
  view_expected<view_result> result;
  views::view_row_parser parser;
  auto ec = parser.feed(body);
  if (!ec) ec = parser.finish();
  if (ec) {
    result.error = parser.error();
    return result;
  }
  if (const auto& server = parser.server_error()) {
    result.error = {classify_view_error(200, &*server), server->error + ": " + server->reason};
    return result;
  }
  view_result r;
  while (auto row = parser.next()) r.rows.push_back(std::move(*row));
  r.meta = parser.meta();
  result.value = std::move(r);
  return result;
}

} // namespace couchkv
