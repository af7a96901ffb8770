// A latency histogram in the manner of HdrHistogram: log-linear buckets, so every recorded value
// is kept to within 1/128 of itself (values below 256 exactly) over the whole uint64 range in a
// fixed 7,424 counters, with no allocation after construction. Recording is one bit_width and an
// increment; percentiles walk the counters; histograms of several threads merge by addition.
//
// Not thread-safe: each thread records into its own and the owner merges them.
#pragma once
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace couchkv::cli {

class histogram {
public:
  // 2^precision_bits exact values first, then every power-of-two range split into 2^(bits-1).
  static constexpr unsigned precision_bits = 8;
  static constexpr std::uint64_t exact_limit = std::uint64_t{1} << precision_bits;
  static constexpr std::uint64_t sub_buckets = exact_limit / 2;
  static constexpr std::size_t bucket_count = exact_limit + (64 - precision_bits) * sub_buckets;

  histogram() : counts_(bucket_count, 0) {}

  // The bucket a value falls in, and the smallest and largest value that bucket holds.
  static constexpr std::size_t bucket_of(std::uint64_t v) noexcept
  {
    if (v < exact_limit) return static_cast<std::size_t>(v);
    const auto shift = static_cast<unsigned>(std::bit_width(v)) - precision_bits; // >= 1
    const auto mantissa = v >> shift;                                              // [128, 256)
    return static_cast<std::size_t>(exact_limit + (shift - 1) * sub_buckets + (mantissa - sub_buckets));
  }
  static constexpr std::uint64_t lowest_of(std::size_t bucket) noexcept
  {
    if (bucket < exact_limit) return bucket;
    const auto rest = bucket - exact_limit;
    const auto shift = static_cast<unsigned>(rest / sub_buckets) + 1;
    return (sub_buckets + rest % sub_buckets) << shift;
  }
  static constexpr std::uint64_t highest_of(std::size_t bucket) noexcept
  {
    if (bucket < exact_limit) return bucket;
    const auto shift = static_cast<unsigned>((bucket - exact_limit) / sub_buckets) + 1;
    return lowest_of(bucket) + ((std::uint64_t{1} << shift) - 1);
  }

  void record(std::uint64_t value, std::uint64_t count = 1) noexcept
  {
    if (count == 0) return;
    counts_[bucket_of(value)] += count;
    total_ += count;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    sum_ += static_cast<long double>(value) * static_cast<long double>(count);
  }

  void merge(const histogram& other) noexcept
  {
    if (other.total_ == 0) return;
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
  }

  void reset() noexcept
  {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = 0;
    min_ = std::numeric_limits<std::uint64_t>::max();
    max_ = 0;
    sum_ = 0;
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }
  [[nodiscard]] bool empty() const noexcept { return total_ == 0; }
  [[nodiscard]] std::uint64_t min() const noexcept { return total_ ? min_ : 0; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept
  {
    return total_ ? static_cast<double>(sum_ / static_cast<long double>(total_)) : 0.0;
  }

  // The value at or below which `pct` percent of the recorded values lie (the highest value of
  // that bucket, clamped to what was recorded, as HdrHistogram reports it). 0 when empty.
  [[nodiscard]] std::uint64_t percentile(double pct) const noexcept
  {
    if (total_ == 0) return 0;
    if (!(pct > 0.0)) return min_; // also NaN
    if (pct >= 100.0) return max_;
    // Rank of the wanted value, 1-based: the smallest rank r with r >= pct% of total.
    auto wanted = static_cast<std::uint64_t>(std::ceil(pct * static_cast<double>(total_) / 100.0 - 1e-9));
    wanted = std::clamp<std::uint64_t>(wanted, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= wanted) return std::clamp(highest_of(i), min_, max_);
    }
    return max_;
  }

private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_{0};
  std::uint64_t min_{std::numeric_limits<std::uint64_t>::max()};
  std::uint64_t max_{0};
  long double sum_{0};
};

} // namespace couchkv::cli
