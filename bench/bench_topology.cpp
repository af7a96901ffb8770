// Routing cost per key, config parse time for a 1024-vBucket, 8-node, 2-replica config, and the
// cost of offering that config again (a NOT_MY_VBUCKET body the bucket already has).
#include <couchkv/topology/config.hpp>
#include <couchkv/topology/config_tracker.hpp>
#include <couchkv/topology/routing.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace couchkv::topology;

static std::string eight_node_config()
{
  nlohmann::json ext = nlohmann::json::array(), servers = nlohmann::json::array(), map = nlohmann::json::array();
  for (int n = 0; n < 8; ++n) {
    auto host = "10.1.0." + std::to_string(n + 1);
    ext.push_back({{"hostname", host}, {"services", {{"kv", 11210}, {"mgmt", 8091}, {"capi", 8092}}}});
    servers.push_back(host + ":11210");
  }
  for (int vb = 0; vb < 1024; ++vb) map.push_back({vb % 8, (vb + 1) % 8, (vb + 2) % 8});
  nlohmann::json cfg = {{"rev", 1}, {"revEpoch", 1}, {"name", "default"}, {"nodeLocator", "vbucket"},
                        {"nodesExt", ext},
                        {"vBucketServerMap", {{"hashAlgorithm", "CRC"}, {"numReplicas", 2}, {"serverList", servers},
                                              {"vBucketMap", map}}}};
  return cfg.dump();
}

static std::vector<std::string> keys()
{
  std::vector<std::string> k;
  for (int i = 0; i < 1024; ++i) k.push_back("user::" + std::to_string(i * 7919));
  return k;
}

static void route_vbucket(benchmark::State& state)
{
  config_error err;
  auto cfg = parse_config(eight_node_config(), "10.1.0.1", err);
  auto ks = keys();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& key = ks[i++ & 1023];
    auto vb = vbucket_of(key, cfg->vbmap->num_vbuckets());
    benchmark::DoNotOptimize(node_for_vbucket(*cfg->vbmap, vb));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(route_vbucket);

static void route_ketama(benchmark::State& state)
{
  config_error err;
  auto cfg = parse_config(eight_node_config(), "10.1.0.1", err);
  ketama_router k(*cfg);
  auto ks = keys();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(k.node_for(ks[i++ & 1023]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(route_ketama);

static void parse_config_1024vb_8nodes(benchmark::State& state)
{
  auto text = eight_node_config();
  for (auto _ : state) {
    config_error err;
    auto cfg = parse_config(text, "10.1.0.1", err);
    benchmark::DoNotOptimize(cfg->vbmap->rows.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(parse_config_1024vb_8nodes);

// What a NOT_MY_VBUCKET answer costs the bucket: its config body offered to the tracker that
// already holds it. The peer above is the full parse every such answer used to cost.
static void offer_same_config_again(benchmark::State& state)
{
  auto text = eight_node_config();
  config_tracker t;
  if (t.offer(text, "10.1.0.1").status != config_tracker::outcome::applied) state.SkipWithError("not applied");
  for (auto _ : state) benchmark::DoNotOptimize(t.offer(text, "10.1.0.1").status);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(offer_same_config_again);

BENCHMARK_MAIN();
