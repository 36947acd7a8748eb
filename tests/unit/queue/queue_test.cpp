// tests/unit/queue/queue_test.cpp — Queue semantics, run against the memory
// queue and the RocksDB queue in both durability modes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "queue/queue.h"
#include "queue_expect.h"
#include "queue_test_util.h"

namespace ringmta::queue {
namespace {

using testing::commit_sync;
using testing::sample_envelope;

enum class Impl { Memory, RocksFsync, RocksWal };

std::string impl_name(const ::testing::TestParamInfo<Impl>& info) {
  switch (info.param) {
    case Impl::Memory: return "Memory";
    case Impl::RocksFsync: return "RocksFsync";
    case Impl::RocksWal: return "RocksWal";
  }
  return "?";
}

class QueueTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (GetParam() == Impl::Memory) {
      q_ = make_memory_queue();
      return;
    }
    RocksDbOptions o;
    o.path = dir_.sub("db");
    o.durability = GetParam() == Impl::RocksFsync ? Durability::Fsync : Durability::Wal;
    Status s = open_rocksdb_queue(o, q_);
    ASSERT_TRUE(s.ok()) << s.message;
  }

  Status put(const Envelope& e, std::string body = "body") {
    Batch b;
    b.put_message(e, std::move(body));
    return commit_sync(*q_, std::move(b));
  }
  std::vector<std::string> due(int64_t now, size_t max = 100) {
    std::vector<std::string> ids;
    EXPECT_TRUE(q_->due(now, max, ids).ok());
    return ids;
  }
  bool exists(const std::string& id) {
    Envelope e;
    return q_->read_envelope(id, e).ok();
  }

  testing::TempDir dir_;
  std::unique_ptr<Queue> q_;
};

TEST_P(QueueTest, RoundTripsEveryEnvelopeFieldAndBody) {
  Envelope e = sample_envelope("0000000000000001", 3);
  e.recipients[2].state = RecipientState::Failed;
  e.recipients[2].next_attempt_ms = INT64_MAX;
  std::string body("line1\r\n\0binary\xff\r\n.\r\n", 20);
  ASSERT_TRUE(put(e, body).ok());

  Envelope r;
  ASSERT_TRUE(q_->read_envelope(e.id, r).ok());
  testing::expect_same_envelope(e, r);
  std::string got;
  ASSERT_TRUE(q_->read_body(e.id, got).ok());
  EXPECT_EQ(got, body);

  // Large (blob-file sized) and empty bodies too.
  std::string big = testing::body_for("big", 300000);
  ASSERT_TRUE(put(sample_envelope("BIG"), big).ok());
  ASSERT_TRUE(put(sample_envelope("EMPTY", 0), "").ok());
  ASSERT_TRUE(q_->read_body("BIG", got).ok());
  EXPECT_EQ(got, big);
  ASSERT_TRUE(q_->read_body("EMPTY", got).ok());
  EXPECT_EQ(got, "");
  ASSERT_TRUE(q_->read_envelope("EMPTY", r).ok());
  EXPECT_TRUE(r.recipients.empty());
}

TEST_P(QueueTest, MissingIdsAreNotFound) {
  ASSERT_TRUE(put(sample_envelope("ABC")).ok());
  Envelope e;
  std::string body;
  EXPECT_EQ(q_->read_envelope("ABCD", e).code, Status::Code::NotFound);
  EXPECT_EQ(q_->read_envelope("AB", e).code, Status::Code::NotFound);
  EXPECT_EQ(q_->read_body("NOPE", body).code, Status::Code::NotFound);
}

