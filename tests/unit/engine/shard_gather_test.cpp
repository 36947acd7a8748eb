// tests/unit/engine/shard_gather_test.cpp — engine::gather() against real
// reactors on real shard threads: every shard answers on its own thread, a
// slow shard is cut off by the deadline and its late answer is dropped
// safely, zero shards, stopped shards, void functions, no deadline.
//
// No timing is asserted. Where a test says "the deadline ended the wait",
// the slow shard is held until after gather() has returned, so gather()
// returning at all can only be the deadline's doing.
#include "engine/shard_gather.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace ringmta::engine {
namespace {

using namespace std::chrono_literals;

// Generous: only reached if a test is broken (it then fails, not hangs).
constexpr auto kLong = 20s;

TEST(ShardGather, EveryShardAnswersOnItsOwnThread) {
  SKIP_WITHOUT_URING();
  ShardGroup g(3);
  ASSERT_EQ(g.start([](Reactor&) { return 0; }), 0);
  struct Answer {
    unsigned index;
    unsigned shard_id;
    std::thread::id thread;
  };
  Reactor* reactors[3] = {&g.shard(0), &g.shard(1), &g.shard(2)};
  // Each closure reads only its own reactor, on that reactor's thread.
  auto got = gather(
      std::span<Reactor* const>(reactors),
      [reactors](unsigned i) { return Answer{i, reactors[i]->shard_id(), std::this_thread::get_id()}; }, kLong);
  ASSERT_EQ(got.size(), 3u);
  std::set<std::thread::id> threads;
  for (unsigned i = 0; i < 3; ++i) {
    ASSERT_TRUE(got[i].has_value()) << "shard " << i;
    EXPECT_EQ(got[i]->index, i);
    EXPECT_EQ(got[i]->shard_id, i);  // fn(i) ran on shard i's reactor
    EXPECT_NE(got[i]->thread, std::this_thread::get_id());
    threads.insert(got[i]->thread);
  }
  EXPECT_EQ(threads.size(), 3u);
  g.stop_and_join();
}

TEST(ShardGather, SlowShardGetsNulloptAndItsLateAnswerIsDropped) {
  SKIP_WITHOUT_URING();
  ShardGroup g(2);
  ASSERT_EQ(g.start([](Reactor&) { return 0; }), 0);
  // Shard 1 waits for this gate, which opens only after gather() returned.
  auto gate = std::make_shared<std::promise<void>>();
  std::shared_future<void> open = gate->get_future().share();
  auto late_ran = std::make_shared<std::atomic<bool>>(false);
  auto got = gather(
      g,
      [open, late_ran](unsigned i) {
        if (i == 1) {
          open.wait_for(kLong);
          late_ran->store(true);
        }
        return std::string(100, static_cast<char>('a' + i));  // heap-owned, moved across threads
      },
      200ms);
  // The deadline ended the wait: shard 1 was still held.
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(got[0].has_value());
  EXPECT_EQ(*got[0], std::string(100, 'a'));
  EXPECT_FALSE(got[1].has_value());
  EXPECT_FALSE(late_ran->load());

  gate->set_value();  // now the late answer arrives, into a gather nobody waits for
  // The shard is still healthy and its mailbox in order: a second round sees
  // both shards answer, after the late call has finished (posts run in order).
  auto again = gather(g, [](unsigned i) { return i; }, kLong);
  ASSERT_EQ(again.size(), 2u);
  ASSERT_TRUE(again[0].has_value());
  ASSERT_TRUE(again[1].has_value());
  EXPECT_EQ(*again[1], 1u);
  EXPECT_TRUE(late_ran->load());
  g.stop_and_join();
}

TEST(ShardGather, ZeroShardsIsEmptyAndRunsNothing) {
  auto called = std::make_shared<std::atomic<int>>(0);
  auto got = gather(
      std::span<Reactor* const>{}, [called](unsigned) { return ++*called; }, kLong);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(called->load(), 0);
}

TEST(ShardGather, StoppedShardDoesNotAnswer) {
  SKIP_WITHOUT_URING();
  ShardGroup running(1);
  ASSERT_EQ(running.start([](Reactor&) { return 0; }), 0);
  {
    ShardGroup stopped(1);
    ASSERT_EQ(stopped.start([](Reactor&) { return 0; }), 0);
    stopped.stop_and_join();
    Reactor* reactors[2] = {&running.shard(0), &stopped.shard(0)};
    auto got = gather(
        std::span<Reactor* const>(reactors), [](unsigned i) { return i + 10; }, 200ms);
    ASSERT_EQ(got.size(), 2u);
    ASSERT_TRUE(got[0].has_value());
    EXPECT_EQ(*got[0], 10u);
    EXPECT_FALSE(got[1].has_value());
    // `stopped` is destroyed here with the closure still in its mailbox:
    // freeing it must not touch anything the caller owned.
  }
  auto again = gather(running, [](unsigned) { return true; }, kLong);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].has_value());
  running.stop_and_join();
}

TEST(ShardGather, VoidFunctionSaysWhichShardsRanIt) {
  SKIP_WITHOUT_URING();
  ShardGroup g(2);
  ASSERT_EQ(g.start([](Reactor&) { return 0; }), 0);
  auto ran = std::make_shared<std::atomic<int>>(0);
  std::vector<std::optional<std::monostate>> got = gather(g, [ran](unsigned) { ++*ran; }, kLong);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].has_value());
  EXPECT_TRUE(got[1].has_value());
  EXPECT_EQ(ran->load(), 2);
  g.stop_and_join();
}

TEST(ShardGather, NoDeadlineWaitsForEveryAnswer) {
  SKIP_WITHOUT_URING();
  ShardGroup g(2);
  ASSERT_EQ(g.start([](Reactor&) { return 0; }), 0);
  // Shard 0 answers only once shard 1 has: the wait cannot end early.
  auto second = std::make_shared<std::promise<void>>();
  std::shared_future<void> done = second->get_future().share();
  auto got = gather(
      g,
      [second, done](unsigned i) {
        if (i == 1) {
          second->set_value();
        } else {
          done.wait_for(kLong);
        }
        return i * 2;
      },
      kNoDeadline);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(got[0].has_value());
  ASSERT_TRUE(got[1].has_value());
  EXPECT_EQ(*got[0], 0u);
  EXPECT_EQ(*got[1], 2u);
  g.stop_and_join();
}

}  // namespace
}  // namespace ringmta::engine
