#include <couchkv/topology/config.hpp>
#include <couchkv/protocol/json_bounds.hpp>

#include <nlohmann/json.hpp>

#include <charconv>

namespace couchkv::topology {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_nodes = 1024;
constexpr std::size_t max_vbuckets = 65536;
constexpr std::uint32_t max_replicas = 3;

struct parse_failure {
  config_errc code;
  std::string detail;
};

// "host:port" / "[v6]:port" -> (host without brackets, port)
std::optional<std::pair<std::string, std::uint16_t>> split_authority(std::string_view s)
{
  std::string_view host;
  std::string_view port;
  if (s.starts_with('[')) {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt; // bare IPv6 needs brackets
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535 || host.empty()) {
    return std::nullopt;
  }
  return std::pair{std::string(host), static_cast<std::uint16_t>(p)};
}

std::string resolve_host(std::string_view h, std::string_view origin)
{
  if (h.empty() || h == "$HOST") return std::string(origin);
  if (h.starts_with('[') && h.ends_with(']')) h = h.substr(1, h.size() - 2);
  return std::string(h);
}

std::optional<std::uint16_t> port_of(const json& obj, const char* name, parse_failure& fail)
{
  auto it = obj.find(name);
  if (it == obj.end()) return std::uint16_t{0};
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0 || it->get<std::uint64_t>() > 65535) {
    fail = {config_errc::invalid_field, std::string("port \"") + name + "\" is not in 1..65535"};
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(it->get<std::uint64_t>());
}

bool parse_nodes_ext(const json& arr, std::string_view origin, std::vector<node>& out, parse_failure& fail)
{
  if (!arr.is_array()) {
    fail = {config_errc::invalid_field, "nodesExt is not an array"};
    return false;
  }
  if (arr.size() > max_nodes) {
    fail = {config_errc::too_large, "nodesExt has " + std::to_string(arr.size()) + " entries"};
    return false;
  }
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto& n = arr[i];
    auto where = "nodesExt[" + std::to_string(i) + "]";
    if (!n.is_object()) {
      fail = {config_errc::invalid_field, where + " is not an object"};
      return false;
    }
    node nd;
    auto h = n.find("hostname");
    if (h != n.end() && !h->is_string()) {
      fail = {config_errc::invalid_field, where + ".hostname is not a string"};
      return false;
    }
    nd.hostname = resolve_host(h == n.end() ? std::string_view{} : h->get_ref<const std::string&>(), origin);
    auto svc = n.find("services");
    if (svc == n.end() || !svc->is_object()) {
      fail = {config_errc::missing_field, where + ".services"};
      return false;
    }
    auto kv = port_of(*svc, "kv", fail), kvs = port_of(*svc, "kvSSL", fail), mg = port_of(*svc, "mgmt", fail),
         mgs = port_of(*svc, "mgmtSSL", fail), capi = port_of(*svc, "capi", fail),
         capis = port_of(*svc, "capiSSL", fail);
    if (!kv || !kvs || !mg || !mgs || !capi || !capis) {
      fail.detail = where + ".services: " + fail.detail;
      return false;
    }
    nd.plain = {*kv, *mg, *capi};
    nd.tls = {*kvs, *mgs, *capis};
    if (auto t = n.find("thisNode"); t != n.end() && t->is_boolean()) nd.this_node = t->get<bool>();
    out.push_back(std::move(nd));
  }
  return true;
}

