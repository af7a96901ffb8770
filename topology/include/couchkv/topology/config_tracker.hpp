// The one door every new config goes through (bootstrap, polling, server push, NOT_MY_VBUCKET
// bodies, HTTP streaming): only a strictly newer (epoch, rev) replaces the current config, and the
// caller learns what changed.
#pragma once
#include <couchkv/topology/config.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace couchkv::topology {

struct config_diff {
  bool first{false};                    // there was no config before
  std::vector<std::string> added;       // node identities (plain KV authority, else mgmt authority)
  std::vector<std::string> removed;
  std::size_t vbuckets_moved{0};        // vBuckets whose master node changed
  bool replicas_changed{false};
  [[nodiscard]] bool topology_changed() const noexcept { return first || !added.empty() || !removed.empty() || vbuckets_moved; }
};

[[nodiscard]] config_diff diff_configs(const bucket_config* before, const bucket_config& after);
[[nodiscard]] std::string node_identity(const node& n);

class config_tracker {
public:
  enum class outcome { applied, not_newer, invalid };
  struct result {
    outcome status{outcome::invalid};
    config_error error{};
    config_diff diff{};
  };

  // Parses and offers a config; an invalid one leaves the current config in force. The same
  // text from the same origin as the last one offered is not parsed again: its answer cannot
  // change (parsing depends only on the two, and the current config only moves forward), and a
  // server answering a burst of NOT_MY_VBUCKET sends the same body with every one of them.
  result offer(std::string_view json, std::string_view origin_host);
  result offer(bucket_config cfg);

  // Shared so readers (routing on other threads) can keep a snapshot while a newer one lands.
  // A reference: copy it to keep the config across an offer().
  [[nodiscard]] const std::shared_ptr<const bucket_config>& current() const noexcept { return current_; }
  // How many texts offer() has parsed (the repeats it answered without parsing are not counted).
  [[nodiscard]] std::uint64_t texts_parsed() const noexcept { return texts_parsed_; }

private:
  std::shared_ptr<const bucket_config> current_;
  std::string last_text_;
  std::string last_origin_;
  result last_answer_; // what offering last_text_ from last_origin_ again gives (never applied)
  std::uint64_t texts_parsed_{0};
};

} // namespace couchkv::topology
