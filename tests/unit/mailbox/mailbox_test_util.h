// tests/unit/mailbox/mailbox_test_util.h — shared by the mail store's tests
// and their child process: a real RocksDB queue with the store's families,
// committing and waiting, and a deep comparison of two users' states.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mailbox/store.h"
#include "mailbox/user_state.h"
#include "queue/queue.h"
#include "tests/unit/queue/queue_test_util.h"

namespace ringmta::mailbox::testing {

using queue::testing::commit_sync;
using queue::testing::TempDir;

// The queue at `dir` (Wal: these tests do not cut power) with the store's
// families; `f` gets their ids.
inline std::unique_ptr<queue::Queue> open_store(const std::string& dir, Families& f) {
  queue::RocksDbOptions opts{dir, queue::Durability::Wal};
  f = register_families(opts.extra_families);
  std::unique_ptr<queue::Queue> q;
  queue::Status s = queue::open_rocksdb_queue(opts, q);
  if (!s.ok()) ADD_FAILURE() << "open " << dir << ": " << s.message;
  return q;
}

inline UserState load_or_fail(queue::Queue& q, const Families& f, const std::string& user) {
  UserState st;
  queue::Status s = load_user(q, f, user, st);
  EXPECT_TRUE(s.ok()) << user << ": " << s.message;
  return st;
}

constexpr int64_t kNow = 1'800'000'000'000;  // unix ms

inline NewMessage new_message(const std::string& body_id, size_t size) {
  NewMessage m;
  m.body_id = body_id;
  m.size = size;
  m.internal_date_ms = kNow - 12345;
  return m;
}

// Every key of a family, for counting what is stored.
inline std::vector<std::string> keys_of(queue::Queue& q, uint32_t family) {
  std::vector<std::string> keys;
  EXPECT_TRUE(q.scan_extra(family, "", "", [&](std::string_view k, std::string_view) {
                 keys.emplace_back(k);
                 return true;
               }).ok());
  return keys;
}

inline size_t count_prefix(const std::vector<std::string>& keys, char prefix) {
  size_t n = 0;
  for (const auto& k : keys) n += k[0] == prefix;
  return n;
}

// A whole collection pass, two hints' bodies per step (so the cursor is used).
inline void run_gc(queue::Queue& q, const Families& f, GcStats& stats) {
  std::string cursor;
  for (int step = 0; step < 100; ++step) {
    ASSERT_TRUE(collect_garbage(q, f, cursor, 2, stats).ok());
    if (cursor.empty()) return;
  }
  FAIL() << "garbage collection did not finish";
}

// What memory says must be what a reload reads.
inline void expect_same(const UserState& a, const UserState& b) {
  EXPECT_EQ(a.user(), b.user());
  EXPECT_EQ(a.totals(), b.totals());
  EXPECT_EQ(a.account().next_mailbox_id, b.account().next_mailbox_id);
  EXPECT_EQ(a.account().last_uidvalidity, b.account().last_uidvalidity);
  ASSERT_EQ(a.mailboxes().size(), b.mailboxes().size());
  for (const auto& [id, ma] : a.mailboxes()) {
    auto it = b.mailboxes().find(id);
    ASSERT_NE(it, b.mailboxes().end()) << "mailbox id " << id;
    const Mailbox& mb = it->second;
    EXPECT_EQ(ma.name, mb.name);
    EXPECT_EQ(ma.uidvalidity, mb.uidvalidity);
    EXPECT_EQ(ma.uidnext, mb.uidnext);
    EXPECT_EQ(ma.highest_modseq, mb.highest_modseq);
    EXPECT_EQ(ma.attributes, mb.attributes);
    ASSERT_EQ(ma.messages.size(), mb.messages.size()) << ma.name;
    for (size_t i = 0; i < ma.messages.size(); ++i) {
      const Message &x = ma.messages[i], &y = mb.messages[i];
      EXPECT_EQ(x.uid, y.uid);
      EXPECT_EQ(x.flags, y.flags);
      EXPECT_EQ(x.modseq, y.modseq);
      EXPECT_EQ(x.internal_date_ms, y.internal_date_ms);
      EXPECT_EQ(x.size, y.size);
      EXPECT_EQ(x.body_id, y.body_id);
      EXPECT_EQ(x.keywords, y.keywords);
    }
  }
}

}  // namespace ringmta::mailbox::testing
