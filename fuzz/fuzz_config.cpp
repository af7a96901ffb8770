// Cluster configs from a hostile server: parse, and when it parses, route every key through it.
#include <couchkv/topology/config_tracker.hpp>
#include <couchkv/topology/routing.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace couchkv::topology;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  config_tracker tracker;
  auto r = tracker.offer(text, "fd00::1");
  if (r.status != config_tracker::outcome::applied) return 0;
  const auto& cfg = *tracker.current();
  for (const char* key : {"a", "user::1", "hello"}) {
    if (cfg.vbmap) {
      auto vb = vbucket_of(key, cfg.vbmap->num_vbuckets());
      for (std::size_t rep = 0; rep <= cfg.num_replicas(); ++rep) {
        int n = node_for_vbucket(*cfg.vbmap, vb, rep, rep % 2 == 1);
        if (n >= static_cast<int>(cfg.nodes.size())) std::abort(); // a node index that does not exist
      }
    } else {
      ketama_router k(cfg);
      if (k.node_for(key) >= cfg.nodes.size()) std::abort();
    }
  }
  (void)diff_configs(&cfg, cfg);
  return 0;
}
