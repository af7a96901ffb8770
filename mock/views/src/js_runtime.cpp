// Duktape is C and reports errors with longjmp: no C++ exception may cross a Duktape frame and no
// C++ object with a destructor may live in a frame a Duktape error can unwind. Hence every entry
// into Duktape is a duk_safe_call over a plain argument struct, and the native functions do their
// C++ work in noexcept helpers before raising an error.
#include "js_runtime.hpp"

#include "loop_guard.hpp"

#include <duktape.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace couchkv::mock::views {

namespace {

constexpr const char* guard_name = "__couchkv_loop_guard";

// Couchbase's map/reduce helper functions (the server provides these in its JS engine).
constexpr const char* helpers_js = R"js(
function dateToArray(d) {
  var t = (d instanceof Date) ? d : new Date(d);
  if (isNaN(t.getTime())) throw new TypeError('dateToArray: not a date: ' + d);
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(),
          t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()];
}
function sum(values) {
  var s = 0;
  for (var i = 0; i < values.length; i++) s += values[i];
  return s;
}
)js";

} // namespace

struct js_runtime::state {
  js_limits limits;
  std::size_t allocated{0};
  duk_context* ctx{nullptr};
  int next_fn{0};
  std::uint64_t steps{0};
  std::vector<emitted>* sink{nullptr};
  std::string native_error;
};

