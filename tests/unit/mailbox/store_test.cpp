// tests/unit/mailbox/store_test.cpp — the mail store against a real RocksDB
// in a temporary directory: byte-exact round trips, shared bodies and their
// collection, atomicity of a local delivery batch with the queue's own ops.
// (UIDVALIDITY/UID/MODSEQ and mailbox rules: rules_test.cpp.)
#include <gtest/gtest.h>

#include <set>

#include "mailbox/codec.h"
#include "mailbox_test_util.h"

namespace ringmta::mailbox {
namespace {

using queue::Batch;
using queue::Envelope;
using queue::RecipientState;
using queue::Status;
using testing::commit_sync;
using testing::expect_same;
using testing::load_or_fail;
using testing::open_store;
using testing::TempDir;
using testing::count_prefix;
using testing::keys_of;
using testing::kNow;
using testing::new_message;
using testing::run_gc;

TEST(MailStore, AppendAndReadBackByteExact) {
  TempDir dir;
  // Bodies with NULs, bare CR/LF, 8-bit bytes, and one past the blob threshold.
  std::string small("Subject: x\r\n\r\nline\r\n.\r\n\0\xff\r\r\n\n", 33);
  std::string large = queue::testing::body_for("large", 300000);
  std::string structure("\x01\x02structure\0bytes", 18);
  UserState st;
  {
    Families f;
    auto q = open_store(dir.path(), f);
    st = load_or_fail(*q, f, "alice@example.org");
    EXPECT_TRUE(st.mailboxes().empty());
    Batch b;
    put_body(b, f, "BODY1", small, structure);
    put_body(b, f, "BODY2", large, "");
    uint32_t uid1 = 0, uid2 = 0;
    NewMessage m1 = new_message("BODY1", small.size());
    m1.flags = kSeen | kFlagged;
    m1.keywords = {"$Junk", "$Forwarded", "$Junk"};
    ASSERT_TRUE(st.append(b, "inbox", m1, kNow, uid1).ok());
    ASSERT_TRUE(st.append(b, "INBOX", new_message("BODY2", large.size()), kNow, uid2).ok());
    EXPECT_EQ(uid1, 1u);
    EXPECT_EQ(uid2, 2u);
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  }
  Families f;
  auto q = open_store(dir.path(), f);
  UserState back = load_or_fail(*q, f, "alice@example.org");
  expect_same(st, back);
  const Mailbox* inbox = back.find("INBOX");
  ASSERT_NE(inbox, nullptr);
  ASSERT_EQ(inbox->messages.size(), 2u);
  EXPECT_EQ(inbox->messages[0].keywords, (std::vector<std::string>{"$Forwarded", "$Junk"}));
  EXPECT_EQ(inbox->messages[0].flags, kSeen | kFlagged);
  EXPECT_EQ(back.totals(), (Totals{2, small.size() + large.size()}));
  std::string body;
  ASSERT_TRUE(read_body(*q, f, "BODY1", body).ok());
  EXPECT_EQ(body, small);
  ASSERT_TRUE(read_body(*q, f, "BODY2", body).ok());
  EXPECT_EQ(body, large);
  ASSERT_TRUE(read_structure(*q, f, "BODY1", body).ok());
  EXPECT_EQ(body, structure);
  Totals t;
  ASSERT_TRUE(read_totals(*q, f, "alice@example.org", t).ok());
  EXPECT_EQ(t, back.totals());
  ASSERT_TRUE(read_totals(*q, f, "nobody@example.org", t).ok());
  EXPECT_EQ(t, Totals{});
  // Export: every message with its body.
  std::vector<std::string> seen;
  ASSERT_TRUE(for_each_message(*q, f, "alice@example.org", [&](const Mailbox& mb, const Message& m,
                                                               const std::string& b) {
                EXPECT_EQ(mb.name, "INBOX");
                EXPECT_EQ(b.size(), m.size);
                seen.push_back(b);
                return true;
              }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{small, large}));
}

// A delivery to N local users: one body, N references; the body stays while
// the queue message or any reference is there, and goes after that.
TEST(MailStore, BodyStoredOnceForNUsersAndCollectedAfterTheLastExpunge) {
  TempDir dir;
  Families f;
  auto q = open_store(dir.path(), f);
  const std::vector<std::string> users = {"a@example.org", "b@example.org", "c@example.org"};
  Envelope env = queue::testing::sample_envelope("QID1", 3);
  for (size_t i = 0; i < users.size(); ++i) env.recipients[i].address = users[i];
  std::string body = queue::testing::body_for("QID1", 9000);
  {
    Batch b;
    b.put_message(env, body);
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  }
  std::vector<UserState> states;
  Batch delivery;
  put_body(delivery, f, env.id, body, "S");
  Envelope done = env;
  for (size_t i = 0; i < users.size(); ++i) {
    states.push_back(load_or_fail(*q, f, users[i]));
    Batch part;  // built by the user's owner shard, joined into one write
    uint32_t uid;
    ASSERT_TRUE(states[i].append(part, "INBOX", new_message(env.id, body.size()), kNow, uid).ok());
    delivery.merge(std::move(part));
    done.recipients[i].state = RecipientState::Delivered;
  }
  delivery.update_envelope(env, done);
  ASSERT_TRUE(commit_sync(*q, std::move(delivery)).ok());
  EXPECT_EQ(count_prefix(keys_of(*q, f.bodies), 'B'), 1u);
  EXPECT_EQ(count_prefix(keys_of(*q, f.refs), codec::kRefPrefix), 3u);

  // Two users expunge; the body is still referenced (and still queued).
  for (size_t i = 0; i < 2; ++i) {
    Batch b;
    std::vector<uint32_t> uids = {1};
    ASSERT_TRUE(states[i].expunge(b, "INBOX", uids).ok());
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
    EXPECT_EQ(states[i].totals(), Totals{});
  }
  GcStats gc;
  run_gc(*q, f, gc);
  EXPECT_EQ(gc.bodies_deleted, 0u);
  EXPECT_EQ(gc.kept_queued, 1u);  // the queue message is there: more deliveries may come
  // The queue message goes; the third user still has it.
  {
    Batch b;
    b.remove_message(done);
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  }
  gc = {};
  run_gc(*q, f, gc);
  EXPECT_EQ(gc.bodies_deleted, 0u);
  EXPECT_EQ(gc.kept_referenced, 1u);
  EXPECT_EQ(count_prefix(keys_of(*q, f.refs), codec::kHintPrefix), 0u);  // hints consumed
  std::string read;
  ASSERT_TRUE(read_body(*q, f, env.id, read).ok());
  EXPECT_EQ(read, body);
  // The last reference goes: so does the body, at the next pass.
  {
    Batch b;
    std::vector<uint32_t> uids = {1};
    ASSERT_TRUE(states[2].expunge(b, "INBOX", uids).ok());
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  }
  gc = {};
  run_gc(*q, f, gc);
  EXPECT_EQ(gc.bodies_deleted, 1u);
  EXPECT_EQ(read_body(*q, f, env.id, read).code, Status::Code::NotFound);
  EXPECT_EQ(read_structure(*q, f, env.id, read).code, Status::Code::NotFound);
  EXPECT_TRUE(keys_of(*q, f.bodies).empty());
  EXPECT_TRUE(keys_of(*q, f.refs).empty());
}

TEST(MailStore, CopiesShareTheBodyAndKeepItAlive) {
  TempDir dir;
  Families f;
  auto q = open_store(dir.path(), f);
  UserState st = load_or_fail(*q, f, "u@example.org");
  Batch b;
  put_body(b, f, "B1", "hello\r\n", "");
  uint32_t uid;
  NewMessage m = new_message("B1", 7);
  m.flags = kAnswered;
  m.keywords = {"k1"};
  ASSERT_TRUE(st.append(b, "INBOX", m, kNow, uid).ok());
  ASSERT_TRUE(st.create_mailbox(b, "Archive", kNow).ok());
  std::vector<std::pair<uint32_t, uint32_t>> mapping;
  std::vector<uint32_t> uids = {uid, 99};  // 99: unknown, skipped
  ASSERT_TRUE(st.copy(b, "INBOX", uids, "Archive", &mapping).ok());
  ASSERT_EQ(mapping.size(), 1u);
  EXPECT_EQ(mapping[0], std::make_pair(uid, 1u));
  ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  const Message* copy = UserState::find_message(*st.find("Archive"), 1);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->flags, kAnswered);
  EXPECT_EQ(copy->keywords, std::vector<std::string>{"k1"});
  EXPECT_EQ(copy->internal_date_ms, m.internal_date_ms);
  EXPECT_EQ(st.totals(), (Totals{2, 14}));
  // MOVE back: atomic copy + expunge; then expunge the INBOX copy.
  Batch b2;
  std::vector<uint32_t> one = {1};
  ASSERT_TRUE(st.move(b2, "Archive", one, "INBOX", &mapping).ok());
  EXPECT_TRUE(st.find("Archive")->messages.empty());
  std::vector<uint32_t> first = {uid};
  ASSERT_TRUE(st.expunge(b2, "INBOX", first).ok());
  ASSERT_TRUE(commit_sync(*q, std::move(b2)).ok());
  expect_same(st, load_or_fail(*q, f, "u@example.org"));
  GcStats gc;
  run_gc(*q, f, gc);
  EXPECT_EQ(gc.bodies_deleted, 0u);  // one message still uses it
  std::string body;
  ASSERT_TRUE(read_body(*q, f, "B1", body).ok());
  EXPECT_EQ(body, "hello\r\n");
}

// Local delivery: the queue's recipient update and the mailbox append are one
// write — both visible, or (the batch failing) neither.
TEST(MailStore, DeliveryBatchIsAtomicWithTheQueueUpdate) {
  TempDir dir;
  Families f;
  auto q = open_store(dir.path(), f);
  Envelope env = queue::testing::sample_envelope("QATOM", 1);
  env.recipients[0].address = "u@example.org";
  {
    Batch b;
    b.put_message(env, "body");
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  }
  Envelope delivered = env;
  delivered.recipients[0].state = RecipientState::Delivered;
  UserState st = load_or_fail(*q, f, "u@example.org");
  {
    // A batch that fails (an op on a family that does not exist): neither.
    Batch b;
    put_body(b, f, env.id, "body", "");
    uint32_t uid;
    ASSERT_TRUE(st.append(b, "INBOX", new_message(env.id, 4), kNow, uid).ok());
    b.update_envelope(env, delivered);
    b.put_extra(99, "x", "y");
    EXPECT_EQ(commit_sync(*q, std::move(b)).code, Status::Code::InvalidArgument);
    Envelope now;
    ASSERT_TRUE(q->read_envelope(env.id, now).ok());
    EXPECT_EQ(now.recipients[0].state, RecipientState::Pending);
    UserState back = load_or_fail(*q, f, "u@example.org");
    EXPECT_TRUE(back.mailboxes().empty());
    std::string body;
    EXPECT_EQ(read_body(*q, f, env.id, body).code, Status::Code::NotFound);
    st = std::move(back);  // the owner reloads after a failed commit
  }
  {
    Batch b;
    put_body(b, f, env.id, "body", "");
    uint32_t uid;
    ASSERT_TRUE(st.append(b, "INBOX", new_message(env.id, 4), kNow, uid).ok());
    EXPECT_EQ(uid, 1u);
    b.update_envelope(env, delivered);
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
    Envelope now;
    ASSERT_TRUE(q->read_envelope(env.id, now).ok());
    EXPECT_EQ(now.recipients[0].state, RecipientState::Delivered);
    expect_same(st, load_or_fail(*q, f, "u@example.org"));
  }
}

// The same store code on the memory queue (what other modules' unit tests use).
TEST(MailStore, WorksOnTheMemoryQueue) {
  std::vector<queue::ExtraFamily> extras;
  Families f = register_families(extras);
  auto q = queue::make_memory_queue(extras);
  UserState st = load_or_fail(*q, f, "m@example.org");
  Batch b;
  put_body(b, f, "B", "abc", "st");
  uint32_t uid;
  ASSERT_TRUE(st.append(b, "INBOX", new_message("B", 3), kNow, uid).ok());
  ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  expect_same(st, load_or_fail(*q, f, "m@example.org"));
  Batch b2;
  std::vector<uint32_t> uids = {uid};
  ASSERT_TRUE(st.expunge(b2, "INBOX", uids).ok());
  ASSERT_TRUE(commit_sync(*q, std::move(b2)).ok());
  GcStats gc;
  run_gc(*q, f, gc);
  EXPECT_EQ(gc.bodies_deleted, 1u);
}

}  // namespace
}  // namespace ringmta::mailbox
