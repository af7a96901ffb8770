#include <couchkv/topology/connection_string.hpp>

#include <charconv>
#include <cmath>
#include <optional>

namespace couchkv::topology {
namespace {

std::optional<std::string> percent_decode(std::string_view s)
{
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc{} || p != s.data() + i + 3) return std::nullopt;
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

bool valid_hostname(std::string_view h)
{
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

bool valid_ipv6(std::string_view h)
{
  if (h.size() < 2 || h.find("::") != h.rfind("::")) return false;
  for (char c : h) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) {
      return false;
    }
  }
  return h.find(':') != std::string_view::npos;
}

std::optional<bool> parse_bool(std::string_view v)
{
  if (v == "true" || v == "1" || v == "on" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "off" || v == "no") return false;
  return std::nullopt;
}

// A standard Couchbase port under the scheme of the other security level: plain HTTP or KV to a
// TLS port (18091, 11207) would wait for a handshake that never comes, TLS to a plain one (8091,
// 11210) fails its handshake. The reason, with what to write instead; empty when the port fits.
// `host` is the host as written (IPv6 in brackets).
std::string standard_port_mismatch(scheme sch, std::string_view host, std::uint16_t port)
{
  const std::string h(host);
  const auto p = std::to_string(port);
  const auto keep = " (or " + h + ":" + p + (port == 8091 || port == 18091 ? "=http" : "=kv") +
                    " if that port really is " + (sch == scheme::couchbases ? "TLS" : "plain") + ")";
  if (sch == scheme::couchbase && port == 18091) {
    return "port 18091 of host \"" + h + "\" is the management port over TLS: write couchbases://" + h +
           ":18091, or " + h + ":8091 for plain HTTP" + keep;
  }
  if (sch == scheme::couchbase && port == 11207) {
    return "port 11207 of host \"" + h + "\" is the KV port over TLS: write couchbases://" + h + ":11207, or " + h +
           ":11210 for plain KV" + keep;
  }
  if (sch == scheme::couchbases && port == 8091) {
    return "port 8091 of host \"" + h + "\" is the plain management port: couchbases:// bootstraps over HTTPS from " +
           h + ":18091" + keep;
  }
  if (sch == scheme::couchbases && port == 11210) {
    return "port 11210 of host \"" + h + "\" is the plain KV port: couchbases:// connects to " + h + ":11207" + keep;
  }
  return {};
}

std::optional<std::uint32_t> parse_uint(std::string_view v, std::uint32_t lo, std::uint32_t hi)
{
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || p != v.data() + v.size() || n < lo || n > hi) return std::nullopt;
  return n;
}

} // namespace

std::uint16_t connection_string::default_port() const noexcept
{
  switch (scheme) {
    case topology::scheme::couchbase: return 11210;
    case topology::scheme::couchbases: return 11207;
    case topology::scheme::memcached: return 11211;
  }
  return 11210;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept
{
  double scale_ms = 1000.0; // a bare number is seconds
  std::string_view digits = text;
  for (auto [suffix, scale] : {std::pair{"us", 0.001}, std::pair{"ms", 1.0}, std::pair{"s", 1000.0},
                               std::pair{"m", 60000.0}}) {
    std::string_view sfx(suffix);
    if (text.size() > sfx.size() && text.ends_with(sfx)) {
      digits = text.substr(0, text.size() - sfx.size());
      scale_ms = scale;
      break;
    }
  }
  if (digits.empty() || digits.front() == '-' || digits.front() == '+') return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || p != digits.data() + digits.size() || !std::isfinite(v)) return std::nullopt;
  double ms = v * scale_ms;
  if (ms < 0 || ms > 86'400'000.0) return std::nullopt; // a day is the longest timeout that makes sense
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(ms))};
}

