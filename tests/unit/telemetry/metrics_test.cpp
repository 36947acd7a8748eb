// tests/unit/telemetry/metrics_test.cpp — metrics.h histograms and shard
// metrics, the queue census (metrics_census.h) and the queue's commit
// observer (the source of the group-commit histograms).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "dns/resolver.h"
#include "queue/queue.h"
#include "telemetry/metrics.h"
#include "admin/metrics_census.h"

namespace ringmta::telemetry::metrics {
namespace {

TEST(Histogram, BucketsAreLessOrEqual) {
  static const std::vector<double> bounds = {1, 2, 5};
  Histogram h(bounds);
  for (double v : {0.5, 1.0, 1.5, 2.0, 5.0, 7.0, 100.0}) h.observe(v);
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{2, 2, 1, 2}));  // <=1, <=2, <=5, +Inf
  EXPECT_EQ(h.count(), 7u);
  EXPECT_DOUBLE_EQ(h.sum(), 117.0);
  Histogram other(bounds);
  other.observe(3);
  h.merge(other);
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{2, 2, 2, 2}));
  EXPECT_EQ(h.count(), 8u);
}

TEST(ShardMetrics, EachThreadCountsAlone) {
  local().auth_failures = 0;
  ++local().auth_failures;
  uint64_t seen_by_other = 99;
  std::thread t([&] { seen_by_other = local().auth_failures; ++local().auth_failures; });
  t.join();
  EXPECT_EQ(seen_by_other, 0u);         // a fresh instance on the other thread
  EXPECT_EQ(local().auth_failures, 1u);  // untouched by it
}

TEST(ShardMetrics, MergeAddsEverything) {
  telemetry::ShardMetrics a, b;
  a.connection_opened(0);
  a.connection_opened(0);
  a.connection_closed(0);
  b.connection_opened(2);
  b.tls_handshake("inbound", "TLSv1.3", true);
  b.tls_handshake("inbound", "", false);
  a.tls_handshake("inbound", "TLSv1.3", true);
  a.tls_handshake("outbound", "TLSv1.3", true, true);
  b.tls_handshake("outbound", "TLSv1.3", true, true);
  b.tls_handshake("outbound", "", false, true);  // a failure is never "resumed"
  a.dns_lookup_done(dns::ResultKind::kNxDomain, std::chrono::steady_clock::now());
  b.dns_lookup_done(dns::ResultKind::kTempFail, std::chrono::steady_clock::now());
  b.bounces_generated = 3;
  a.merge(b);
  ASSERT_EQ(a.connections_total.size(), 3u);
  EXPECT_EQ(a.connections_total[0], 2u);
  EXPECT_EQ(a.connections_active[0], 1);
  EXPECT_EQ(a.connections_total[2], 1u);
  EXPECT_EQ(a.connections_active[2], 1);
  EXPECT_EQ((a.tls_handshakes[{"inbound", "TLSv1.3", "success"}]), 2u);
  EXPECT_EQ((a.tls_handshakes[{"inbound", "unknown", "failure"}]), 1u);
  EXPECT_EQ(a.tls_resumed["outbound"], 2u);
  EXPECT_EQ(a.tls_resumed.count("inbound"), 0u);
  EXPECT_EQ(a.dns_results[static_cast<size_t>(telemetry::DnsOutcome::NxDomain)], 1u);
  EXPECT_EQ(a.dns_results[static_cast<size_t>(telemetry::DnsOutcome::TempFail)], 1u);
  EXPECT_EQ(a.dns_lookup.count(), 2u);
  EXPECT_EQ(a.bounces_generated, 3u);
  // A close without an open (listener index never seen) is ignored.
  a.connection_closed(7);
  EXPECT_EQ(a.connections_active.size(), 3u);
}

queue::Envelope message(const std::string& id, int64_t arrival, std::vector<std::string> rcpts, int64_t next,
                        uint32_t flags = 0) {
  queue::Envelope e;
  e.id = id;
  e.sender = "s@sender.test";
  e.arrival_ms = arrival;
  e.flags = flags;
  for (auto& r : rcpts) {
    queue::Recipient rc;
    rc.address = r;
    rc.next_attempt_ms = next;
    e.recipients.push_back(rc);
  }
  return e;
}

void put(queue::Queue& q, queue::Envelope e) {
  queue::Batch b;
  b.put_message(std::move(e), "body\r\n");
  bool ok = false;
  q.commit(std::move(b), [&](queue::Status s) { ok = s.ok(); });
  ASSERT_TRUE(ok);
}

TEST(QueueCensus, EmptyQueue) {
  auto q = queue::make_memory_queue();
  admin::QueueCensus c = admin::take_census(*q, 1'000'000, 10);
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.total, 0u);
  EXPECT_EQ(c.oldest_age_seconds, 0);
  EXPECT_TRUE(c.destinations.empty());
}