// Legacy "nodes": hostname "host:8091", ports.direct = KV, couchApiBase "http://host:8092/...".
bool parse_legacy_nodes(const json& arr, std::string_view origin, std::vector<node>& out, parse_failure& fail)
{
  if (!arr.is_array()) {
    fail = {config_errc::invalid_field, "nodes is not an array"};
    return false;
  }
  if (arr.size() > max_nodes) {
    fail = {config_errc::too_large, "nodes has " + std::to_string(arr.size()) + " entries"};
    return false;
  }
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto& n = arr[i];
    auto where = "nodes[" + std::to_string(i) + "]";
    auto h = n.is_object() ? n.find("hostname") : n.end();
    if (h == n.end() || !h->is_string()) {
      fail = {config_errc::missing_field, where + ".hostname"};
      return false;
    }
    std::string host_text = h->get<std::string>();
    if (host_text.starts_with("$HOST")) {
      auto rest = host_text.substr(5);
      host_text = (std::string(origin).find(':') != std::string::npos ? "[" + std::string(origin) + "]"
                                                                       : std::string(origin)) + rest;
    }
    auto hp = split_authority(host_text);
    if (!hp) {
      fail = {config_errc::invalid_field, where + ".hostname \"" + h->get<std::string>() + "\" is not host:port"};
      return false;
    }
    node nd;
    nd.hostname = hp->first;
    nd.plain.mgmt = hp->second;
    auto ports = n.find("ports");
    if (ports != n.end() && ports->is_object()) {
      auto direct = port_of(*ports, "direct", fail);
      auto sslDirect = port_of(*ports, "sslDirect", fail);
      if (!direct || !sslDirect) {
        fail.detail = where + ".ports: " + fail.detail;
        return false;
      }
      nd.plain.kv = *direct;
      nd.tls.kv = *sslDirect;
    }
    if (auto capi = n.find("couchApiBase"); capi != n.end() && capi->is_string()) {
      // http://host:8092/bucket -> 8092
      std::string_view url = capi->get_ref<const std::string&>();
      if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
      url = url.substr(0, url.find('/'));
      if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
        unsigned p = 0;
        auto digits = url.substr(colon + 1);
        auto [e, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
        if (ec == std::errc{} && e == digits.data() + digits.size() && p > 0 && p <= 65535) {
          nd.plain.views = static_cast<std::uint16_t>(p);
        }
      }
    }
    if (auto t = n.find("thisNode"); t != n.end() && t->is_boolean()) nd.this_node = t->get<bool>();
    out.push_back(std::move(nd));
  }
  return true;
}

bool parse_rows(const json& arr, const char* name, std::uint32_t width, const std::vector<int>& server_to_node,
                std::vector<std::vector<std::int16_t>>& rows, parse_failure& fail)
{
  if (!arr.is_array() || arr.empty()) {
    fail = {config_errc::bad_vbucket_map, std::string(name) + " is not a non-empty array"};
    return false;
  }
  if (arr.size() > max_vbuckets) {
    fail = {config_errc::too_large, std::string(name) + " has " + std::to_string(arr.size()) + " vBuckets"};
    return false;
  }
  rows.reserve(arr.size());
  for (std::size_t vb = 0; vb < arr.size(); ++vb) {
    const auto& row = arr[vb];
    if (!row.is_array() || row.size() != width) {
      fail = {config_errc::bad_vbucket_map, std::string(name) + "[" + std::to_string(vb) + "] does not have " +
                                                std::to_string(width) + " entries (1 + numReplicas)"};
      return false;
    }
    std::vector<std::int16_t> out(width);
    for (std::size_t i = 0; i < width; ++i) {
      const auto& e = row[i];
      if (!e.is_number_integer()) {
        fail = {config_errc::bad_vbucket_map, std::string(name) + "[" + std::to_string(vb) + "][" + std::to_string(i) +
                                                  "] is not an integer"};
        return false;
      }
      auto v = e.get<std::int64_t>();
      if (v < -1 || v >= static_cast<std::int64_t>(server_to_node.size())) {
        fail = {config_errc::bad_vbucket_map, std::string(name) + "[" + std::to_string(vb) + "][" + std::to_string(i) +
                                                  "] = " + std::to_string(v) + " points past serverList (" +
                                                  std::to_string(server_to_node.size()) + " entries)"};
        return false;
      }
      out[i] = static_cast<std::int16_t>(v < 0 ? -1 : server_to_node[static_cast<std::size_t>(v)]);
    }
    rows.push_back(std::move(out));
  }
  return true;
}

