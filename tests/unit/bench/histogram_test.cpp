// tests/unit/bench/histogram_test.cpp — the log-linear histogram against exact
// percentiles of known distributions (error bound: one sub-bucket, 1/32).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "bench/histogram.h"

using ringmta::bench::Histogram;

TEST(Histogram, IndexIsMonotonicAndRoundTrips) {
  int last = -1;
  for (uint64_t v : {0ull, 1ull, 63ull, 64ull, 65ull, 127ull, 128ull, 1000ull, 123456789ull, 1ull << 40, ~0ull >> 1}) {
    const int i = Histogram::index_of(v);
    EXPECT_GE(i, last);
    EXPECT_LT(i, Histogram::kBuckets);
    EXPECT_LE(Histogram::lowest_of(i), v);
    if (i + 1 < Histogram::kBuckets) {
      EXPECT_GT(Histogram::lowest_of(i + 1), v);
    }
    last = i;
  }
  for (int i = 1; i < Histogram::kBuckets; i++) EXPECT_GT(Histogram::lowest_of(i), Histogram::lowest_of(i - 1)) << i;
}

TEST(Histogram, EmptyAndSingle) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(99), 0);
  h.record(5000);
  EXPECT_EQ(h.percentile(0), 5000);
  EXPECT_EQ(h.percentile(50), 5000);
  EXPECT_EQ(h.percentile(100), 5000);
  EXPECT_EQ(h.min(), 5000);
  EXPECT_EQ(h.max(), 5000);
}

TEST(Histogram, PercentilesWithinOneSubBucket) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(13.0, 1.5);  // ~0.5 ms median, long tail
  std::vector<int64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; i++) {
    const auto v = static_cast<int64_t>(dist(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const size_t rank = static_cast<size_t>(std::llround(p / 100.0 * values.size()));
    const double exact = static_cast<double>(values[std::min(values.size() - 1, rank - 1)]);
    const double got = static_cast<double>(h.percentile(p));
    EXPECT_NEAR(got, exact, exact / 32.0 + 1) << "p" << p;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.count(), values.size());
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (int64_t v = 0; v < 100000; v += 7) {
    (v % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double p : {1.0, 50.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(p), all.percentile(p));
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
}
