// The management port: /pools, bucket configs (verbose, terse, streaming), the design document
// list, and the fault controls as POST /mock/<control>. Plus the helpers both ports use.
#include "http.hpp"

#include <couchkv/protocol/scram.hpp>

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cctype>

namespace couchkv::mock {

// ---- helpers ----------------------------------------------------------------------------------------

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space)
{
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = digit(s[i + 1]), lo = digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<http_target> parse_target(std::string_view target)
{
  if (target.empty() || target.front() != '/') return std::nullopt; // origin-form only
  http_target t;
  auto q = target.find('?');
  auto path = target.substr(0, q);
  while (!path.empty()) {
    auto slash = path.find('/');
    auto seg = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (seg.empty()) continue;
    auto d = percent_decode(seg, false);
    if (!d) return std::nullopt;
    t.segments.push_back(std::move(*d));
  }
  if (q == std::string_view::npos) return t;
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto k = percent_decode(pair.substr(0, eq), true);
    auto v = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!k || !v) return std::nullopt;
    t.params.emplace(std::move(*k), std::move(*v));
  }
  return t;
}

http_reply json_reply(unsigned status, const nlohmann::json& body)
{
  http_reply r;
  r.status = status;
  r.body = body.dump();
  return r;
}

http_reply error_reply(unsigned status, std::string_view error, std::string_view reason)
{
  // dump with replace: a reason quoting the client's bytes must not make the JSON invalid.
  http_reply r;
  r.status = status;
  r.body = nlohmann::json{{"error", error}, {"reason", reason}}.dump(-1, ' ', false,
                                                                    nlohmann::json::error_handler_t::replace);
  return r;
}

http_identity authenticate(const cluster::impl& cl, const http_request& req)
{
  http_identity id;
  auto h = req[http::field::authorization];
  constexpr std::string_view basic = "Basic ";
  if (h.size() <= basic.size() || !boost::beast::iequals(h.substr(0, basic.size()), basic)) return id;
  auto decoded = protocol::scram::base64_decode(std::string_view(h.data() + basic.size(), h.size() - basic.size()));
  if (!decoded) return id;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return id;
  auto user = decoded->substr(0, colon);
  auto password = decoded->substr(colon + 1);
  if (user == cl.opts.admin_user && password == cl.opts.admin_password) {
    id.valid = id.admin = true;
    return id;
  }
  if (auto it = cl.buckets.find(user); it != cl.buckets.end() && it->second.opts.password == password) {
    id.valid = true;
    id.bucket = user;
  }
  return id;
}

http_reply unauthorized()
{
  auto r = error_reply(401, "unauthorized", "Unauthorized: bad or missing Basic credentials");
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Couchbase Server Admin / REST\"");
  return r;
}

std::string request_host(const cluster::impl& cl, const http_request& req)
{
  std::string_view h = req[http::field::host];
  if (!h.empty() && h.front() == '[') {
    h = h.substr(0, h.find(']') == std::string_view::npos ? 0 : h.find(']') + 1);
  } else {
    h = h.substr(0, h.find(':'));
  }
  // It goes into JSON text and URLs: only host characters, else the mock's own address.
  bool ok = !h.empty() && h.size() <= 255 && std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' ||
           c == ']';
  });
  return ok ? std::string(h) : cl.opts.host;
}

std::string verbose_config(const cluster::impl& cl, const bucket_state& b, std::string_view host)
{
  auto cfg = cl.config_object(b);
  const auto& name = b.opts.name;
  bool couchbase = b.opts.type == bucket_type::couchbase;
  cfg["uri"] = "/pools/default/buckets/" + name + "?bucket_uuid=mock-" + name;
  cfg["streamingUri"] = "/pools/default/bucketsStreaming/" + name + "?bucket_uuid=mock-" + name;
  cfg["bucketType"] = couchbase ? "membase" : "memcached";
  cfg["authType"] = "sasl";
  cfg["replicaNumber"] = b.opts.replicas;
  cfg["numVBuckets"] = b.vbs.size();
  cfg["saslPassword"] = ""; // never the real one
  std::string text = cfg.dump();
  std::string out;
  constexpr std::string_view placeholder = "$HOST";
  for (std::size_t at = 0;;) {
    auto p = text.find(placeholder, at);
    out.append(text, at, p == std::string::npos ? std::string::npos : p - at);
    if (p == std::string::npos) break;
    out += host;
    at = p + placeholder.size();
  }
  return out;
}