bool parse_vbucket_map(const json& m, std::string_view origin, bucket_config& cfg, parse_failure& fail)
{
  if (!m.is_object()) {
    fail = {config_errc::invalid_field, "vBucketServerMap is not an object"};
    return false;
  }
  if (auto algo = m.find("hashAlgorithm"); algo != m.end()) {
    if (!algo->is_string() || (algo->get<std::string>() != "CRC" && algo->get<std::string>() != "crc")) {
      fail = {config_errc::invalid_field, "vBucketServerMap.hashAlgorithm is not \"CRC\""};
      return false;
    }
  }
  auto nr = m.find("numReplicas");
  if (nr == m.end() || !nr->is_number_unsigned() || nr->get<std::uint64_t>() > max_replicas) {
    fail = {config_errc::invalid_field, "vBucketServerMap.numReplicas is missing or not in 0..3"};
    return false;
  }
  auto sl = m.find("serverList");
  if (sl == m.end() || !sl->is_array()) {
    fail = {config_errc::missing_field, "vBucketServerMap.serverList"};
    return false;
  }
  if (sl->empty()) {
    fail = {config_errc::no_servers, "vBucketServerMap.serverList is empty"};
    return false;
  }
  if (sl->size() > max_nodes) {
    fail = {config_errc::too_large, "serverList has " + std::to_string(sl->size()) + " entries"};
    return false;
  }
  // Resolve every serverList entry to a node (by host and KV port); add a node for any entry the
  // node list does not have, so routing only deals with node indexes.
  std::vector<int> server_to_node;
  for (std::size_t i = 0; i < sl->size(); ++i) {
    const auto& e = (*sl)[i];
    std::optional<std::pair<std::string, std::uint16_t>> hp;
    if (e.is_string()) {
      std::string text = e.get<std::string>();
      if (text.starts_with("$HOST:")) {
        std::string o(origin);
        text = (o.find(':') != std::string::npos ? "[" + o + "]" : o) + text.substr(5);
      }
      hp = split_authority(text);
    }
    if (!hp) {
      fail = {config_errc::invalid_field, "serverList[" + std::to_string(i) + "] is not \"host:port\""};
      return false;
    }
    int idx = cfg.find_node(hp->first, hp->second);
    if (idx < 0) {
      // Same node under another name (hostname in one list, address in the other): like
      // libcouchbase, trust that serverList follows the data-node order of nodesExt.
      auto data = cfg.data_nodes();
      if (i < data.size() && data[i] < cfg.nodes.size() && cfg.nodes[data[i]].plain.kv == hp->second) {
        idx = static_cast<int>(data[i]);
      }
    }
    if (idx < 0) {
      node nd;
      nd.hostname = hp->first;
      nd.plain.kv = hp->second;
      cfg.nodes.push_back(std::move(nd));
      idx = static_cast<int>(cfg.nodes.size() - 1);
    }
    server_to_node.push_back(idx);
  }
  vbucket_map map;
  map.num_replicas = static_cast<std::uint32_t>(nr->get<std::uint64_t>());
  auto rows = m.find("vBucketMap");
  if (rows == m.end()) {
    fail = {config_errc::missing_field, "vBucketServerMap.vBucketMap"};
    return false;
  }
  if (!parse_rows(*rows, "vBucketMap", map.num_replicas + 1, server_to_node, map.rows, fail)) return false;
  if (auto fwd = m.find("vBucketMapForward"); fwd != m.end() && !fwd->is_null()) {
    if (!parse_rows(*fwd, "vBucketMapForward", map.num_replicas + 1, server_to_node, map.forward, fail)) return false;
    if (map.forward.size() != map.rows.size()) {
      fail = {config_errc::bad_vbucket_map, "vBucketMapForward and vBucketMap differ in length"};
      return false;
    }
  }
  cfg.vbmap = std::move(map);
  return true;
}

std::optional<std::int64_t> int_member(const json& obj, const char* name, parse_failure& fail)
{
  auto it = obj.find(name);
  if (it == obj.end()) return std::int64_t{-1};
  if (!it->is_number_integer()) {
    fail = {config_errc::invalid_field, std::string(name) + " is not an integer"};
    return std::nullopt;
  }
  return it->get<std::int64_t>();
}

} // namespace

std::string node::authority(std::uint16_t port) const
{
  std::string out;
  bool v6 = hostname.find(':') != std::string::npos;
  if (v6) out += '[';
  out += hostname;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

bool bucket_config::has_capability(std::string_view cap) const noexcept
{
  for (const auto& c : bucket_capabilities) {
    if (c == cap) return true;
  }
  return false;
}

std::vector<std::size_t> bucket_config::data_nodes() const
{
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].has_kv()) out.push_back(i);
  }
  return out;
}

