// tests/unit/limits/limits_test.cpp — client_key() and limits::ConnectionLimiter by
// /64, limits::InflightBudget (charge, wait, the single overdraft, release) and
// limits::HandshakeBudget (total and per-client token buckets).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "limits/client_key.h"
#include "limits/conn_limits.h"
#include "limits/handshake_budget.h"
#include "limits/inflight_budget.h"

namespace ringmta::limits {
namespace {

TEST(ClientKey, Ipv4AsIsIpv6ByPrefix) {
  EXPECT_EQ(client_key("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  EXPECT_EQ(client_key("::1"), "::/64");
  EXPECT_EQ(client_key("::ffff:192.0.2.9"), "192.0.2.9");  // IPv4-mapped: the IPv4 client
  EXPECT_EQ(client_key("fe80::1"), "fe80::/64");
  EXPECT_EQ(client_key("not an address"), "not an address");
  EXPECT_EQ(client_key(""), "");
}

TEST(ConnectionLimiter, Ipv6CountedPerSlash64) {
  limits::ConnectionLimiter l(0, 2);
  EXPECT_EQ(l.acquire("2001:db8:0:1::1"), limits::ConnectionLimiter::Verdict::Ok);
  EXPECT_EQ(l.acquire("2001:db8:0:1::2"), limits::ConnectionLimiter::Verdict::Ok);
  // A third address of the same /64 is the same client.
  EXPECT_EQ(l.acquire("2001:db8:0:1:ffff::3"), limits::ConnectionLimiter::Verdict::TooManyFromAddress);
  // Another /64 is another client.
  EXPECT_EQ(l.acquire("2001:db8:0:2::1"), limits::ConnectionLimiter::Verdict::Ok);
  l.release("2001:db8:0:1::2");  // released under any address of the prefix
  EXPECT_EQ(l.acquire("2001:db8:0:1::9"), limits::ConnectionLimiter::Verdict::Ok);
  // IPv4 keeps per-address counting.
  EXPECT_EQ(l.acquire("192.0.2.1"), limits::ConnectionLimiter::Verdict::Ok);
  EXPECT_EQ(l.acquire("192.0.2.1"), limits::ConnectionLimiter::Verdict::Ok);
  EXPECT_EQ(l.acquire("192.0.2.1"), limits::ConnectionLimiter::Verdict::TooManyFromAddress);
  EXPECT_EQ(l.acquire("192.0.2.2"), limits::ConnectionLimiter::Verdict::Ok);
}

TEST(InflightBudget, WaitsPastTheLimitWithOneOverdraft) {
  limits::InflightBudget b(1000, 0);
  uint64_t a = 0, c = 0, d = 0;
  EXPECT_TRUE(b.update(1, a, 600));
  EXPECT_TRUE(b.update(2, c, 300));
  EXPECT_EQ(b.used(), 900u);
  // Holder 2 grows past the budget: it is the first to wait, so it may overdraw.
  EXPECT_TRUE(b.update(2, c, 500));
  EXPECT_EQ(b.used(), 1100u);
  // Holder 3 would pass it too: it waits, and keeps waiting while nothing changes.
  EXPECT_FALSE(b.update(3, d, 10));
  EXPECT_FALSE(b.update(3, d, 10));
  // Holder 1 stays where it is (no growth) but is over too: the overdraft is taken.
  EXPECT_FALSE(b.update(1, a, 600));
  EXPECT_EQ(b.used(), 1110u);
  // Holder 2's message is written: its bytes and the overdraft are released.
  EXPECT_TRUE(b.update(2, c, 0));
  EXPECT_EQ(c, 0u);
  EXPECT_EQ(b.used(), 610u);
  EXPECT_TRUE(b.update(3, d, 10));
  EXPECT_TRUE(b.update(1, a, 600));
  EXPECT_TRUE(b.update(1, a, 0));
  EXPECT_TRUE(b.update(3, d, 0));
  EXPECT_EQ(b.used(), 0u);
}

TEST(InflightBudget, OverdraftPassesOnWhenItsHolderFinishes) {
  limits::InflightBudget b(100, 0);
  uint64_t x = 0, y = 0;
  EXPECT_TRUE(b.update(1, x, 150));   // overdraft to 1
  EXPECT_FALSE(b.update(2, y, 50));   // waits
  EXPECT_TRUE(b.update(1, x, 0));     // 1 done: 50 in use, under the budget
  EXPECT_TRUE(b.update(2, y, 120));   // over again: 2 takes the free overdraft
  EXPECT_TRUE(b.update(2, y, 0));
  EXPECT_EQ(b.used(), 0u);
}

TEST(InflightBudget, SmallBodiesNeverWait) {
  limits::InflightBudget b(100 << 10);  // 64 KiB bodies pass whatever the total
  uint64_t big = 0, small = 0, large = 0;
  EXPECT_TRUE(b.update(1, big, 200 << 10));      // takes the overdraft
  EXPECT_TRUE(b.update(2, small, 64 << 10));     // small: passes
  EXPECT_FALSE(b.update(3, large, 65 << 10));    // large: waits
  EXPECT_TRUE(b.update(1, big, 0));
  EXPECT_TRUE(b.update(3, large, 65 << 10));
  b.update(2, small, 0);
  b.update(3, large, 0);
  EXPECT_EQ(b.used(), 0u);
}

TEST(InflightBudget, ConcurrentChargesBalance) {
  limits::InflightBudget b(1ull << 40);
  std::vector<std::thread> threads;
  for (int t = 1; t <= 4; ++t)
    threads.emplace_back([&b, t] {
      uint64_t charged = 0;
      for (int i = 1; i <= 10000; ++i) b.update(static_cast<uint64_t>(t), charged, static_cast<uint64_t>(i % 97) * 1000);
      b.update(static_cast<uint64_t>(t), charged, 0);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(b.used(), 0u);
}

}  // namespace
}  // namespace ringmta::limits

namespace ringmta::limits {
namespace {

using HClock = limits::HandshakeBudget::Clock;

TEST(HandshakeBudget, PerClientBucketRefillsPerMinute) {
  limits::HandshakeBudget b(0, 3);
  const auto t0 = HClock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.admit("192.0.2.1", false, t0), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(b.admit("192.0.2.1", false, t0), limits::HandshakeBudget::Verdict::TooManyFromClient);
  // Another client, the same client trusted: unaffected.
  EXPECT_EQ(b.admit("192.0.2.2", false, t0), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(b.admit("192.0.2.1", true, t0), limits::HandshakeBudget::Verdict::Ok);
  // Three per minute: one token back after 20 s.
  EXPECT_EQ(b.admit("192.0.2.1", false, t0 + std::chrono::seconds(19)), limits::HandshakeBudget::Verdict::TooManyFromClient);
  EXPECT_EQ(b.admit("192.0.2.1", false, t0 + std::chrono::seconds(21)), limits::HandshakeBudget::Verdict::Ok);
  // IPv6: the whole /64 is one client.
  EXPECT_EQ(b.admit("2001:db8::1", false, t0), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(b.admit("2001:db8::2", false, t0), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(b.admit("2001:db8::3", false, t0), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(b.admit("2001:db8::ffff:4", false, t0), limits::HandshakeBudget::Verdict::TooManyFromClient);
  EXPECT_EQ(b.admit("2001:db8:0:1::1", false, t0), limits::HandshakeBudget::Verdict::Ok);
}

TEST(HandshakeBudget, TotalBucketAndTokenReturnedOnRefusal) {
  limits::HandshakeBudget b(2, 2);
  const auto t0 = HClock::now() + std::chrono::seconds(5);  // the total bucket starts full
  EXPECT_EQ(b.admit("192.0.2.1", true, t0), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(b.admit("192.0.2.1", true, t0), limits::HandshakeBudget::Verdict::Ok);
  // The total is spent: an untrusted client is refused and keeps its own tokens.
  EXPECT_EQ(b.admit("192.0.2.9", false, t0), limits::HandshakeBudget::Verdict::TooManyInTotal);
  EXPECT_EQ(b.admit("192.0.2.9", false, t0), limits::HandshakeBudget::Verdict::TooManyInTotal);
  const auto t1 = t0 + std::chrono::seconds(1);  // two more in total
  EXPECT_EQ(b.admit("192.0.2.9", false, t1), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(b.admit("192.0.2.9", false, t1), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(b.admit("192.0.2.9", false, t1 + std::chrono::seconds(1)), limits::HandshakeBudget::Verdict::TooManyFromClient);
  limits::HandshakeBudget unlimited(0, 0);
  for (int i = 0; i < 10000; ++i) EXPECT_EQ(unlimited.admit("192.0.2.1", false), limits::HandshakeBudget::Verdict::Ok);
  EXPECT_EQ(unlimited.tracked_clients(), 0u);
}

TEST(HandshakeBudget, RefilledClientsAreForgotten) {
  limits::HandshakeBudget b(0, 60);
  const auto t0 = HClock::now();
  for (int i = 0; i < 5000; ++i) b.admit("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), false, t0);
  EXPECT_EQ(b.tracked_clients(), 5000u);
  // A minute later every bucket is full again; the next admission sweeps them.
  b.admit("192.0.2.1", false, t0 + std::chrono::seconds(61));
  EXPECT_EQ(b.tracked_clients(), 1u);
}

}  // namespace
}  // namespace ringmta::limits