namespace {

using state = js_runtime::state;

struct alignas(std::max_align_t) block_header {
  std::size_t size;
};

void* js_alloc(void* udata, duk_size_t size)
{
  auto* st = static_cast<state*>(udata);
  if (size == 0 || st->allocated + size > st->limits.memory_bytes) return nullptr;
  auto* h = static_cast<block_header*>(std::malloc(sizeof(block_header) + size));
  if (h == nullptr) return nullptr;
  h->size = size;
  st->allocated += size;
  return h + 1;
}

void js_free(void* udata, void* ptr)
{
  if (ptr == nullptr) return;
  auto* st = static_cast<state*>(udata);
  auto* h = static_cast<block_header*>(ptr) - 1;
  st->allocated -= h->size;
  std::free(h);
}

void* js_realloc(void* udata, void* ptr, duk_size_t size)
{
  if (ptr == nullptr) return js_alloc(udata, size);
  if (size == 0) {
    js_free(udata, ptr);
    return nullptr;
  }
  auto* st = static_cast<state*>(udata);
  auto* h = static_cast<block_header*>(ptr) - 1;
  const auto old = h->size;
  if (size > old && st->allocated + (size - old) > st->limits.memory_bytes) return nullptr;
  auto* n = static_cast<block_header*>(std::realloc(h, sizeof(block_header) + size));
  if (n == nullptr) return nullptr;
  n->size = size;
  st->allocated = st->allocated - old + size;
  return n + 1;
}

// Only reached for errors outside a protected call, which this file never makes.
void js_fatal(void*, const char* msg)
{
  std::fprintf(stderr, "couchkv-mock views: fatal Duktape error: %s\n", msg != nullptr ? msg : "");
  std::abort();
}

state* state_of(duk_context* ctx)
{
  duk_memory_functions f;
  duk_get_memory_functions(ctx, &f);
  return static_cast<state*>(f.udata);
}

bool is_ascii(std::string_view s);

json parse_js_json(std::string_view text)
{
  return is_ascii(text) ? json::parse(text) : json::parse(to_utf8(text));
}

// An emitted key or value as read off the Duktape stack, before any C++ object is made from it.
struct js_value {
  enum { null, boolean, number, string, json_text } kind{null};
  bool b{false};
  double n{0};
  std::string_view text; // string contents, or JSON text
};

// Reads the value at idx; objects and arrays become JSON text (which may throw a Duktape error,
// e.g. for a cycle), so this runs before anything that owns memory.
js_value read_at(duk_context* ctx, duk_idx_t idx)
{
  js_value v;
  duk_size_t len = 0;
  switch (duk_get_type(ctx, idx)) {
    case DUK_TYPE_BOOLEAN:
      v.kind = js_value::boolean;
      v.b = duk_get_boolean(ctx, idx) != 0;
      break;
    case DUK_TYPE_NUMBER:
      v.n = duk_get_number(ctx, idx);
      v.kind = std::isfinite(v.n) ? js_value::number : js_value::null; // JSON.stringify(NaN) is null
      break;
    case DUK_TYPE_STRING: {
      const char* p = duk_get_lstring(ctx, idx, &len);
      v.kind = js_value::string;
      v.text = {p, len};
      break;
    }
    case DUK_TYPE_OBJECT:
    case DUK_TYPE_BUFFER:
    case DUK_TYPE_POINTER:
    case DUK_TYPE_LIGHTFUNC:
      duk_json_encode(ctx, idx);
      if (duk_is_string(ctx, idx)) { // functions encode to undefined: null
        const char* p = duk_get_lstring(ctx, idx, &len);
        v.kind = js_value::json_text;
        v.text = {p, len};
      }
      break;
    default: // undefined, null
      break;
  }
  return v;
}

bool is_ascii(std::string_view s)
{
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

json to_json(const js_value& v)
{
  switch (v.kind) {
    case js_value::boolean: return v.b;
    case js_value::number:
      // Integral doubles print as integers, as JSON.stringify does.
      if (v.n == std::trunc(v.n) && std::fabs(v.n) < 9007199254740992.0) return static_cast<std::int64_t>(v.n);
      return v.n;
    case js_value::string: return is_ascii(v.text) ? std::string(v.text) : to_utf8(v.text);
    case js_value::json_text: return parse_js_json(v.text);
    default: return nullptr;
  }
}

bool append_emit(state& st, const js_value& key, const js_value& value) noexcept
{
  try {
    if (st.sink->size() >= st.limits.emits_per_doc) {
      st.native_error = "too many emits for one document (limit " + std::to_string(st.limits.emits_per_doc) + ")";
      return false;
    }
    st.sink->push_back({to_json(key), to_json(value)});
    return true;
  } catch (const std::exception& e) {
    try {
      st.native_error = std::string("cannot index the emitted value: ") + e.what();
    } catch (...) {
    }
    return false;
  }
}

// JSON text of the value at idx (replacing it on the stack); undefined and functions give null.
std::string_view encode_at(duk_context* ctx, duk_idx_t idx)
{
  if (!duk_is_undefined(ctx, idx)) duk_json_encode(ctx, idx);
  if (!duk_is_string(ctx, idx)) return "null";
  duk_size_t len = 0;
  const char* p = duk_get_lstring(ctx, idx, &len);
  return {p, len};
}

duk_ret_t js_emit(duk_context* ctx)
{
  auto* st = state_of(ctx);
  if (st->sink == nullptr) return duk_error(ctx, DUK_ERR_ERROR, "emit() can only be called from a map function");
  duk_set_top(ctx, 2);
  const auto key = read_at(ctx, 0);
  const auto value = read_at(ctx, 1);
  if (!append_emit(*st, key, value)) return duk_error(ctx, DUK_ERR_ERROR, "%s", st->native_error.c_str());
  return 0;
}

duk_ret_t js_decode_base64(duk_context* ctx)
{
  duk_set_top(ctx, 1);
  duk_base64_decode(ctx, 0);
  duk_buffer_to_string(ctx, 0);
  return 1;
}

duk_ret_t js_loop_guard(duk_context* ctx)
{
  auto* st = state_of(ctx);
  if (++st->steps > st->limits.loop_steps)
    return duk_error(ctx, DUK_ERR_RANGE_ERROR, "function exceeded its step budget (%lu loop iterations)",
                     static_cast<unsigned long>(st->limits.loop_steps));
  duk_push_true(ctx);
  return 1;
}

duk_ret_t setup_cb(duk_context* ctx, void*)
{
  duk_push_global_object(ctx);
  duk_push_c_function(ctx, js_emit, DUK_VARARGS);
  duk_put_prop_string(ctx, -2, "emit");
  duk_push_c_function(ctx, js_decode_base64, 1);
  duk_put_prop_string(ctx, -2, "decodeBase64");
  duk_push_string(ctx, guard_name);
  duk_push_c_function(ctx, js_loop_guard, 0);
  duk_def_prop(ctx, -3, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_CLEAR_WRITABLE | DUK_DEFPROP_CLEAR_ENUMERABLE |
                          DUK_DEFPROP_CLEAR_CONFIGURABLE);
  duk_pop(ctx);
  duk_eval_string_noresult(ctx, helpers_js);
  return 0;
}

struct compile_args {
  const std::string* source;
  const std::string* name;
  int slot;
};

duk_ret_t compile_cb(duk_context* ctx, void* udata)
{
  auto* a = static_cast<compile_args*>(udata);
  duk_push_global_stash(ctx);
  duk_push_lstring(ctx, a->source->data(), a->source->size());
  duk_push_lstring(ctx, a->name->data(), a->name->size());
  duk_compile(ctx, DUK_COMPILE_FUNCTION);
  duk_put_prop_index(ctx, -2, static_cast<duk_uarridx_t>(a->slot));
  return 0;
}

duk_ret_t json_decode_cb(duk_context* ctx, void*)
{
  duk_json_decode(ctx, -1);
  return 1;
}

struct map_args {
  state* st;
  int fn;
  const doc_ref* doc;
  const char* rev;
};

duk_ret_t map_cb(duk_context* ctx, void* udata)
{
  auto* a = static_cast<map_args*>(udata);
  const auto& d = *a->doc;
  duk_push_global_stash(ctx);
  duk_get_prop_index(ctx, -1, static_cast<duk_uarridx_t>(a->fn));
  bool is_json = false;
  if (d.is_json) {
    duk_push_lstring(ctx, d.value.data(), d.value.size());
    is_json = duk_safe_call(ctx, json_decode_cb, nullptr, 1, 1) == DUK_EXEC_SUCCESS;
    if (!is_json) duk_pop(ctx);
  }
  if (!is_json) {
    duk_push_lstring(ctx, d.value.data(), d.value.size());
    duk_base64_encode(ctx, -1);
  }
  duk_push_object(ctx);
  duk_push_lstring(ctx, d.id.data(), d.id.size());
  duk_put_prop_string(ctx, -2, "id");
  duk_push_string(ctx, a->rev);
  duk_put_prop_string(ctx, -2, "rev");
  duk_push_string(ctx, is_json ? "json" : "base64");
  duk_put_prop_string(ctx, -2, "type");
  duk_push_number(ctx, static_cast<double>(d.flags));
  duk_put_prop_string(ctx, -2, "flags");
  duk_push_number(ctx, static_cast<double>(d.expiration));
  duk_put_prop_string(ctx, -2, "expiration");
  a->st->steps = 0;
  duk_call(ctx, 2);
  return 0;
}

struct reduce_args {
  state* st;
  int fn;
  const std::string* keys;
  const std::string* values;
  bool rereduce;
};

duk_ret_t reduce_cb(duk_context* ctx, void* udata)
{
  auto* a = static_cast<reduce_args*>(udata);
  duk_push_global_stash(ctx);
  duk_get_prop_index(ctx, -1, static_cast<duk_uarridx_t>(a->fn));
  duk_push_lstring(ctx, a->keys->data(), a->keys->size());
  duk_json_decode(ctx, -1);
  duk_push_lstring(ctx, a->values->data(), a->values->size());
  duk_json_decode(ctx, -1);
  duk_push_boolean(ctx, a->rereduce ? 1 : 0);
  a->st->steps = 0;
  duk_call(ctx, 3);
  encode_at(ctx, -1);
  if (!duk_is_string(ctx, -1)) {
    duk_pop(ctx);
    duk_push_string(ctx, "null");
  }
  return 1;
}

std::string error_text(duk_context* ctx)
{
  std::string text = duk_safe_to_string(ctx, -1);
  duk_pop(ctx);
  return text;
}

std::string rev_of(const doc_ref& d)
{
  char buf[48];
  std::snprintf(buf, sizeof buf, "1-%016llx%08x%08x", static_cast<unsigned long long>(d.cas), d.expiration, d.flags);
  return buf;
}

} // namespace

js_runtime::js_runtime(js_limits limits) : st_(std::make_unique<state>())
{
  st_->limits = limits;
  st_->ctx = duk_create_heap(js_alloc, js_realloc, js_free, st_.get(), js_fatal);
  if (st_->ctx == nullptr) throw std::runtime_error("cannot create a Duktape heap");
  if (duk_safe_call(st_->ctx, setup_cb, nullptr, 0, 1) != DUK_EXEC_SUCCESS) {
    auto err = error_text(st_->ctx);
    duk_destroy_heap(st_->ctx);
    throw std::runtime_error("cannot set up the Duktape heap: " + err);
  }
  duk_pop(st_->ctx);
}

js_runtime::~js_runtime()
{
  duk_destroy_heap(st_->ctx);
}

std::optional<int> js_runtime::compile(std::string_view source, std::string_view name, std::string& error)
{
  // Duktape compiles exactly one function expression: drop surrounding blanks and a final ';'.
  auto first = source.find_first_not_of(" \t\r\n");
  auto last = source.find_last_not_of(" \t\r\n;");
  if (first == std::string_view::npos || last == std::string_view::npos || last < first) {
    error = "empty function source";
    return std::nullopt;
  }
  const auto trimmed = source.substr(first, last - first + 1);
  const std::string file(name);
  // If the tokenizer of loop_guard misread the source (a regular expression where it expected a
  // division), the guarded text may not compile while the original does: then run unguarded
  // rather than refuse a valid function. Errors are reported against the original text.
  for (const std::string& text : {guard_loops(trimmed, guard_name), std::string(trimmed)}) {
    compile_args args{&text, &file, st_->next_fn};
    if (duk_safe_call(st_->ctx, compile_cb, &args, 0, 1) == DUK_EXEC_SUCCESS) {
      duk_pop(st_->ctx);
      return st_->next_fn++;
    }
    error = error_text(st_->ctx);
  }
  return std::nullopt;
}

std::optional<std::string> js_runtime::map(int fn, const doc_ref& doc, std::vector<emitted>& out)
{
  const auto rev = rev_of(doc);
  const auto before = out.size();
  st_->sink = &out;
  map_args args{st_.get(), fn, &doc, rev.c_str()};
  const auto rc = duk_safe_call(st_->ctx, map_cb, &args, 0, 1);
  st_->sink = nullptr;
  if (rc != DUK_EXEC_SUCCESS) {
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(before), out.end());
    return error_text(st_->ctx);
  }
  duk_pop(st_->ctx);
  return std::nullopt;
}

