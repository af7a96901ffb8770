// The pillowfight latency histogram: bucket boundaries, precision, percentiles, merge.
#include "histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using couchkv::cli::histogram;

TEST(histogram, small_values_are_exact)
{
  for (std::uint64_t v = 0; v < histogram::exact_limit; ++v) {
    EXPECT_EQ(histogram::bucket_of(v), v);
    EXPECT_EQ(histogram::lowest_of(v), v);
    EXPECT_EQ(histogram::highest_of(v), v);
  }
}

TEST(histogram, buckets_tile_the_whole_range_without_gaps)
{
  EXPECT_EQ(histogram::bucket_of(0), 0u);
  EXPECT_EQ(histogram::bucket_of(~std::uint64_t{0}), histogram::bucket_count - 1);
  EXPECT_EQ(histogram::highest_of(histogram::bucket_count - 1), ~std::uint64_t{0});
  for (std::size_t b = 1; b < histogram::bucket_count; ++b) {
    ASSERT_EQ(histogram::lowest_of(b), histogram::highest_of(b - 1) + 1) << "bucket " << b;
    ASSERT_EQ(histogram::bucket_of(histogram::lowest_of(b)), b);
    ASSERT_EQ(histogram::bucket_of(histogram::highest_of(b)), b);
  }
}

TEST(histogram, every_value_is_kept_within_one_part_in_128)
{
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    auto v = rng() >> (rng() % 64);
    auto b = histogram::bucket_of(v);
    ASSERT_LE(histogram::lowest_of(b), v);
    ASSERT_GE(histogram::highest_of(b), v);
    auto width = histogram::highest_of(b) - histogram::lowest_of(b);
    ASSERT_LE(static_cast<double>(width), static_cast<double>(v) / 128.0) << v;
  }
}

TEST(histogram, percentiles_of_a_uniform_run)
{
  histogram h;
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_TRUE(h.empty());
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(90), 90u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(99.9), 100u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(0), 1u);
}

TEST(histogram, percentiles_of_nanosecond_latencies_are_within_precision)
{
  // 1 µs .. 10 ms, uniformly: p50 ~ 5 ms, p99 ~ 9.9 ms.
  histogram h;
  std::vector<std::uint64_t> values;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::uint64_t> d(1000, 10'000'000);
  for (int i = 0; i < 200000; ++i) values.push_back(d(rng));
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto exact = values[static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size()) / 100.0)) - 1];
    auto got = h.percentile(p);
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(got - exact), static_cast<double>(exact) / 128.0) << "p" << p;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
}

TEST(histogram, percentile_is_clamped_to_the_recorded_extremes)
{
  histogram h;
  h.record(1'000'001); // its bucket reaches above it
  EXPECT_EQ(h.percentile(50), 1'000'001u);
  EXPECT_EQ(h.percentile(99.99), 1'000'001u);
}

TEST(histogram, merge_equals_recording_everything_in_one)
{
  histogram a, b, all;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 50000; ++i) {
    auto v = rng() % 5'000'000;
    (i % 3 ? a : b).record(v);
    all.record(v);
  }
  histogram empty;
  a.merge(empty);
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double p : {1.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99}) EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;

  histogram c;
  c.merge(all); // into an empty one: min must come from the other side
  EXPECT_EQ(c.min(), all.min());
  EXPECT_EQ(c.percentile(50), all.percentile(50));
}

TEST(histogram, record_with_a_count_and_reset)
{
  histogram h;
  h.record(10, 99);
  h.record(1'000'000, 1);
  h.record(5, 0); // nothing
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.min(), 10u);
  EXPECT_EQ(h.percentile(99), 10u);
  EXPECT_GE(h.percentile(99.5), 1'000'000u);
  h.reset();
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
}