TEST(QueueCensus, StatesAgeAndTopDestinations) {
  auto q = queue::make_memory_queue();
  const int64_t now = 10'000'000;
  put(*q, message("00000000000000A1", now - 7200'000, {"a@big.test", "b@big.test"}, now - 1));  // ready
  put(*q, message("00000000000000A2", now - 60'000, {"c@big.test", "d@mid.test"}, now + 60'000));  // scheduled
  put(*q, message("00000000000000A3", now - 30'000, {"e@mid.test"}, now - 5, queue::kFlagHeld));   // held
  put(*q, message("00000000000000A4", now - 10'000, {"f@small.test"}, now + 1));                   // scheduled
  // One with an attempt behind it: the newest error per domain is kept.
  queue::Envelope e = message("00000000000000A5", now - 20'000, {"g@mid.test", "h@mid.test"}, now + 5);
  e.recipients[0].attempts = 1;
  e.recipients[0].last_attempt_ms = now - 100;
  e.recipients[0].last_reply = "451 4.3.0 older";
  e.recipients[1].attempts = 2;
  e.recipients[1].last_attempt_ms = now - 50;
  e.recipients[1].last_reply = "421 4.4.2 newer\r\nline";
  put(*q, e);
  // Delivered recipients count nowhere.
  queue::Envelope done = message("00000000000000A6", now - 1000, {"x@gone.test", "y@small.test"}, now + 1);
  done.recipients[0].state = queue::RecipientState::Delivered;
  put(*q, done);

  admin::QueueCensus c = admin::take_census(*q, now, 2);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.total, 6u);
  EXPECT_EQ(c.held, 1u);
  EXPECT_EQ(c.ready, 1u);
  EXPECT_EQ(c.scheduled, 4u);
  EXPECT_DOUBLE_EQ(c.oldest_age_seconds, 7200.0);
  // mid.test: A2, A3, A5 = 3; big.test: A1, A2 = 2 (a message counts once per
  // domain); small.test: A4, A6 = 2 -> "other" (ties broken by name).
  ASSERT_EQ(c.destinations.size(), 3u);
  EXPECT_EQ(c.destinations[0].domain, "mid.test");
  EXPECT_EQ(c.destinations[0].messages, 3u);
  EXPECT_EQ(c.destinations[0].last_error, "421 4.4.2 newer  line");
  EXPECT_EQ(c.destinations[1].domain, "big.test");
  EXPECT_EQ(c.destinations[1].messages, 2u);
  EXPECT_EQ(c.destinations[1].last_error, "");
  EXPECT_EQ(c.destinations[2].domain, "other");
  EXPECT_EQ(c.destinations[2].messages, 2u);

  admin::QueueCensus none = admin::take_census(*q, now, 0);
  ASSERT_EQ(none.destinations.size(), 1u);
  EXPECT_EQ(none.destinations[0].domain, "other");
  EXPECT_EQ(none.destinations[0].messages, 7u);
}

TEST(QueueCensus, ErrorLabelIsShortValidText) {
  EXPECT_EQ(admin::error_label("550 5.1.1 no\tsuch\x01user"), "550 5.1.1 no such user");
  std::string long_text(200, 'x');
  EXPECT_EQ(admin::error_label(long_text).size(), 120u);
  // 119 ASCII bytes then a 2-byte character: cut before it, not inside it.
  std::string utf8 = std::string(119, 'a') + "\xc3\xa9" + "tail";
  EXPECT_EQ(admin::error_label(utf8), std::string(119, 'a'));
}

TEST(CommitObserver, RocksDbReportsEachGroupWrite) {
  const auto dir = std::filesystem::temp_directory_path() / ("ringmta-metrics-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  telemetry::CommitMetrics commits;
  queue::RocksDbOptions o;
  o.path = dir.string();
  o.on_commit = [&](size_t batches, double seconds) { commits.observe(batches, seconds); };
  std::unique_ptr<queue::Queue> q;
  ASSERT_TRUE(queue::open_rocksdb_queue(o, q).ok());
  for (int i = 0; i < 5; ++i) {
    queue::Batch b;
    b.put_message(message("0000000000000B0" + std::to_string(i), 1, {"a@b.test"}, 1), "x\r\n");
    q->commit(std::move(b), [](queue::Status) {});
  }
  ASSERT_TRUE(q->flush().ok());
  const auto stats = q->stats();
  q.reset();
  Histogram batch(kCommitBatchBuckets), seconds(kFsyncBuckets);
  commits.snapshot(batch, seconds);
  EXPECT_EQ(batch.count(), stats.writes);   // one observation per group write
  EXPECT_DOUBLE_EQ(batch.sum(), 5.0);       // covering all five batches
  EXPECT_EQ(seconds.count(), stats.writes);
  EXPECT_GT(seconds.sum(), 0.0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringmta::telemetry::metrics
