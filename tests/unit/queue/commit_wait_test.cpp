// tests/unit/queue/commit_wait_test.cpp — the RocksDB queue's group-commit
// gathering (RocksDbOptions::commit_wait / commit_wait_batches).
//
// The commit observer runs on the commit thread after each round's write, so
// the tests hold the thread there, round by round, and decide what is pending
// when the next round is taken. No assertion depends on speed: a wait that
// should not happen is 60 s long and the checks allow 30 s; a wait that should
// happen is checked only for its lower bound.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

#include "queue/queue.h"
#include "queue_test_util.h"

namespace ringmta::queue {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::sample_envelope;

// Records each round's batch count and holds the commit thread after round n
// until release(n) has been called.
class Rounds {
 public:
  void observe(size_t batches) {
    std::unique_lock lock(mu_);
    sizes_.push_back(batches);
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_ >= sizes_.size(); });
  }
  void release(size_t n) {
    std::lock_guard lock(mu_);
    released_ = n;
    cv_.notify_all();
  }
  bool wait_rounds(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return sizes_.size() >= n; });
  }
  std::vector<size_t> sizes() {
    std::lock_guard lock(mu_);
    return sizes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<size_t> sizes_;
  size_t released_ = 0;
};

struct Fixture {
  explicit Fixture(std::chrono::microseconds wait, size_t batches, Durability d = Durability::Fsync) {
    RocksDbOptions o;
    o.path = dir.path();
    o.durability = d;
    o.commit_wait = wait;
    o.commit_wait_batches = batches;
    o.on_commit = [this](size_t n, double) { rounds.observe(n); };
    Status s = open_rocksdb_queue(o, q);
    EXPECT_TRUE(s.ok()) << s.message;
  }
  ~Fixture() {
    rounds.release(SIZE_MAX);  // let the destructor's drain through
  }
  // commit() a one-message batch; the future is its done.
  std::future<Status> submit(const std::string& id, bool needs_sync = true) {
    auto p = std::make_shared<std::promise<Status>>();
    Batch b;
    b.put_message(sample_envelope(id), "x");
    b.set_needs_sync(needs_sync);
    q->commit(std::move(b), [p](Status s) { p->set_value(std::move(s)); });
    return p->get_future();
  }
  // Rounds [A] and [B, C], the second one held: the last synced round then
  // had two batches, so the next round may gather.
  void prime() {
    futures.push_back(submit("A"));
    ASSERT_TRUE(rounds.wait_rounds(1));  // held after [A]
    futures.push_back(submit("B"));
    futures.push_back(submit("C"));
    rounds.release(1);
    ASSERT_TRUE(rounds.wait_rounds(2));  // held after [B, C]
    ASSERT_EQ(rounds.sizes(), (std::vector<size_t>{1, 2}));
  }

  testing::TempDir dir;
  Rounds rounds;
  std::unique_ptr<Queue> q;
  std::vector<std::future<Status>> futures;
};

bool done_within(std::future<Status>& f, std::chrono::seconds limit) {
  return f.wait_for(limit) == std::future_status::ready && f.get().ok();
}

TEST(CommitWait, RoundGathersUntilEnoughBatches) {
  Fixture fx(60s, 3);
  fx.prime();
  auto d = fx.submit("D");
  fx.rounds.release(SIZE_MAX);
  std::this_thread::sleep_for(50ms);  // [D] taken, gathering
  auto e = fx.submit("E");            // 2 of 3: no wake-up yet
  auto f = fx.submit("F");            // 3 of 3: the round is written now, not after 60 s
  ASSERT_TRUE(done_within(f, 30s));
  EXPECT_TRUE(d.get().ok());
  EXPECT_TRUE(e.get().ok());
  EXPECT_EQ(fx.rounds.sizes(), (std::vector<size_t>{1, 2, 3}));
}

TEST(CommitWait, RoundWaitsAtMostCommitWait) {
  Fixture fx(300ms, 100);
  fx.prime();
  const auto submitted = Clock::now();  // the wait counts from D's commit()
  auto d = fx.submit("D");
  fx.rounds.release(SIZE_MAX);
  ASSERT_TRUE(done_within(d, 30s));
  EXPECT_GE(Clock::now() - submitted, 300ms);  // it did wait for company
  EXPECT_EQ(fx.rounds.sizes(), (std::vector<size_t>{1, 2, 1}));
}

// The wait is bounded by the oldest batch's age, not restarted when its round
// is taken: D sits behind a held (slow) round for longer than commit_wait, so
// its round is written at once, and E, 200 ms later, gets a round of its own.
// (Waiting from "now", D's round would still be gathering and take E in.)
TEST(CommitWait, BatchThatWaitedBehindASlowRoundIsNotHeldAgain) {
  Fixture fx(1s, 100);
  fx.prime();
  auto d = fx.submit("D");
  std::this_thread::sleep_for(1200ms);  // the commit thread is held meanwhile
  fx.rounds.release(SIZE_MAX);
  std::this_thread::sleep_for(200ms);
  auto e = fx.submit("E");
  ASSERT_TRUE(done_within(d, 30s));
  ASSERT_TRUE(done_within(e, 30s));
  EXPECT_EQ(fx.rounds.sizes(), (std::vector<size_t>{1, 2, 1, 1}));
}

TEST(CommitWait, LoneSenderNeverWaits) {
  Fixture fx(60s, 16);
  fx.rounds.release(SIZE_MAX);
  const auto started = Clock::now();
  for (int i = 0; i < 5; ++i) {
    auto f = fx.submit("L" + std::to_string(i));
    ASSERT_TRUE(done_within(f, 30s)) << i;
  }
  EXPECT_LT(Clock::now() - started, 30s);
  EXPECT_EQ(fx.rounds.sizes(), (std::vector<size_t>{1, 1, 1, 1, 1}));
}

TEST(CommitWait, UnsyncedRoundDoesNotWait) {
  Fixture fx(60s, 16);
  fx.prime();
  auto d = fx.submit("D", /*needs_sync=*/false);  // as a delivery outcome is
  fx.rounds.release(SIZE_MAX);
  EXPECT_TRUE(done_within(d, 30s));
}

TEST(CommitWait, WalModeDoesNotWait) {
  Fixture fx(60s, 16, Durability::Wal);
  fx.prime();
  auto d = fx.submit("D");
  fx.rounds.release(SIZE_MAX);
  EXPECT_TRUE(done_within(d, 30s));
}

TEST(CommitWait, CloseEndsTheWaitAndWritesTheRound) {
  std::future<Status> d;
  const auto started = Clock::now();
  {
    Fixture fx(60s, 16);
    fx.prime();
    d = fx.submit("D");
    fx.rounds.release(SIZE_MAX);
    std::this_thread::sleep_for(50ms);  // [D] gathering
  }  // the queue closes here
  EXPECT_LT(Clock::now() - started, 30s);
  ASSERT_EQ(d.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(d.get().ok());
}

}  // namespace
}  // namespace ringmta::queue