std::vector<std::size_t> bucket_config::view_nodes() const
{
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].has_views()) out.push_back(i);
  }
  return out;
}

int bucket_config::find_node(std::string_view hostname, std::uint16_t kv_port) const noexcept
{
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].hostname == hostname && (nodes[i].plain.kv == kv_port || nodes[i].tls.kv == kv_port)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::optional<bucket_config> parse_config(std::string_view text, std::string_view origin_host, config_error& err)
{
  parse_failure fail{config_errc::invalid_json, {}};
  auto finish = [&]() -> std::optional<bucket_config> {
    err.ec = fail.code;
    err.detail = std::move(fail.detail);
    return std::nullopt;
  };
  // Bounded before any DOM is built (docs/protocol.md 7): 64 MiB, 64 levels (a config has 5), and
  // 2 million values (65,536 vBuckets with 3 replicas, current and forward maps, are about 530,000).
  if (auto over = protocol::check_json_bounds(text)) {
    fail = {config_errc::too_large, "config: " + *over};
    return finish();
  }
  auto doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    fail = {config_errc::invalid_json, doc.is_discarded() ? "parse error" : "top level is not an object"};
    return finish();
  }
  bucket_config cfg;
  auto rev = int_member(doc, "rev", fail);
  auto epoch = int_member(doc, "revEpoch", fail);
  if (!rev || !epoch) return finish();
  cfg.rev = *rev;
  cfg.rev_epoch = *epoch;
  for (auto [field, target] : {std::pair{"name", &cfg.name}, std::pair{"uuid", &cfg.uuid}}) {
    if (auto it = doc.find(field); it != doc.end()) {
      if (!it->is_string()) {
        fail = {config_errc::invalid_field, std::string(field) + " is not a string"};
        return finish();
      }
      *target = it->get<std::string>();
    }
  }
  if (auto loc = doc.find("nodeLocator"); loc != doc.end()) {
    if (!loc->is_string()) {
      fail = {config_errc::invalid_field, "nodeLocator is not a string"};
      return finish();
    }
    // libcouchbase treats anything but "ketama" as a vBucket bucket.
    cfg.locator = loc->get<std::string>() == "ketama" ? node_locator::ketama : node_locator::vbucket;
  }
  if (auto ext = doc.find("nodesExt"); ext != doc.end()) {
    if (!parse_nodes_ext(*ext, origin_host, cfg.nodes, fail)) return finish();
    // nodesExt lacks couchApiBase only in its services; nothing more to merge.
  } else if (auto legacy = doc.find("nodes"); legacy != doc.end()) {
    if (!parse_legacy_nodes(*legacy, origin_host, cfg.nodes, fail)) return finish();
  } else {
    fail = {config_errc::missing_field, "neither nodesExt nor nodes"};
    return finish();
  }
  if (auto caps = doc.find("bucketCapabilities"); caps != doc.end() && caps->is_array()) {
    for (const auto& c : *caps) {
      if (c.is_string()) cfg.bucket_capabilities.push_back(c.get<std::string>());
    }
  }
  if (cfg.locator == node_locator::vbucket) {
    auto m = doc.find("vBucketServerMap");
    if (m == doc.end()) {
      fail = {config_errc::missing_field, "vBucketServerMap (nodeLocator is vbucket)"};
      return finish();
    }
    if (!parse_vbucket_map(*m, origin_host, cfg, fail)) return finish();
  }
  if (cfg.data_nodes().empty()) {
    fail = {config_errc::no_servers, "no node has a KV port"};
    return finish();
  }
  err = {};
  return cfg;
}

bool is_newer(const bucket_config& candidate, const bucket_config& current) noexcept
{
  if (candidate.rev < 0) return false; // unversioned never replaces a config
  if (current.rev < 0) return true;
  if (candidate.rev_epoch != current.rev_epoch) return candidate.rev_epoch > current.rev_epoch;
  return candidate.rev > current.rev;
}

} // namespace couchkv::topology
