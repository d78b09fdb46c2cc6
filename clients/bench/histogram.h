// An HDR-style latency histogram: log-bucketed counts with a bounded relative
// error, so percentiles of millions of samples cost a fixed 60 KiB and no
// sorting.
//
//   LatencyHistogram h;
//   h.Record(1234);            // nanoseconds (any unit; the class is unitless)
//   uint64_t p99 = h.Percentile(0.99);
//
// Values below 2^kSubBucketBits are counted exactly; above, each power of two
// is split into 2^kSubBucketBits linear sub-buckets, so a reported percentile
// is within 1 / 2^(kSubBucketBits+1) (0.4%) of a recorded value of that rank.
//
// Thread-safety: Record() is lock-free and may be called from any number of
// threads concurrently (relaxed atomics: counts are only read after the load
// has stopped, or as an approximate live snapshot). The readers are safe to
// call concurrently with Record() but then see a snapshot in motion.
#ifndef SURGE_CLIENTS_BENCH_HISTOGRAM_H_
#define SURGE_CLIENTS_BENCH_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace surge::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  // Exact buckets for [0, kSubBuckets), then kSubBuckets per power of two up
  // to 2^63.
  static constexpr size_t kBucketCount = kSubBuckets + (64 - kSubBucketBits) * kSubBuckets;

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  void Record(uint64_t value);
  // Adds every sample of `other` (which should be quiescent).
  void Merge(const LatencyHistogram& other);
  void Reset();

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // 0 when empty.
  uint64_t min() const;
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  double mean() const;

  // The value at quantile q in [0, 1]: the smallest recorded value v such that
  // at least q of the samples are <= v, within the relative error above.
  // Percentile(1.0) is the exact maximum; 0 when empty.
  uint64_t Percentile(double q) const;

  // Bucket arithmetic, public for tests.
  static size_t BucketIndex(uint64_t value);
  static uint64_t BucketLow(size_t index);   // smallest value in the bucket
  static uint64_t BucketHigh(size_t index);  // largest value in the bucket

 private:
  std::array<std::atomic<uint64_t>, kBucketCount> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
};

}  // namespace surge::bench

#endif  // SURGE_CLIENTS_BENCH_HISTOGRAM_H_