// ---- management --------------------------------------------------------------------------------------

namespace {

nlohmann::json pools_default(const cluster::impl& cl, std::size_t self, std::string_view host)
{
  nlohmann::json nodes = nlohmann::json::array();
  for (std::size_t i = 0; i < cl.nodes.size(); ++i) {
    const auto& n = cl.nodes[i];
    std::string h(host);
    nlohmann::json node = {{"hostname", h + ":" + std::to_string(n.mgmt_port)},
                           {"thisNode", i == self},
                           {"ports", {{"direct", n.port}}},
                           {"couchApiBase", "http://" + h + ":" + std::to_string(n.views_port) + "/"},
                           {"services", {"kv"}},
                           {"status", n.up ? "healthy" : "unhealthy"},
                           {"clusterMembership", n.failed_over ? "inactiveFailed" : "active"},
                           {"otpNode", "ns_" + std::to_string(i) + "@" + h},
                           {"version", "7.2.0-mock"}};
    if (cl.tls) node["couchApiBaseHTTPS"] = "https://" + h + ":" + std::to_string(n.views_tls_port) + "/";
    nodes.push_back(std::move(node));
  }
  return {{"name", "default"},
          {"clusterName", "couchkv-mock"},
          {"nodes", nodes},
          {"buckets",
           {{"uri", "/pools/default/buckets?uuid=mock-cluster"},
            {"terseBucketsBase", "/pools/default/b/"},
            {"terseStreamingBucketsBase", "/pools/default/bs/"}}},
          {"rebalanceStatus", "none"},
          {"balanced", true}};
}

// Unsigned decimal in [0, max]; nullopt otherwise.
std::optional<std::uint64_t> number(const http_target& t, const std::string& name, std::uint64_t max)
{
  auto it = t.params.find(name);
  if (it == t.params.end()) return std::nullopt;
  const auto& s = it->second;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty() || v > max) return std::nullopt;
  return v;
}

http_reply control(cluster::impl& cl, const std::string& what, const http_target& t)
{
  auto bad = [](std::string reason) { return error_reply(400, "bad_request", reason); };
  auto ok = [] { return json_reply(200, {{"ok", true}}); };
  auto node_param = [&]() -> std::optional<std::size_t> {
    auto n = number(t, "node", cl.nodes.size() - 1);
    if (!n) return std::nullopt;
    return static_cast<std::size_t>(*n);
  };
  std::string node_hint = "node must be an integer in 0.." + std::to_string(cl.nodes.size() - 1);
  if (what == "failover" || what == "kill_connections" || what == "stop_node" || what == "restart_node") {
    auto n = node_param();
    if (!n) return bad(node_hint);
    if (what == "failover") cl.failover(*n);
    if (what == "kill_connections") cl.close_connections(*n);
    if (what == "stop_node") cl.node_down(*n);
    if (what == "restart_node") cl.node_up(*n);
    return ok();
  }
  if (what == "rebalance") {
    cl.rebalance();
    return ok();
  }
  if (what == "reject_kv_auth") {
    auto n = node_param();
    auto on = number(t, "reject", 1);
    if (!n || (t.params.count("reject") != 0 && !on)) return bad(node_hint + "; reject (optional) must be 0 or 1");
    cl.nodes[*n].reject_kv_auth = !on || *on == 1;
    return ok();
  }
  if (what == "tmpfail_on_locked") {
    auto on = number(t, "on", 1);
    if (!on) return bad("on must be 0 or 1");
    cl.opts.tmpfail_on_locked = *on == 1;
    return ok();
  }
  if (what == "fail_next") {
    auto count = number(t, "count", 0xffffffffu);
    auto st = number(t, "status", 0xffffu);
    if (!count || !st) return bad("count (0..2^32-1) and status (0..65535, decimal) are required integers");
    cl.fail_count = static_cast<std::uint32_t>(*count);
    cl.fail_status = static_cast<std::uint16_t>(*st);
    return ok();
  }
  if (what == "drop_next") {
    auto count = number(t, "count", 0xffffffffu);
    if (!count) return bad("count must be an integer in 0..2^32-1");
    cl.drop_count = static_cast<std::uint32_t>(*count);
    return ok();
  }
  if (what == "garbage_next") {
    cl.garbage_next = true;
    return ok();
  }
  if (what == "advance_clock") {
    auto s = number(t, "seconds", 100ull * 365 * 24 * 3600);
    if (!s) return bad("seconds must be a non-negative integer (at most 100 years)");
    cl.clock_offset += static_cast<std::int64_t>(*s);
    return ok();
  }
  if (what == "set_delays") {
    constexpr std::uint64_t max_ms = 3'600'000;
    bool has_r = t.params.count("replication_ms") != 0, has_p = t.params.count("persistence_ms") != 0;
    auto r = number(t, "replication_ms", max_ms), p = number(t, "persistence_ms", max_ms);
    if ((!has_r && !has_p) || (has_r && !r) || (has_p && !p)) {
      return bad("replication_ms and/or persistence_ms must be integers in 0..3600000");
    }
    if (r) cl.opts.replication_delay = std::chrono::milliseconds(*r);
    if (p) cl.opts.persistence_delay = std::chrono::milliseconds(*p);
    return ok();
  }
  return error_reply(404, "not_found", "unknown control /mock/" + what);
}

} // namespace

