// bench/histogram.h — a log-linear latency histogram (HdrHistogram's layout,
// reduced to what the bench tools need).
//
// Recording millions of latencies and sorting them would cost memory and time
// in the very loop being measured. Instead each power of two of nanoseconds is
// split into 32 equal sub-buckets: recording is a shift and an increment,
// the error of any reported percentile is below 1/32 (~3 %), and histograms of
// several threads merge by adding counts. Values up to ~2^63 ns fit.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace ringmta::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 5;                 // 32 sub-buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = kSub * (64 - kSubBits + 1);

  void record(int64_t nanos);
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // The value below which `pct` percent of the samples fall (mid-point of its
  // bucket, clamped to [min, max]); 0 when empty.
  int64_t percentile(double pct) const;

  static int index_of(uint64_t v);
  static uint64_t lowest_of(int index);  // smallest value that maps to `index`

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  __int128 sum_ = 0;
};

}  // namespace ringmta::bench