TEST_P(QueueTest, ScanVisitsInIdOrderAndStopsEarly) {
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back("ID" + std::to_string(1000 + i * 7 % 40));
  std::vector<std::string> shuffled = ids;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  // Prefix-related ids must not pick up each other's recipients.
  shuffled.push_back("ID1");
  ids.push_back("ID1");
  for (size_t i = 0; i < shuffled.size(); i += 5) {
    Batch b;
    for (size_t j = i; j < std::min(i + 5, shuffled.size()); ++j)
      b.put_message(sample_envelope(shuffled[j], 1 + j % 3), "b" + shuffled[j]);
    ASSERT_TRUE(commit_sync(*q_, std::move(b)).ok());
  }
  std::sort(ids.begin(), ids.end());

  std::vector<std::string> seen;
  ASSERT_TRUE(q_->scan([&](const Envelope& e) {
                  seen.push_back(e.id);
                  EXPECT_EQ(e.sender, "sender+" + e.id + "@example.org");
                  EXPECT_FALSE(e.recipients.empty());
                  return true;
                }).ok());
  EXPECT_EQ(seen, ids);

  seen.clear();
  ASSERT_TRUE(q_->scan([&](const Envelope& e) {
                  seen.push_back(e.id);
                  return seen.size() < 3;
                }).ok());
  EXPECT_EQ(seen, std::vector<std::string>(ids.begin(), ids.begin() + 3));
}

TEST_P(QueueTest, LastIdIsTheGreatestEnvelopeAndIgnoresBodies) {
  std::string last;
  ASSERT_TRUE(q_->last_id(last).ok());
  EXPECT_EQ(last, "");
  // A long body under the greatest id must not be mistaken for an envelope.
  ASSERT_TRUE(put(sample_envelope("M2", 1), std::string(100000, 'x')).ok());
  ASSERT_TRUE(put(sample_envelope("M10", 2)).ok());
  ASSERT_TRUE(put(sample_envelope("M1", 1)).ok());
  ASSERT_TRUE(q_->last_id(last).ok());
  EXPECT_EQ(last, "M2");
  Batch b;
  b.remove_message(sample_envelope("M2", 1));
  ASSERT_TRUE(commit_sync(*q_, std::move(b)).ok());
  ASSERT_TRUE(q_->last_id(last).ok());
  EXPECT_EQ(last, "M10");
}