js_runtime::reduce_result js_runtime::reduce(int fn, const std::string& keys, const std::string& values, bool rereduce)
{
  reduce_args args{st_.get(), fn, &keys, &values, rereduce};
  if (duk_safe_call(st_->ctx, reduce_cb, &args, 0, 1) != DUK_EXEC_SUCCESS) return {std::nullopt, error_text(st_->ctx)};
  duk_size_t len = 0;
  const char* p = duk_get_lstring(st_->ctx, -1, &len);
  const std::string text(p, len);
  duk_pop(st_->ctx);
  try {
    return {parse_js_json(text), {}};
  } catch (const std::exception& e) {
    return {std::nullopt, std::string("cannot use the reduce result: ") + e.what()};
  }
}

std::string to_utf8(std::string_view s)
{
  std::string out;
  out.reserve(s.size());
  auto put = [&out](std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  };
  // Decodes one sequence at i (surrogates allowed); 0xFFFFFFFF if malformed (i advances by one).
  auto decode = [&s](std::size_t& i) -> std::uint32_t {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      return b0;
    }
    const std::size_t len = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc0 ? 2 : 0;
    if (len == 0 || b0 >= 0xf8 || i + len > s.size()) {
      ++i;
      return 0xffffffffu;
    }
    std::uint32_t cp = b0 & (0x7fu >> len);
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) {
        ++i;
        return 0xffffffffu;
      }
      cp = (cp << 6) | (b & 0x3fu);
    }
    static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10ffff) {
      ++i;
      return 0xffffffffu;
    }
    i += len;
    return cp;
  };
  std::size_t i = 0;
  while (i < s.size()) {
    auto cp = decode(i);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      auto j = i;
      const auto low = j < s.size() ? decode(j) : 0xffffffffu;
      if (low >= 0xdc00 && low <= 0xdfff) {
        put(0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00));
        i = j;
        continue;
      }
      cp = 0xfffd;
    } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0xffffffffu) {
      cp = 0xfffd;
    }
    put(cp);
  }
  return out;
}

} // namespace couchkv::mock::views
