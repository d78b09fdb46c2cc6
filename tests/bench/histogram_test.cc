#include "clients/bench/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace surge::bench {
namespace {

// The exact value at quantile q of a sorted sample, with the same rank rule
// as LatencyHistogram::Percentile.
uint64_t ExactPercentile(const std::vector<uint64_t>& sorted, double q) {
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(sorted.size()))));
  return sorted[rank - 1];
}

double RelativeError(uint64_t got, uint64_t want) {
  return std::abs(static_cast<double>(got) - static_cast<double>(want)) /
         static_cast<double>(want);
}

TEST(LatencyHistogramTest, BucketsCoverEveryValueWithoutGaps) {
  for (size_t i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    ASSERT_EQ(LatencyHistogram::BucketHigh(i) + 1, LatencyHistogram::BucketLow(i + 1))
        << "bucket " << i;
  }
  for (uint64_t v : std::initializer_list<uint64_t>{0ull, 1ull, 127ull, 128ull, 129ull, 1000ull, 123456789ull,
                     (1ull << 40) + 12345, UINT64_MAX}) {
    const size_t i = LatencyHistogram::BucketIndex(v);
    ASSERT_LT(i, LatencyHistogram::kBucketCount);
    EXPECT_LE(LatencyHistogram::BucketLow(i), v);
    EXPECT_GE(LatencyHistogram::BucketHigh(i), v);
  }
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.Percentile(0.5), 50u);
  EXPECT_EQ(h.Percentile(0.99), 99u);
  EXPECT_EQ(h.Percentile(1.0), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogramTest, PercentilesWithinOnePercentOfExactOnLogNormalLatencies) {
  std::mt19937_64 rng(42);
  // Latency-shaped: a body around 300 us and a long tail up to seconds (ns).
  std::lognormal_distribution<double> dist(std::log(300'000.0), 1.2);
  std::vector<uint64_t> samples;
  LatencyHistogram h;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng)) + 1;
    samples.push_back(v);
    h.Record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999}) {
    const uint64_t want = ExactPercentile(samples, q);
    EXPECT_LE(RelativeError(h.Percentile(q), want), 0.01)
        << "q=" << q << " got " << h.Percentile(q) << " want " << want;
  }
  EXPECT_EQ(h.Percentile(1.0), samples.back());
  EXPECT_EQ(h.max(), samples.back());
  EXPECT_EQ(h.min(), samples.front());
}

TEST(LatencyHistogramTest, EmptyHistogramAnswersZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_DOUBLE_EQ(h.mean(), 0.0);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  for (uint64_t v = 1; v < 50'000; v += 7) {
    (v % 2 ? a : b).Record(v * 13);
    all.Record(v * 13);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double q : {0.5, 0.9, 0.99, 1.0}) EXPECT_EQ(a.Percentile(q), all.Percentile(q));
  EXPECT_EQ(a.min(), all.min());
  a.Reset();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.Percentile(0.5), 0u);
}

TEST(LatencyHistogramTest, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (uint64_t i = 0; i < 100'000; ++i) h.Record(1000 + t * 100'000 + i);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.count(), 400'000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 1000u + 3 * 100'000 + 99'999);
}

}  // namespace
}  // namespace surge::bench
