// tests/unit/mailbox/store_test.cpp — the mail store against a real RocksDB
// in a temporary directory: byte-exact round trips, shared bodies and their
// collection, UIDVALIDITY/UID/MODSEQ rules across reloads, atomicity of a
// local delivery batch with the queue's own ops.
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

constexpr int64_t kNow = 1'800'000'000'000;  // unix ms

NewMessage new_message(const std::string& body_id, size_t size) {
  NewMessage m;
  m.body_id = body_id;
  m.size = size;
  m.internal_date_ms = kNow - 12345;
  return m;
}

// Every key of a family, for counting what is stored.
std::vector<std::string> keys_of(queue::Queue& q, uint32_t family) {
  std::vector<std::string> keys;
  EXPECT_TRUE(q.scan_extra(family, "", "", [&](std::string_view k, std::string_view) {
                 keys.emplace_back(k);
                 return true;
               }).ok());
  return keys;
}

size_t count_prefix(const std::vector<std::string>& keys, char prefix) {
  size_t n = 0;
  for (const auto& k : keys) n += k[0] == prefix;
  return n;
}

void run_gc(queue::Queue& q, const Families& f, GcStats& stats) {
  std::string cursor;
  for (int step = 0; step < 100; ++step) {
    ASSERT_TRUE(collect_garbage(q, f, cursor, 2, stats).ok());
    if (cursor.empty()) return;
  }
  FAIL() << "garbage collection did not finish";
}

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

TEST(MailStore, UidValidityGrowsAcrossDeleteCreateAndPurge) {
  TempDir dir;
  Families f;
  auto q = open_store(dir.path(), f);
  UserState st = load_or_fail(*q, f, "u@example.org");
  Batch b;
  ASSERT_TRUE(st.create_mailbox(b, "Work", kNow).ok());
  const uint32_t first = st.find("Work")->uidvalidity;
  EXPECT_GE(first, static_cast<uint32_t>(kNow / 1000));
  EXPECT_EQ(st.create_mailbox(b, "Work", kNow).code, Status::Code::InvalidArgument);
  ASSERT_TRUE(st.delete_mailbox(b, "Work").ok());
  EXPECT_EQ(st.delete_mailbox(b, "INBOX").code, Status::Code::InvalidArgument);
  ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  // Reloaded, same clock reading (or one that went back): still greater.
  st = load_or_fail(*q, f, "u@example.org");
  Batch b2;
  ASSERT_TRUE(st.create_mailbox(b2, "Work", kNow - 5000).ok());
  const uint32_t second = st.find("Work")->uidvalidity;
  EXPECT_GT(second, first);
  ASSERT_TRUE(commit_sync(*q, std::move(b2)).ok());
  // A purge forgets the counter; a later clock still gives a greater value.
  st = load_or_fail(*q, f, "u@example.org");
  Batch b3;
  st.purge(b3);
  ASSERT_TRUE(commit_sync(*q, std::move(b3)).ok());
  EXPECT_TRUE(keys_of(*q, f.meta).empty());
  st = load_or_fail(*q, f, "u@example.org");
  Batch b4;
  ASSERT_TRUE(st.create_mailbox(b4, "Work", kNow + 10000).ok());
  EXPECT_GT(st.find("Work")->uidvalidity, second);
}

TEST(MailStore, UidsAreNeverReusedAfterExpungeAndReload) {
  TempDir dir;
  Families f;
  auto q = open_store(dir.path(), f);
  UserState st = load_or_fail(*q, f, "u@example.org");
  Batch b;
  put_body(b, f, "B", "x", "");
  uint32_t uid = 0;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(st.append(b, "INBOX", new_message("B", 1), kNow, uid).ok());
  std::vector<uint32_t> last = {3, 2};
  ASSERT_TRUE(st.expunge(b, "INBOX", last).ok());
  ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  st = load_or_fail(*q, f, "u@example.org");
  EXPECT_EQ(st.find("INBOX")->uidnext, 4u);
  Batch b2;
  ASSERT_TRUE(st.append(b2, "INBOX", new_message("B", 1), kNow, uid).ok());
  EXPECT_EQ(uid, 4u);
  ASSERT_TRUE(commit_sync(*q, std::move(b2)).ok());
  st = load_or_fail(*q, f, "u@example.org");
  const Mailbox* inbox = st.find("INBOX");
  ASSERT_EQ(inbox->messages.size(), 2u);
  EXPECT_EQ(inbox->messages[0].uid, 1u);
  EXPECT_EQ(inbox->messages[1].uid, 4u);
}

