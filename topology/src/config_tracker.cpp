#include <couchkv/topology/config_tracker.hpp>
#include <couchkv/topology/routing.hpp>

#include <algorithm>

namespace couchkv::topology {

std::string node_identity(const node& n)
{
  return n.plain.kv ? n.authority(n.plain.kv) : n.authority(n.tls.kv ? n.tls.kv : n.plain.mgmt);
}

config_diff diff_configs(const bucket_config* before, const bucket_config& after)
{
  config_diff d;
  if (!before) {
    d.first = true;
    for (const auto& n : after.nodes) d.added.push_back(node_identity(n));
    return d;
  }
  std::vector<std::string> old_ids, new_ids;
  for (const auto& n : before->nodes) old_ids.push_back(node_identity(n));
  for (const auto& n : after.nodes) new_ids.push_back(node_identity(n));
  for (const auto& id : new_ids) {
    if (std::find(old_ids.begin(), old_ids.end(), id) == old_ids.end()) d.added.push_back(id);
  }
  for (const auto& id : old_ids) {
    if (std::find(new_ids.begin(), new_ids.end(), id) == new_ids.end()) d.removed.push_back(id);
  }
  if (before->vbmap && after.vbmap) {
    const auto& a = before->vbmap->rows;
    const auto& b = after.vbmap->rows;
    auto ident = [](const bucket_config& c, int idx) {
      return idx < 0 ? std::string{} : node_identity(c.nodes[static_cast<std::size_t>(idx)]);
    };
    if (a.size() != b.size()) {
      d.vbuckets_moved = b.size();
      d.replicas_changed = true;
    } else {
      for (std::size_t vb = 0; vb < a.size(); ++vb) {
        if (ident(*before, a[vb][0]) != ident(after, b[vb][0])) ++d.vbuckets_moved;
        if (a[vb].size() != b[vb].size()) {
          d.replicas_changed = true;
          continue;
        }
        for (std::size_t r = 1; r < a[vb].size(); ++r) {
          if (ident(*before, a[vb][r]) != ident(after, b[vb][r])) d.replicas_changed = true;
        }
      }
    }
  }
  return d;
}

namespace {
std::string revision_text(const bucket_config& c)
{
  // Appended piece by piece: "(" + std::to_string(...) trips GCC 12's false -Wrestrict at -O3.
  std::string out = "(";
  out += std::to_string(c.rev_epoch);
  out += ", ";
  out += std::to_string(c.rev);
  out += ')';
  return out;
}
} // namespace

config_tracker::result config_tracker::offer(std::string_view json, std::string_view origin_host)
{
  if (texts_parsed_ > 0 && json == last_text_ && origin_host == last_origin_) return last_answer_;
  ++texts_parsed_;
  last_text_.assign(json);
  last_origin_.assign(origin_host);
  result r;
  auto cfg = parse_config(json, origin_host, r.error);
  if (!cfg) {
    r.status = outcome::invalid;
    last_answer_ = r;
    return r;
  }
  auto offered = revision_text(*cfg);
  r = offer(std::move(*cfg));
  if (r.status == outcome::applied) {
    // The same text again is the current config again: not newer.
    last_answer_ = {outcome::not_newer, {config_errc::not_newer, "offered " + offered + " vs current " + offered}, {}};
  } else {
    last_answer_ = r;
  }
  return r;
}

config_tracker::result config_tracker::offer(bucket_config cfg)
{
  result r;
  if (current_ && !is_newer(cfg, *current_)) {
    r.status = outcome::not_newer;
    r.error = {config_errc::not_newer, "offered " + revision_text(cfg) + " vs current " + revision_text(*current_)};
    return r;
  }
  r.diff = diff_configs(current_.get(), cfg);
  current_ = std::make_shared<const bucket_config>(std::move(cfg));
  r.status = outcome::applied;
  return r;
}

} // namespace couchkv::topology