http_reply route_management(cluster::impl& cl, std::size_t node, const http_request& req)
{
  auto t = parse_target(req.target());
  if (!t) return error_reply(400, "bad_request", "bad request target (bad %-escape or not a path)");
  const auto& s = t->segments;
  auto not_found = [&] { return error_reply(404, "not_found", "unknown path " + std::string(req.target())); };
  auto method_is = [&](http::verb v) { return req.method() == v; };

  if (s.size() == 2 && s[0] == "mock") {
    if (!method_is(http::verb::post)) return error_reply(405, "method_not_allowed", "the controls take POST");
    auto id = authenticate(cl, req);
    if (!id.admin) return unauthorized();
    return control(cl, s[1], *t);
  }
  bool known = (s.size() >= 1 && s.size() <= 2 && s[0] == "pools" && (s.size() == 1 || s[1] == "default")) ||
               (s.size() >= 3 && s.size() <= 5 && s[0] == "pools" && s[1] == "default" &&
                (s[2] == "buckets" || ((s[2] == "b" || s[2] == "bs" || s[2] == "bucketsStreaming") && s.size() == 4)) &&
                (s.size() != 5 || s[4] == "ddocs"));
  if (!known) return not_found();
  if (!method_is(http::verb::get)) return error_reply(405, "method_not_allowed", "only GET here");
  auto id = authenticate(cl, req);
  if (!id.valid) return unauthorized();
  auto host = request_host(cl, req);

  if (s.size() == 1) {
    return json_reply(200, {{"isAdminCreds", id.admin},
                            {"isROAdminCreds", false},
                            {"isEnterprise", true},
                            {"implementationVersion", "7.2.0-mock"},
                            {"componentsVersion", {{"ns_server", "7.2.0-mock"}}},
                            {"uuid", "mock-cluster"},
                            {"pools",
                             {{{"name", "default"},
                               {"uri", "/pools/default?uuid=mock-cluster"},
                               {"streamingUri", "/poolsStreaming/default?uuid=mock-cluster"}}}}});
  }
  if (s.size() == 2) return json_reply(200, pools_default(cl, node, host));
  if (s.size() == 3) {
    std::string list = "[";
    for (const auto& [name, b] : cl.buckets) {
      if (!id.may_access(name)) continue;
      if (list.size() > 1) list += ",";
      list += verbose_config(cl, b, host);
    }
    http_reply r;
    r.body = list + "]";
    return r;
  }
  auto it = cl.buckets.find(s[3]);
  if (it == cl.buckets.end()) return error_reply(404, "not_found", "no bucket named \"" + s[3] + "\"");
  if (!id.may_access(s[3])) return unauthorized();
  const auto& b = it->second;
  if (s.size() == 5) { // .../buckets/<b>/ddocs
    if (b.opts.type != bucket_type::couchbase) {
      return error_reply(404, "not_found", "memcached buckets have no design documents");
    }
#ifdef COUCHKV_MOCK_HAVE_VIEWS
    http_reply r;
    r.body = b.views->list_design_docs();
    return r;
#else
    return json_reply(200, {{"rows", nlohmann::json::array()}});
#endif
  }
  http_reply r;
  if (s[2] == "buckets") {
    r.body = verbose_config(cl, b, host);
  } else if (s[2] == "b") {
    r.body = cl.config_json(b); // terse: $HOST stays, as the server sends it
  } else {
    r.stream_bucket = b.opts.name;
    r.stream_verbose = s[2] == "bucketsStreaming";
    r.stream_host = host;
  }
  return r;
}

} // namespace couchkv::mock
