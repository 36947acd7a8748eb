// tests/unit/relay/destination_rate_test.cpp — [delivery.rate]'s token
// buckets and pattern matching (relay/destination_rate.h), with the clock
// injected as plain milliseconds.
#include "relay/destination_rate.h"

#include <gtest/gtest.h>

namespace ringmta::relay {
namespace {

TEST(RatePattern, Matching) {
  EXPECT_TRUE(rate_pattern_matches("gmail.com", "gmail.com"));
  EXPECT_TRUE(rate_pattern_matches("gmail.com", "GMail.COM."));
  EXPECT_FALSE(rate_pattern_matches("gmail.com", "xgmail.com"));
  EXPECT_FALSE(rate_pattern_matches("gmail.com", "mx.gmail.com"));
  EXPECT_TRUE(rate_pattern_matches("*.google.com", "gmail-smtp-in.l.google.com"));
  EXPECT_TRUE(rate_pattern_matches("*.google.com", "a.google.com"));
  EXPECT_FALSE(rate_pattern_matches("*.google.com", "google.com"));
  EXPECT_FALSE(rate_pattern_matches("*.google.com", "notgoogle.com"));
  EXPECT_FALSE(rate_pattern_matches("*.google.com", ".google.com"));
  EXPECT_FALSE(rate_pattern_matches("*.google.com", ""));
}

TEST(TokenBucket, BurstThenSteady) {
  TokenBucket b(2, 60'000);  // 2 per minute
  const int64_t t0 = 1'000'000;
  EXPECT_EQ(b.wait_ms(t0), 0);
  b.take(t0);
  EXPECT_EQ(b.wait_ms(t0), 0);
  b.take(t0);
  EXPECT_EQ(b.wait_ms(t0), 30'000);       // one token per 30 s
  EXPECT_EQ(b.wait_ms(t0 + 10'000), 20'000);
  EXPECT_EQ(b.wait_ms(t0 + 30'000), 0);
  b.take(t0 + 30'000);
  EXPECT_EQ(b.wait_ms(t0 + 30'000), 30'000);
  // A long pause refills to the limit, not beyond.
  EXPECT_DOUBLE_EQ(b.available(t0 + 3'600'000), 2.0);
  // A clock going back refills nothing and never goes negative.
  b.take(t0 + 3'600'000);
  b.take(t0 + 3'600'000);
  EXPECT_GT(b.wait_ms(t0), 0);
  EXPECT_DOUBLE_EQ(b.available(t0), 0.0);
}

TEST(TokenBucket, Unlimited) {
  TokenBucket b(0, 60'000);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(b.wait_ms(i), 0);
    b.take(i);
  }
}

TEST(DestinationRates, MessagesMinuteAndHour) {
  DestinationRates r({RateRule{"example.com", 2, 3, 0}, RateRule{"*.example.net", 0, 0, 1}});
  EXPECT_EQ(r.rule_for({"example.com"}), 0);
  EXPECT_EQ(r.rule_for({"other.test", "mx.example.net"}), 1);
  EXPECT_EQ(r.rule_for({"other.test", ""}), -1);
  int64_t t = 5'000;
  EXPECT_EQ(r.take_message(0, t), 0);
  EXPECT_EQ(r.take_message(0, t), 0);
  const int64_t w = r.take_message(0, t);  // per-minute bucket empty
  EXPECT_EQ(w, 30'000);
  t += w;
  EXPECT_EQ(r.take_message(0, t), 0);      // third message of the hour
  t += 60'000;
  const int64_t hour_wait = r.take_message(0, t);  // the hour bucket (3/h) is empty now
  EXPECT_GT(hour_wait, 60'000);
  EXPECT_LE(hour_wait, 1'200'000);
  auto live = r.live(t);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].messages, 3u);
  EXPECT_EQ(live[0].limited, 2u);
  EXPECT_EQ(live[0].wait_ms, hour_wait);
  EXPECT_EQ(live[1].messages, 0u);
  // No rule: never limited.
  EXPECT_EQ(r.take_message(-1, t), 0);
  EXPECT_EQ(r.take_message(7, t), 0);
}

TEST(DestinationRates, ConnectionsAndDivisor) {
  DestinationRates r({RateRule{"relay.example", 10, 0, 4}});
  // Served by 4 shards: each takes a quarter (at least 1).
  EXPECT_EQ(r.take_connection(0, 0, 4), 0);
  EXPECT_EQ(r.take_connection(0, 0, 4), 60'000);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(r.take_message(0, 0, 4), 0);
  EXPECT_GT(r.take_message(0, 0, 4), 0);  // 10/4 = 2 per minute here
  auto live = r.live(0);
  EXPECT_EQ(live[0].connections, 1u);
  EXPECT_EQ(live[0].limited, 2u);
}

}  // namespace
}  // namespace ringmta::relay
