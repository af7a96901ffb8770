#include <couchkv/topology/routing.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace couchkv::topology {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() noexcept
{
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto crc_table = make_crc_table();

// OpenSSL 3 looks the algorithm up by name on every EVP_Digest(..., EVP_md5(), ...): that lookup
// cost more than the digest. The algorithm is fetched once and each thread keeps one context.
std::array<unsigned char, 16> md5(std::string_view s) noexcept
{
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "MD5", nullptr);
  struct context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local context c;
  std::array<unsigned char, 16> d{};
  unsigned int len = 0;
  if (algorithm == nullptr || c.ctx == nullptr || EVP_DigestInit_ex2(c.ctx, algorithm, nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, s.data(), s.size()) != 1 || EVP_DigestFinal_ex(c.ctx, d.data(), &len) != 1) {
    EVP_Digest(s.data(), s.size(), d.data(), &len, EVP_md5(), nullptr); // the slow way still works
  }
  return d;
}

std::uint32_t point_of(const std::array<unsigned char, 16>& d, int n) noexcept
{
  return (std::uint32_t{d[3 + 4 * n]} << 24) | (std::uint32_t{d[2 + 4 * n]} << 16) |
         (std::uint32_t{d[1 + 4 * n]} << 8) | std::uint32_t{d[4 * n]};
}

} // namespace

std::uint32_t crc32(std::string_view bytes) noexcept
{
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) c = crc_table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::uint16_t vbucket_of(std::string_view key, std::size_t num_vbuckets) noexcept
{
  if (num_vbuckets == 0) return 0;
  return static_cast<std::uint16_t>(((crc32(key) >> 16) & 0x7fff) % num_vbuckets);
}

int node_for_vbucket(const vbucket_map& map, std::uint16_t vb, std::size_t replica, bool forward) noexcept
{
  const auto& rows = (forward && !map.forward.empty()) ? map.forward : map.rows;
  if (vb >= rows.size() || replica >= rows[vb].size()) return -1;
  return rows[vb][replica];
}

ketama_router::ketama_router(const bucket_config& cfg)
{
  std::vector<std::pair<std::string, std::uint32_t>> servers;
  for (auto i : cfg.data_nodes()) servers.emplace_back(cfg.nodes[i].kv_authority(), static_cast<std::uint32_t>(i));
  *this = ketama_router(std::move(servers));
}

ketama_router::ketama_router(std::vector<std::pair<std::string, std::uint32_t>> servers)
{
  // libcouchbase and gocbcore sort servers by authority first (strcmp order).
  std::sort(servers.begin(), servers.end());
  points_.reserve(servers.size() * 160);
  for (const auto& [authority, node] : servers) {
    for (int h = 0; h < 40; ++h) {
      auto d = md5(authority + "-" + std::to_string(h));
      for (int n = 0; n < 4; ++n) points_.push_back({point_of(d, n), node});
    }
  }
  std::stable_sort(points_.begin(), points_.end(), [](const point& a, const point& b) { return a.value < b.value; });
  one_node_ = !points_.empty() && std::all_of(points_.begin(), points_.end(),
                                              [&](const point& p) { return p.node == points_.front().node; });
}

std::uint32_t ketama_router::hash(std::string_view key) noexcept { return point_of(md5(key), 0); }

std::uint32_t ketama_router::node_for(std::string_view key) const noexcept
{
  if (points_.empty()) return 0;
  if (one_node_) return points_.front().node; // every key lands there: no need to hash it
  auto h = hash(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), h,
                             [](const point& p, std::uint32_t v) { return p.value < v; });
  if (it == points_.end()) it = points_.begin(); // past the last point: wrap around
  return it->node;
}

} // namespace couchkv::topology