std::optional<connection_string> parse_connection_string(std::string_view text, config_error& err)
{
  auto fail = [&](config_errc code, std::string detail) -> std::optional<connection_string> {
    err = {code, std::move(detail)};
    return std::nullopt;
  };
  connection_string cs;
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail(config_errc::invalid_connection_string, "missing \"scheme://\"");
  auto scheme_text = text.substr(0, sep);
  if (scheme_text == "couchbase") cs.scheme = scheme::couchbase;
  else if (scheme_text == "couchbases") cs.scheme = scheme::couchbases;
  else if (scheme_text == "memcached") cs.scheme = scheme::memcached;
  else return fail(config_errc::unknown_scheme, "scheme \"" + std::string(scheme_text) + "\"");
  text.remove_prefix(sep + 3);

  std::string_view query;
  if (auto q = text.find('?'); q != std::string_view::npos) {
    query = text.substr(q + 1);
    text = text.substr(0, q);
  }
  std::string_view hosts = text;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    hosts = text.substr(0, slash);
    auto bucket = percent_decode(text.substr(slash + 1));
    if (!bucket || bucket->find('/') != std::string::npos) {
      return fail(config_errc::invalid_connection_string, "bucket \"" + std::string(text.substr(slash + 1)) + "\"");
    }
    if (cs.scheme == scheme::memcached && !bucket->empty()) {
      return fail(config_errc::invalid_connection_string, "memcached:// takes no bucket name");
    }
    cs.bucket = std::move(*bucket);
  }
  if (hosts.empty()) return fail(config_errc::invalid_host, "no host given");

  while (!hosts.empty()) {
    auto comma = hosts.find_first_of(",;");
    auto item = hosts.substr(0, comma);
    hosts = comma == std::string_view::npos ? std::string_view{} : hosts.substr(comma + 1);
    if (item.empty()) return fail(config_errc::invalid_host, "empty host in the host list");
    // libcouchbase's explicit service suffix: "host:port=http" (management, bootstrap over HTTP)
    // or "host:port=mcd" / "=kv" (KV).
    std::optional<bool> forced_http;
    if (auto eq = item.rfind('='); eq != std::string_view::npos) {
      auto svc = item.substr(eq + 1);
      if (svc == "http") forced_http = true;
      else if (svc == "mcd" || svc == "kv") forced_http = false;
      else return fail(config_errc::invalid_host, "unknown service \"" + std::string(svc) + "\" in \"" + std::string(item) + "\" (http, mcd or kv)");
      if (cs.scheme == scheme::memcached && *forced_http) {
        return fail(config_errc::invalid_host, "memcached:// has no HTTP bootstrap (\"" + std::string(item) + "\")");
      }
      item = item.substr(0, eq);
    }
    endpoint ep;
    std::string_view port_text;
    std::string_view host_text; // as written: IPv6 in brackets
    if (item.empty()) return fail(config_errc::invalid_host, "empty host before \"=\" in the host list");
    if (item.front() == '[') {
      auto close = item.find(']');
      if (close == std::string_view::npos) return fail(config_errc::invalid_host, "unclosed '[' in \"" + std::string(item) + "\"");
      host_text = item.substr(0, close + 1);
      ep.host = std::string(item.substr(1, close - 1));
      if (!valid_ipv6(ep.host)) return fail(config_errc::invalid_host, "\"" + std::string(item) + "\" is not an IPv6 address");
      auto rest = item.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') return fail(config_errc::invalid_host, "junk after ']' in \"" + std::string(item) + "\"");
        port_text = rest.substr(1);
      }
    } else {
      auto colon = item.find(':');
      if (colon != item.rfind(':')) {
        return fail(config_errc::invalid_host, "IPv6 address \"" + std::string(item) + "\" needs brackets");
      }
      host_text = item.substr(0, colon);
      ep.host = std::string(host_text);
      if (colon != std::string_view::npos) port_text = item.substr(colon + 1);
      if (!valid_hostname(ep.host)) return fail(config_errc::invalid_host, "host \"" + ep.host + "\"");
    }
    if (!port_text.empty() || item.back() == ':') {
      auto port = parse_uint(port_text, 1, 65535);
      if (!port) return fail(config_errc::invalid_port, "port \"" + std::string(port_text) + "\" of host \"" + ep.host + "\"");
      ep.port = static_cast<std::uint16_t>(*port);
    } else {
      ep.port = cs.default_port();
    }
    if (forced_http) {
      ep.http = *forced_http; // the user says what the port speaks; the scheme says whether in TLS
    } else if (cs.scheme != scheme::memcached) {
      // A bare standard port says both what it speaks and whether in TLS: it must fit the scheme.
      if (auto why = standard_port_mismatch(cs.scheme, host_text, ep.port); !why.empty()) {
        return fail(config_errc::invalid_port, std::move(why));
      }
      ep.http = ep.port == 8091 || ep.port == 18091;
    }
    cs.endpoints.push_back(std::move(ep));
  }

  auto& o = cs.options;
  std::vector<std::string> seen;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) return fail(config_errc::invalid_option_value, "option \"" + std::string(pair) + "\" has no value");
    auto name = std::string(pair.substr(0, eq));
    auto value = percent_decode(pair.substr(eq + 1));
    if (!value) return fail(config_errc::invalid_option_value, "option \"" + name + "\": bad percent-encoding");
    for (const auto& s : seen) {
      if (s == name) return fail(config_errc::invalid_option_value, "option \"" + name + "\" given twice");
    }
    seen.push_back(name);
    auto bad = [&](const char* what) { return fail(config_errc::invalid_option_value, "option \"" + name + "\"=\"" + *value + "\": " + what); };
    // Durations up to a day; 0 only where it means something (no poll floor): a timeout of 0 would
    // fail every operation at once, an interval of 0 would spin.
    auto duration = [&](std::chrono::milliseconds& target, bool zero_allowed = false) -> bool {
      auto d = parse_duration(*value);
      if (!d || (d->count() == 0 && !zero_allowed)) return false;
      target = *d;
      return true;
    };
    if (name == "connect_timeout" || name == "config_total_timeout") {
      if (!duration(o.connect_timeout)) return bad("expected a duration above 0 such as 2.5s or 250ms");
    } else if (name == "kv_timeout" || name == "operation_timeout") {
      if (!duration(o.kv_timeout)) return bad("expected a duration above 0 such as 2.5s or 250ms");
    } else if (name == "view_timeout") {
      if (!duration(o.view_timeout)) return bad("expected a duration above 0, up to a day");
    } else if (name == "durability_timeout") {
      if (!duration(o.durability_timeout)) return bad("expected a duration above 0, up to a day");
    } else if (name == "durability_interval") {
      if (!duration(o.durability_interval)) return bad("expected a duration above 0, up to a day");
    } else if (name == "config_poll_interval") {
      if (!duration(o.config_poll_interval)) return bad("expected a duration above 0, up to a day");
    } else if (name == "config_poll_floor") {
      if (!duration(o.config_poll_floor, true)) return bad("expected a duration up to a day");
    } else if (name == "kv_pool_size" || name == "kv_connections") {
      auto n = parse_uint(*value, 1, 64);
      if (!n) return bad("expected 1..64");
      o.kv_pool_size = *n;
    } else if (name == "max_queue_size") {
      auto n = parse_uint(*value, 1, 1u << 24);
      if (!n) return bad("expected 1..16777216");
      o.max_queue_size = *n;
    } else if (name == "sasl_mech_force") {
      o.sasl_mechanisms.clear();
      std::string_view rest = *value;
      while (!rest.empty()) {
        auto sp = rest.find_first_of(", ");
        auto mech = rest.substr(0, sp);
        if (mech != "SCRAM-SHA512" && mech != "SCRAM-SHA256" && mech != "SCRAM-SHA1" && mech != "PLAIN") {
          return bad("mechanisms are SCRAM-SHA512, SCRAM-SHA256, SCRAM-SHA1, PLAIN");
        }
        o.sasl_mechanisms.emplace_back(mech);
        rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
      }
      if (o.sasl_mechanisms.empty()) return bad("empty list");
    } else if (name == "allow_plain_auth" || name == "enable_plain") {
      auto b = parse_bool(*value);
      if (!b) return bad("expected true or false");
      o.allow_plain_auth = *b;
    } else if (name == "tls_verify" || name == "ssl") {
      if (*value == "peer" || *value == "on") o.verify = tls_verify::peer;
      else if (*value == "none" || *value == "no_verify") o.verify = tls_verify::none;
      else return bad("expected peer or none");
    } else if (name == "ca_file" || name == "certpath" || name == "truststorepath") {
      if (value->empty()) return bad("empty path");
      o.ca_file = *value;
    } else if (name == "enable_mutation_tokens") {
      auto b = parse_bool(*value);
      if (!b) return bad("expected true or false");
      o.enable_mutation_tokens = *b;
    } else if (name == "enable_unordered_execution") {
      auto b = parse_bool(*value);
      if (!b) return bad("expected true or false");
      o.enable_unordered_execution = *b;
    } else if (name == "retry_strategy") {
      if (*value == "fail_fast") o.retry_best_effort = false;
      else if (*value == "best_effort") o.retry_best_effort = true;
      else return bad("expected fail_fast or best_effort");
    } else if (name == "user_agent" || name == "client_string") {
      o.user_agent = *value;
    } else {
      return fail(config_errc::unknown_option, "option \"" + name + "\"");
    }
  }
  err = {};
  return cs;
}

} // namespace couchkv::topology
