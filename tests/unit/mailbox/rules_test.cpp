// tests/unit/mailbox/rules_test.cpp — the IMAP-facing rules of the mail
// store, checked in memory and after a reload from a real RocksDB:
// UIDVALIDITY only grows, UIDs are never reused, MODSEQ only grows, mailbox
// create/rename/delete/list and totals, and refused changes change nothing.
#include <gtest/gtest.h>

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
using testing::keys_of;
using testing::kNow;
using testing::new_message;

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
  // A purge removes everything but the last UIDVALIDITY (codec.h 'V'): a
  // mailbox made after it, at the same clock reading, is still greater —
  // in memory and after a reload.
  st = load_or_fail(*q, f, "u@example.org");
  Batch b3;
  st.purge(b3);
  ASSERT_TRUE(commit_sync(*q, std::move(b3)).ok());
  EXPECT_EQ(keys_of(*q, f.meta), std::vector<std::string>{"Vu@example.org"});
  Batch b4;
  ASSERT_TRUE(st.create_mailbox(b4, "Work", kNow).ok());
  EXPECT_GT(st.find("Work")->uidvalidity, second);
  st = load_or_fail(*q, f, "u@example.org");
  Batch b5;
  ASSERT_TRUE(st.create_mailbox(b5, "Work", kNow).ok());
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
