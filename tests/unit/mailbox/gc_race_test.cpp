// tests/unit/mailbox/gc_race_test.cpp — the body collector against live
// deliveries (store.h, "Bodies"): two owner threads (two shards) deliver
// the same messages to their user in separate batches, each with the body,
// and expunge at random; one of them removes the queue message once both
// have delivered; a third thread runs collect_garbage() all along. No
// message may ever lose its body, and once all is quiet a last pass leaves
// exactly the bodies still referenced. (A stress test: the interleaving a
// careless collector loses a body in is narrow, and a collector without the
// queue check was NOT caught by it in 10 runs; store_test's
// BodyStoredOnceForNUsers... checks that rule deterministically.)
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "mailbox/codec.h"
#include "mailbox_test_util.h"

namespace ringmta::mailbox {
namespace {

using queue::Batch;
using queue::Envelope;
using testing::commit_sync;
using testing::open_store;
using testing::TempDir;

constexpr int kMessages = 400;

TEST(MailStoreGc, CollectorNeverTakesABodyInUse) {
  TempDir dir;
  Families f;
  auto q = open_store(dir.path(), f);
  const std::string users[2] = {"u0@example.org", "u1@example.org"};
  std::vector<Envelope> envs;
  for (int i = 0; i < kMessages; ++i) {
    Envelope e = queue::testing::sample_envelope("R" + std::to_string(100000 + i), 2);
    for (int r = 0; r < 2; ++r) {
      e.recipients[r].address = users[r];
      e.recipients[r].next_attempt_ms = 1000;  // one schedule entry whatever the states
    }
    Batch b;
    b.put_message(e, queue::testing::body_for(e.id, 50 + i));
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
    envs.push_back(e);
  }
  std::atomic<int> delivered[2] = {0, 0};  // messages delivered by each owner
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  UserState states[2];
  for (int u = 0; u < 2; ++u) states[u] = testing::load_or_fail(*q, f, users[u]);

  auto owner = [&](int u) {
    std::mt19937 rng(17 + u);
    UserState& st = states[u];
    for (int i = 0; i < kMessages; ++i) {
      const Envelope& e = envs[i];
      // Owner 1 delivers a message only after owner 0 did (and maybe
      // expunged it at once): its body then has a hint and no reference
      // until owner 1's batch — the window a careless collector would hit.
      if (u == 1)
        for (int spin = 0; delivered[0].load() <= i && spin < 1000000; ++spin) std::this_thread::yield();
      Envelope done = e;  // only this owner's recipient changes: its own record
      done.recipients[u].state = queue::RecipientState::Delivered;
      Batch b;
      put_body(b, f, e.id, queue::testing::body_for(e.id, 50 + i), "");
      NewMessage m;
      m.body_id = e.id;
      m.size = 50 + i;
      uint32_t uid;
      if (!st.append(b, "INBOX", m, 1'800'000'000'000, uid).ok()) failures++;
      b.update_envelope(e, done);
      if (!commit_sync(*q, std::move(b)).ok()) failures++;
      delivered[u] = i + 1;
      // Owner 1 removes the queue message once both have delivered it.
      if (u == 1) {
        Envelope both = done;
        both.recipients[0].state = queue::RecipientState::Delivered;
        Batch rm;
        rm.remove_message(both);
        if (!commit_sync(*q, std::move(rm)).ok()) failures++;
      }
      // Expunge, half the time, the message just delivered or a random one.
      const Mailbox* inbox = st.find("INBOX");
      if (inbox && !inbox->messages.empty() && rng() % 2 == 0) {
        std::vector<uint32_t> uids = {rng() % 2 ? uid : inbox->messages[rng() % inbox->messages.size()].uid};
        Batch x;
        if (!st.expunge(x, "INBOX", uids).ok() || !commit_sync(*q, std::move(x)).ok()) failures++;
      }
    }
  };
  GcStats total;
  std::thread gc([&] {
    while (!stop) {
      std::string cursor;
      for (int step = 0; step < 1000; ++step) {
        if (!collect_garbage(*q, f, cursor, 8, total).ok()) failures++;
        if (cursor.empty()) break;
      }
    }
  });
  std::thread o0(owner, 0), o1(owner, 1);
  o0.join();
  o1.join();
  stop = true;
  gc.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(total.bodies_deleted, 0u);  // the collector did work during the run

  // Every message kept has its body.
  std::set<std::string> in_use;
  for (int u = 0; u < 2; ++u) {
    for (const Message& m : states[u].find("INBOX")->messages) {
      std::string body;
      ASSERT_TRUE(read_body(*q, f, m.body_id, body).ok()) << m.body_id << " lost its body";
      EXPECT_EQ(body.size(), m.size);
      in_use.insert(m.body_id);
    }
    testing::expect_same(states[u], testing::load_or_fail(*q, f, users[u]));
  }
  // Quiet now: a last pass leaves exactly the bodies in use.
  std::string cursor;
  GcStats last;
  for (int step = 0; step < 1000; ++step) {
    ASSERT_TRUE(collect_garbage(*q, f, cursor, 8, last).ok());
    if (cursor.empty()) break;
  }
  std::set<std::string> stored;
  ASSERT_TRUE(q->scan_extra(f.bodies, "B", "C", [&](std::string_view k, std::string_view) {
                 stored.insert(std::string(k.substr(1)));
                 return true;
               }).ok());
  EXPECT_EQ(stored, in_use);
}

}  // namespace
}  // namespace ringmta::mailbox
