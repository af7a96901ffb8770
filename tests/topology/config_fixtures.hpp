// Generated terse configs for N nodes, R replicas, V vBuckets (the shape ns_server sends).
#pragma once
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace couchkv::test {

inline nlohmann::json make_config(int nodes, int replicas, int vbuckets, long rev = 1, long epoch = 1,
                                  const std::string& host_prefix = "10.1.0.")
{
  nlohmann::json ext = nlohmann::json::array();
  nlohmann::json servers = nlohmann::json::array();
  for (int n = 0; n < nodes; ++n) {
    auto host = host_prefix + std::to_string(n + 1);
    ext.push_back({{"hostname", host}, {"services", {{"kv", 11210}, {"mgmt", 8091}, {"capi", 8092}}}});
    servers.push_back(host + ":11210");
  }
  nlohmann::json map = nlohmann::json::array();
  for (int vb = 0; vb < vbuckets; ++vb) {
    nlohmann::json row = nlohmann::json::array();
    for (int r = 0; r <= replicas; ++r) row.push_back(r < nodes ? (vb + r) % nodes : -1);
    map.push_back(row);
  }
  return {{"rev", rev},
          {"revEpoch", epoch},
          {"name", "default"},
          {"nodeLocator", "vbucket"},
          {"nodesExt", ext},
          {"vBucketServerMap",
           {{"hashAlgorithm", "CRC"}, {"numReplicas", replicas}, {"serverList", servers}, {"vBucketMap", map}}}};
}

inline std::string read_fixture(const std::string& name)
{
  std::ifstream in(std::string(COUCHKV_SOURCE_DIR) + "/tests/topology/fixtures/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace couchkv::test
