// A small JavaScript tokenizer: just enough to find loop keywords outside strings, comments and
// regular expression literals, and the parentheses that belong to them.
#include "loop_guard.hpp"

#include <algorithm>
#include <vector>

namespace couchkv::mock::views {

namespace {

enum class kind { word, punct, literal };

struct token {
  kind k;
  std::size_t begin;
  std::size_t end;
  bool closes_condition{false}; // ')' of if/while/for/with (...): a '/' after it starts a regexp
};

bool is_word_char(char c)
{
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || u >= 0x80;
}

// After these, a '/' starts a regular expression rather than a division.
bool regex_may_follow(const std::vector<token>& toks, std::string_view src)
{
  if (toks.empty()) return true;
  const auto& t = toks.back();
  const auto text = src.substr(t.begin, t.end - t.begin);
  if (t.k == kind::literal) return false;
  if (t.k == kind::punct) return text == ")" ? t.closes_condition : text != "]" && text != "}";
  static constexpr std::string_view keywords[] = {"return", "typeof", "instanceof", "in",   "of",
                                                  "new",    "delete", "void",       "throw", "case",
                                                  "do",     "else"};
  return std::find(std::begin(keywords), std::end(keywords), text) != std::end(keywords);
}

std::size_t skip_quoted(std::string_view src, std::size_t i, char quote)
{
  for (++i; i < src.size(); ++i) {
    if (src[i] == '\\') {
      ++i;
    } else if (src[i] == quote) {
      return i + 1;
    }
  }
  return src.size();
}

std::size_t skip_regex(std::string_view src, std::size_t i)
{
  bool in_class = false;
  for (++i; i < src.size(); ++i) {
    const char c = src[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      in_class = true;
    } else if (c == ']') {
      in_class = false;
    } else if (c == '/' && !in_class) {
      ++i;
      while (i < src.size() && is_word_char(src[i])) ++i; // flags
      return i;
    } else if (c == '\n') {
      return i;
    }
  }
  return src.size();
}

std::vector<token> tokenize(std::string_view src)
{
  std::vector<token> toks;
  std::vector<std::size_t> open_parens;
  std::size_t i = 0;
  while (i < src.size()) {
    const char c = src[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
    } else if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
      i = std::min(src.find('\n', i), src.size());
    } else if (c == '/' && i + 1 < src.size() && src[i + 1] == '*') {
      const auto e = src.find("*/", i + 2);
      i = e == std::string_view::npos ? src.size() : e + 2;
    } else if (c == '"' || c == '\'' || c == '`') {
      const auto e = skip_quoted(src, i, c);
      toks.push_back({kind::literal, i, e});
      i = e;
    } else if (c == '/' && regex_may_follow(toks, src)) {
      const auto e = skip_regex(src, i);
      toks.push_back({kind::literal, i, e});
      i = e;
    } else if (is_word_char(c)) {
      auto e = i;
      while (e < src.size() && is_word_char(src[e])) ++e;
      toks.push_back({kind::word, i, e});
      i = e;
    } else {
      toks.push_back({kind::punct, i, i + 1});
      if (c == '(') {
        open_parens.push_back(toks.size() - 1);
      } else if (c == ')' && !open_parens.empty()) {
        const auto open = open_parens.back();
        open_parens.pop_back();
        if (open > 0 && toks[open - 1].k == kind::word) {
          const auto w = src.substr(toks[open - 1].begin, toks[open - 1].end - toks[open - 1].begin);
          toks.back().closes_condition = w == "if" || w == "while" || w == "for" || w == "with";
        }
      }
      ++i;
    }
  }
  return toks;
}

struct insertion {
  std::size_t at;
  std::string text;
};

} // namespace

std::string guard_loops(std::string_view src, std::string_view guard_name)
{
  const auto toks = tokenize(src);
  auto text = [&](std::size_t k) { return src.substr(toks[k].begin, toks[k].end - toks[k].begin); };
  auto is = [&](std::size_t k, std::string_view s) { return k < toks.size() && text(k) == s; };
  const std::string call = std::string(guard_name) + "()";

  std::vector<insertion> ins;
  for (std::size_t k = 0; k + 1 < toks.size(); ++k) {
    if (toks[k].k != kind::word || (k > 0 && is(k - 1, "."))) continue;
    const bool is_while = text(k) == "while", is_for = text(k) == "for";
    if ((!is_while && !is_for) || !is(k + 1, "(")) continue;
    // Find the matching ')' and, for `for`, the two top-level ';'.
    int depth = 0;
    std::size_t close = toks.size();
    std::vector<std::size_t> semis;
    for (std::size_t m = k + 1; m < toks.size(); ++m) {
      if (toks[m].k != kind::punct) continue;
      const char p = src[toks[m].begin];
      if (p == '(' || p == '[' || p == '{') ++depth;
      if (p == ')' || p == ']' || p == '}') {
        if (--depth == 0) {
          close = m;
          break;
        }
      }
      if (p == ';' && depth == 1) semis.push_back(m);
    }
    if (close == toks.size()) break; // unbalanced: leave it to the compiler to complain
    if (is_while) {
      ins.push_back({toks[k + 1].end, call + " && ("});
      ins.push_back({toks[close].begin, ")"});
    } else if (semis.size() == 2) {
      if (semis[1] == semis[0] + 1) {
        ins.push_back({toks[semis[0]].end, call});
      } else {
        ins.push_back({toks[semis[0]].end, call + " && ("});
        ins.push_back({toks[semis[1]].begin, ")"});
      }
    }
  }
  std::stable_sort(ins.begin(), ins.end(), [](const insertion& a, const insertion& b) { return a.at < b.at; });
  std::string out;
  out.reserve(src.size() + ins.size() * (call.size() + 6));
  std::size_t pos = 0;
  for (const auto& in : ins) {
    out.append(src.substr(pos, in.at - pos));
    out.append(in.text);
    pos = in.at;
  }
  out.append(src.substr(pos));
  return out;
}

} // namespace couchkv::mock::views
