#include "collate.hpp"

#include <array>
#include <cstdint>

namespace couchkv::mock::views {

namespace {

constexpr std::string_view punctuation_order = "`^_-,;:!?.'\"()[]{}@*/\\&#%+<=>|~$";

struct ascii_weights {
  std::array<std::uint16_t, 128> primary{};
  constexpr ascii_weights()
  {
    std::uint16_t w = 1;
    for (unsigned c = 0; c < 32; ++c) primary[c] = w++;
    primary[0x7f] = w++;
    primary[' '] = w++;
    for (char c : punctuation_order) primary[static_cast<unsigned char>(c)] = w++;
    for (unsigned c = '0'; c <= '9'; ++c) primary[c] = w++;
    for (unsigned c = 'a'; c <= 'z'; ++c) {
      primary[c] = w;
      primary[c - 'a' + 'A'] = w++;
    }
  }
};
constexpr ascii_weights ascii{};

struct weights {
  std::uint32_t primary;
  std::uint32_t secondary; // 0 = no accent
  std::uint32_t tertiary;  // 0 = lower case / caseless, 1 = upper case
};

// Base letter of a Latin-1 accented letter (U+00C0..U+00FF), or 0.
constexpr char latin1_base(std::uint32_t cp)
{
  constexpr char table[] = // U+00C0 .. U+00FF; '.' = not a plain accented letter
    "AAAAAA.CEEEEIIII.NOOOOO.OUUUUY.."
    "aaaaaa.ceeeeiiii.nooooo.ouuuuy.y";
  static_assert(sizeof table == 65);
  const char base = cp >= 0xc0 && cp <= 0xff ? table[cp - 0xc0] : '.';
  return base == '.' ? '\0' : base;
}

weights weigh(std::uint32_t cp)
{
  if (cp < 128) {
    const bool upper = cp >= 'A' && cp <= 'Z';
    return {ascii.primary[cp], 0, upper ? 1u : 0u};
  }
  if (char base = latin1_base(cp); base != '\0') {
    const bool upper = base >= 'A' && base <= 'Z';
    return {ascii.primary[static_cast<unsigned char>(base)], cp, upper ? 1u : 0u};
  }
  return {0x1000 + cp, 0, 0};
}

// Decodes one UTF-8 sequence at s[i]; malformed bytes decode to values above U+10FFFF so they
// still order deterministically.
std::uint32_t next_code_point(std::string_view s, std::size_t& i)
{
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc0 ? 2 : 0;
  if (len == 0 || b0 > 0xf4 || i + static_cast<std::size_t>(len) > s.size()) {
    ++i;
    return 0x110000u + b0;
  }
  std::uint32_t cp = b0 & (0x7fu >> len);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xc0) != 0x80) {
      ++i;
      return 0x110000u + b0;
    }
    cp = (cp << 6) | (b & 0x3fu);
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

template <class Level>
int compare_level(std::string_view a, std::string_view b, Level level)
{
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const auto wa = level(weigh(next_code_point(a, i)));
    const auto wb = level(weigh(next_code_point(b, j)));
    if (wa != wb) return wa < wb ? -1 : 1;
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

int type_rank(const json& v)
{
  switch (v.type()) {
    case json::value_t::null: return 0;
    case json::value_t::boolean: return v.get<bool>() ? 2 : 1;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return 3;
    case json::value_t::string: return 4;
    case json::value_t::array: return 5;
    case json::value_t::object: return 6;
    default: return 7;
  }
}

template <class T>
int three_way(T a, T b)
{
  return a < b ? -1 : (b < a ? 1 : 0);
}

int compare_numbers(const json& a, const json& b)
{
  if (a.is_number_float() || b.is_number_float()) return three_way(a.get<double>(), b.get<double>());
  if (a.is_number_unsigned() && b.is_number_unsigned())
    return three_way(a.get<std::uint64_t>(), b.get<std::uint64_t>());
  if (a.is_number_unsigned() && a.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) return 1;
  if (b.is_number_unsigned() && b.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) return -1;
  return three_way(a.get<std::int64_t>(), b.get<std::int64_t>());
}

} // namespace

int collate_strings(std::string_view a, std::string_view b)
{
  if (int c = compare_level(a, b, [](weights w) { return w.primary; }); c != 0) return c;
  if (int c = compare_level(a, b, [](weights w) { return w.secondary; }); c != 0) return c;
  if (int c = compare_level(a, b, [](weights w) { return w.tertiary; }); c != 0) return c;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

int collate(const json& a, const json& b)
{
  const int ra = type_rank(a), rb = type_rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 3: return compare_numbers(a, b);
    case 4: return collate_strings(a.get_ref<const std::string&>(), b.get_ref<const std::string&>());
    case 5: {
      const auto n = std::min(a.size(), b.size());
      for (std::size_t k = 0; k < n; ++k)
        if (int c = collate(a[k], b[k]); c != 0) return c;
      return three_way(a.size(), b.size());
    }
    case 6: {
      auto ia = a.items().begin();
      auto ib = b.items().begin();
      for (; ia != a.items().end() && ib != b.items().end(); ++ia, ++ib) {
        if (int c = collate_strings(ia.key(), ib.key()); c != 0) return c;
        if (int c = collate(ia.value(), ib.value()); c != 0) return c;
      }
      return three_way(a.size(), b.size());
    }
    default: return 0;
  }
}

} // namespace couchkv::mock::views