TEST(MailStore, ModseqOnlyGrows) {
  TempDir dir;
  Families f;
  auto q = open_store(dir.path(), f);
  UserState st = load_or_fail(*q, f, "u@example.org");
  Batch b;
  put_body(b, f, "B", "x", "");
  uint32_t u1, u2;
  ASSERT_TRUE(st.append(b, "INBOX", new_message("B", 1), kNow, u1).ok());
  ASSERT_TRUE(st.append(b, "INBOX", new_message("B", 1), kNow, u2).ok());
  const Mailbox* inbox = st.find("INBOX");
  uint64_t high = inbox->highest_modseq;
  EXPECT_EQ(high, inbox->messages[1].modseq);
  EXPECT_LT(inbox->messages[0].modseq, inbox->messages[1].modseq);
  std::vector<uint32_t> uids = {u1}, changed;
  ASSERT_TRUE(st.store(b, "INBOX", uids, StoreMode::Add, kSeen, {"$label1"}, &changed).ok());
  EXPECT_EQ(changed, uids);
  EXPECT_GT(inbox->highest_modseq, high);
  EXPECT_EQ(inbox->messages[0].modseq, inbox->highest_modseq);
  high = inbox->highest_modseq;
  // A STORE that changes nothing gives no new MODSEQ.
  changed.clear();
  ASSERT_TRUE(st.store(b, "INBOX", uids, StoreMode::Add, kSeen, {"$label1"}, &changed).ok());
  EXPECT_TRUE(changed.empty());
  EXPECT_EQ(inbox->highest_modseq, high);
  ASSERT_TRUE(st.store(b, "INBOX", uids, StoreMode::Remove, kSeen, {"$label1"}, &changed).ok());
  EXPECT_EQ(inbox->messages[0].flags, 0);
  EXPECT_TRUE(inbox->messages[0].keywords.empty());
  ASSERT_TRUE(st.store(b, "INBOX", uids, StoreMode::Replace, kDraft | kDeleted, {"b", "a"}, &changed).ok());
  EXPECT_EQ(inbox->messages[0].keywords, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(st.store(b, "INBOX", uids, StoreMode::Add, 0x80, {}, nullptr).code, Status::Code::InvalidArgument);
  high = inbox->highest_modseq;
  // An expunge is a change too.
  std::vector<uint32_t> gone = {u2};
  ASSERT_TRUE(st.expunge(b, "INBOX", gone).ok());
  EXPECT_GT(inbox->highest_modseq, high);
  ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  expect_same(st, load_or_fail(*q, f, "u@example.org"));
}

TEST(MailStore, CreateRenameDeleteListAndTotals) {
  TempDir dir;
  Families f;
  auto q = open_store(dir.path(), f);
  UserState st = load_or_fail(*q, f, "u@example.org");
  Batch b;
  put_body(b, f, "B", "12345", "");
  uint32_t uid;
  ASSERT_TRUE(st.append(b, "INBOX", new_message("B", 5), kNow, uid).ok());
  ASSERT_TRUE(st.append(b, "INBOX", new_message("B", 5), kNow, uid).ok());
  EXPECT_EQ(st.append(b, "Missing", new_message("B", 5), kNow, uid).code, Status::Code::NotFound);
  EXPECT_EQ(st.create_mailbox(b, "bad\r\nname", kNow).code, Status::Code::InvalidArgument);
  ASSERT_TRUE(st.create_mailbox(b, "Lists/ietf", kNow, 7).ok());
  ASSERT_TRUE(st.rename_mailbox(b, "Lists/ietf", "Lists/IETF", kNow).ok());
  EXPECT_EQ(st.rename_mailbox(b, "Lists/IETF", "inbox", kNow).code, Status::Code::InvalidArgument);
  EXPECT_EQ(st.find("Lists/ietf"), nullptr);
  ASSERT_NE(st.find("Lists/IETF"), nullptr);
  EXPECT_EQ(st.find("Lists/IETF")->attributes, 7u);
  // Renaming the INBOX moves its messages; the INBOX stays, empty.
  ASSERT_TRUE(st.rename_mailbox(b, "INBOX", "Old", kNow).ok());
  EXPECT_TRUE(st.find("INBOX")->messages.empty());
  EXPECT_EQ(st.find("Old")->messages.size(), 2u);
  EXPECT_EQ(st.totals(), (Totals{2, 10}));
  ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  expect_same(st, load_or_fail(*q, f, "u@example.org"));

  UserState other = load_or_fail(*q, f, "v@example.org");
  Batch b2;
  ASSERT_TRUE(other.append(b2, "INBOX", new_message("B", 5), kNow, uid).ok());
  ASSERT_TRUE(st.delete_mailbox(b2, "Old").ok());  // its messages go with it
  ASSERT_TRUE(commit_sync(*q, std::move(b2)).ok());
  std::vector<std::pair<std::string, Totals>> users;
  ASSERT_TRUE(list_users(*q, f, [&](std::string_view u, const Totals& t) {
                users.emplace_back(std::string(u), t);
                return true;
              }).ok());
  EXPECT_EQ(users, (std::vector<std::pair<std::string, Totals>>{{"u@example.org", {0, 0}},
                                                                 {"v@example.org", {1, 5}}}));
  expect_same(st, load_or_fail(*q, f, "u@example.org"));
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

TEST(MailStore, BadNamesAreRefused) {
  std::vector<queue::ExtraFamily> extras;
  Families f = register_families(extras);
  auto q = queue::make_memory_queue(extras);
  UserState st;
  EXPECT_EQ(load_user(*q, f, "", st).code, Status::Code::InvalidArgument);
  EXPECT_EQ(load_user(*q, f, std::string("a\0b", 3), st).code, Status::Code::InvalidArgument);
  st = load_or_fail(*q, f, "u");
  Batch b;
  uint32_t uid;
  EXPECT_EQ(st.append(b, "INBOX", new_message("", 1), kNow, uid).code, Status::Code::InvalidArgument);
  NewMessage m = new_message("B", 1);
  m.keywords = {"bad\nkw"};
  EXPECT_EQ(st.append(b, "INBOX", m, kNow, uid).code, Status::Code::InvalidArgument);
  EXPECT_TRUE(b.empty());  // a refused change adds nothing
  EXPECT_TRUE(st.mailboxes().empty());
}

// A STORE refused for one message changes none (memory and batch alike).
TEST(MailStore, RefusedStoreChangesNothing) {
  std::vector<queue::ExtraFamily> extras;
  Families f = register_families(extras);
  auto q = queue::make_memory_queue(extras);
  UserState st = load_or_fail(*q, f, "u");
  Batch b;
  NewMessage many = new_message("B", 1);
  std::vector<std::string> more;
  for (int i = 0; i < 600; ++i) {
    many.keywords.push_back("a" + std::to_string(i));
    more.push_back("b" + std::to_string(i));
  }
  uint32_t uid;
  ASSERT_TRUE(st.append(b, "INBOX", new_message("B", 1), kNow, uid).ok());  // UID 1: no keywords
  ASSERT_TRUE(st.append(b, "INBOX", many, kNow, uid).ok());                 // UID 2: 600
  ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  const uint64_t high = st.find("INBOX")->highest_modseq;
  Batch b2;
  std::vector<uint32_t> both = {1, 2}, changed;
  EXPECT_EQ(st.store(b2, "INBOX", both, StoreMode::Add, kSeen, more, &changed).code,
            Status::Code::InvalidArgument);  // UID 2 would hold 1,200 keywords
  EXPECT_TRUE(b2.empty());
  EXPECT_TRUE(changed.empty());
  EXPECT_EQ(st.find("INBOX")->messages[0].flags, 0);
  EXPECT_EQ(st.find("INBOX")->highest_modseq, high);
  expect_same(st, load_or_fail(*q, f, "u"));
}

}  // namespace
}  // namespace ringmta::mailbox
