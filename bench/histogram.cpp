// bench/histogram.cpp — see histogram.h.
#include "bench/histogram.h"

#include <algorithm>

namespace ringmta::bench {

// Values below 2*kSub map to themselves; above, the top kSubBits+1 bits pick
// the sub-bucket and the shift (the power of two) picks the row.
int Histogram::index_of(uint64_t v) {
  if (v < static_cast<uint64_t>(2 * kSub)) return static_cast<int>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - kSubBits;
  return shift * kSub + static_cast<int>(v >> shift);
}

uint64_t Histogram::lowest_of(int index) {
  if (index < 2 * kSub) return static_cast<uint64_t>(index);
  const int shift = index / kSub - 1;
  const uint64_t top = static_cast<uint64_t>(index - shift * kSub);
  return top << shift;
}

void Histogram::record(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  counts_[static_cast<size_t>(index_of(static_cast<uint64_t>(nanos)))]++;
  count_++;
  min_ = std::min(min_, nanos);
  max_ = std::max(max_, nanos);
  sum_ += nanos;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); i++) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

int64_t Histogram::percentile(double pct) const {
  if (count_ == 0) return 0;
  // The rank of the sample asked for, 1-based: p99.9 of 1000 samples is the 999th.
  uint64_t rank = static_cast<uint64_t>(pct / 100.0 * static_cast<double>(count_) + 0.5);
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; i++) {
    seen += counts_[static_cast<size_t>(i)];
    if (seen >= rank) {
      const uint64_t lo = lowest_of(i);
      const uint64_t hi = i + 1 < kBuckets ? lowest_of(i + 1) : lo;
      const int64_t mid = static_cast<int64_t>(lo + (hi - lo) / 2);
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace ringmta::bench