TEST_P(QueueTest, DueIsEarliestFirstAndFollowsUpdatesAndRemoves) {
  Envelope a = sample_envelope("A", 1, 300), b = sample_envelope("B", 2, 100), c = sample_envelope("C", 1, 200);
  Envelope future = sample_envelope("F", 1, 10'000);
  for (auto* e : {&a, &b, &c, &future}) ASSERT_TRUE(put(*e).ok());

  EXPECT_EQ(due(1000), (std::vector<std::string>{"B", "C", "A"}));
  EXPECT_EQ(due(1000, 2), (std::vector<std::string>{"B", "C"}));
  EXPECT_EQ(due(200), (std::vector<std::string>{"B", "C"})) << "due at or before now";
  EXPECT_EQ(due(99), std::vector<std::string>{});

  // B's first recipient delivered: B is now due at its second's time (101).
  Envelope b2 = b;
  b2.recipients[0].state = RecipientState::Delivered;
  Batch u1;
  u1.update_envelope(b, b2);
  ASSERT_TRUE(commit_sync(*q_, std::move(u1)).ok());
  EXPECT_EQ(due(100), std::vector<std::string>{}) << "stale entry at 100 removed";
  EXPECT_EQ(due(101), std::vector<std::string>{"B"});

  // A retried later: moves behind F.
  Envelope a2 = a;
  a2.recipients[0].attempts++;
  a2.recipients[0].next_attempt_ms = 20'000;
  Batch u2;
  u2.update_envelope(a, a2);
  ASSERT_TRUE(commit_sync(*q_, std::move(u2)).ok());
  EXPECT_EQ(due(100'000), (std::vector<std::string>{"B", "C", "F", "A"}));

  // All of C's recipients done: no schedule entry; the message itself stays.
  Envelope c2 = c;
  c2.recipients[0].state = RecipientState::Failed;
  Batch u3;
  u3.update_envelope(c, c2);
  ASSERT_TRUE(commit_sync(*q_, std::move(u3)).ok());
  EXPECT_EQ(due(100'000), (std::vector<std::string>{"B", "F", "A"}));
  Envelope got;
  ASSERT_TRUE(q_->read_envelope("C", got).ok());
  EXPECT_EQ(got.recipients[0].state, RecipientState::Failed);

  // Remove takes the schedule entry with it.
  Batch r;
  r.remove_message(b2);
  r.remove_message(c2);
  ASSERT_TRUE(commit_sync(*q_, std::move(r)).ok());
  EXPECT_EQ(due(100'000), (std::vector<std::string>{"F", "A"}));
  EXPECT_FALSE(exists("B"));
  std::string body;
  EXPECT_EQ(q_->read_body("B", body).code, Status::Code::NotFound);
}

// ringmtactl queue hold / release: the flag alone takes the message out of
// the schedule and puts it back (at its recipients' times).
TEST_P(QueueTest, HoldRemovesScheduleEntryAndReleaseRestoresIt) {
  Envelope a = sample_envelope("A", 2, 100), b = sample_envelope("B", 1, 200);
  ASSERT_TRUE(put(a).ok());
  ASSERT_TRUE(put(b).ok());
  Envelope held = a;
  held.flags |= kFlagHeld;
  Batch h;
  h.update_envelope(a, held);
  ASSERT_TRUE(commit_sync(*q_, std::move(h)).ok());
  EXPECT_EQ(due(100'000), std::vector<std::string>{"B"});
  Envelope got;
  ASSERT_TRUE(q_->read_envelope("A", got).ok());
  EXPECT_TRUE(got.flags & kFlagHeld);
  EXPECT_EQ(got.recipients[0].next_attempt_ms, 100);

  Envelope released = held;
  released.flags &= ~static_cast<uint32_t>(kFlagHeld);
  Batch r;
  r.update_envelope(held, released);
  ASSERT_TRUE(commit_sync(*q_, std::move(r)).ok());
  EXPECT_EQ(due(100'000), (std::vector<std::string>{"A", "B"}));

  // A message stored held from the start is not scheduled either; removing
  // it leaves nothing behind.
  Envelope c = sample_envelope("C", 1, 50);
  c.flags |= kFlagHeld;
  ASSERT_TRUE(put(c).ok());
  EXPECT_EQ(due(100'000), (std::vector<std::string>{"A", "B"}));
  Batch rm;
  rm.remove_message(c);
  ASSERT_TRUE(commit_sync(*q_, std::move(rm)).ok());
  EXPECT_FALSE(exists("C"));
  EXPECT_EQ(due(100'000), (std::vector<std::string>{"A", "B"}));
}

TEST_P(QueueTest, UpdateCanGrowAndShrinkRecipients) {
  Envelope e = sample_envelope("E", 3);
  ASSERT_TRUE(put(e).ok());
  Envelope e2 = e;
  e2.recipients.resize(1);
  e2.recipients[0].last_reply = "250 ok";
  Batch b;
  b.update_envelope(e, e2);
  ASSERT_TRUE(commit_sync(*q_, std::move(b)).ok());
  Envelope got;
  ASSERT_TRUE(q_->read_envelope("E", got).ok());
  ASSERT_EQ(got.recipients.size(), 1u);
  EXPECT_EQ(got.recipients[0].last_reply, "250 ok");

  Envelope e3 = e2;
  e3.recipients.push_back(sample_envelope("x", 1).recipients[0]);
  e3.recipients.back().address = "new@example.com";
  Batch b2;
  b2.update_envelope(e2, e3);
  ASSERT_TRUE(commit_sync(*q_, std::move(b2)).ok());
  ASSERT_TRUE(q_->read_envelope("E", got).ok());
  ASSERT_EQ(got.recipients.size(), 2u);
  EXPECT_EQ(got.recipients[1].address, "new@example.com");
}

TEST_P(QueueTest, BatchAppliesFullyOrNotAtAll) {
  Envelope old = sample_envelope("OLD", 1, 50), upd = sample_envelope("UPD", 1, 60);
  ASSERT_TRUE(put(old).ok());
  ASSERT_TRUE(put(upd).ok());

  // One bad op (empty id) fails the whole batch: nothing of it is applied.
  Envelope upd2 = upd;
  upd2.recipients[0].next_attempt_ms = 70;
  Batch bad;
  bad.put_message(sample_envelope("N1"), "x");
  bad.update_envelope(upd, upd2);
  bad.remove_message(old);
  bad.put_message(sample_envelope(""), "y");
  EXPECT_EQ(commit_sync(*q_, std::move(bad)).code, Status::Code::InvalidArgument);
  EXPECT_FALSE(exists("N1"));
  EXPECT_TRUE(exists("OLD"));
  EXPECT_EQ(due(1000), (std::vector<std::string>{"OLD", "UPD"}));

  Batch good;
  good.put_message(sample_envelope("N1", 1, 10), "x");
  good.put_message(sample_envelope("N2", 1, 20), "y");
  good.update_envelope(upd, upd2);
  good.remove_message(old);
  ASSERT_TRUE(commit_sync(*q_, std::move(good)).ok());
  EXPECT_TRUE(exists("N1"));
  EXPECT_TRUE(exists("N2"));
  EXPECT_FALSE(exists("OLD"));
  EXPECT_EQ(due(1000), (std::vector<std::string>{"N1", "N2", "UPD"}));
  EXPECT_EQ(q_->stats().messages_put, 4u);
}

TEST_P(QueueTest, ConcurrentSubmittersEachGetExactlyOneDone) {
  constexpr int kThreads = 4, kPerThread = 250;
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        Batch b;
        std::string id = "T" + std::to_string(t) + "-" + std::to_string(i);
        b.put_message(sample_envelope(id, 1), testing::body_for(id, 512));
        // Fire and forget, like a shard: never wait for done here.
        q_->commit(std::move(b), [&, n](Status s) {
          calls[n]++;
          if (!s.ok()) failures++;
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(q_->flush().ok());
  for (int n = 0; n < kThreads * kPerThread; ++n) EXPECT_EQ(calls[n].load(), 1) << n;
  EXPECT_EQ(failures.load(), 0);
  QueueStats st = q_->stats();
  EXPECT_EQ(st.batches, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(st.messages_put, uint64_t{kThreads * kPerThread});
  if (GetParam() != Impl::Memory) {
    EXPECT_LT(st.writes, st.batches) << "group commit merged nothing";
    if (GetParam() == Impl::RocksFsync) {
      EXPECT_EQ(st.syncs, st.writes);
    }
  }
  std::string body;
  ASSERT_TRUE(q_->read_body("T3-249", body).ok());
  EXPECT_EQ(body, testing::body_for("T3-249", 512));
}

TEST_P(QueueTest, OnlyBatchesThatNeedSyncCauseAnFsync) {
  if (GetParam() == Impl::Memory) GTEST_SKIP() << "no writes to count";
  ASSERT_TRUE(put(sample_envelope("ACCEPTED", 1)).ok());
  const QueueStats before = q_->stats();
  // A delivery outcome: applied and readable, but no fsync of its own.
  Envelope prev = sample_envelope("ACCEPTED", 1), next = prev;
  next.recipients[0].attempts = 1;
  Batch outcome;
  outcome.set_needs_sync(false);
  outcome.update_envelope(prev, next);
  ASSERT_TRUE(commit_sync(*q_, std::move(outcome)).ok());
  QueueStats after = q_->stats();
  EXPECT_EQ(after.writes, before.writes + 1);
  EXPECT_EQ(after.syncs, before.syncs);
  Envelope read;
  ASSERT_TRUE(q_->read_envelope("ACCEPTED", read).ok());
  EXPECT_EQ(read.recipients[0].attempts, 1u);
  // The next acceptance is synced (in Fsync mode) and covers it in the WAL.
  ASSERT_TRUE(put(sample_envelope("NEXT", 1)).ok());
  after = q_->stats();
  EXPECT_EQ(after.syncs, before.syncs + (GetParam() == Impl::RocksFsync ? 1 : 0));
  EXPECT_TRUE(q_->flush().ok());
}

TEST_P(QueueTest, DoneMayCommitAgain) {
  // A done callback that submits the follow-up batch must not deadlock.
  std::promise<Status> second;
  Batch b;
  b.put_message(sample_envelope("FIRST"), "1");
  q_->commit(std::move(b), [&](Status s) {
    Batch b2;
    b2.put_message(sample_envelope("SECOND"), "2");
    q_->commit(std::move(b2), [&](Status s2) { second.set_value(s2); });
  });
  EXPECT_TRUE(second.get_future().get().ok());
  EXPECT_TRUE(exists("SECOND"));
}

INSTANTIATE_TEST_SUITE_P(Impls, QueueTest, ::testing::Values(Impl::Memory, Impl::RocksFsync, Impl::RocksWal),
                         impl_name);

}  // namespace
}  // namespace ringmta::queue
