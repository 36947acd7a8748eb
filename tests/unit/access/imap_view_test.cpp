// tests/unit/access/imap_view_test.cpp — the IMAP session's view of a
// mailbox (access/imap_view.h) over a real mailbox::UserState: LIST pattern
// matching, sequence/UID sets, and the untagged responses sync() and
// select() write when other sessions change the mailbox (RFC 9051 §7.5.1:
// held-back EXPUNGEs, EXISTS/RECENT, FETCH FLAGS, VANISHED under QRESYNC).
#include <gtest/gtest.h>

#include "access/imap_view.h"
#include "mailbox/store.h"

namespace ringmta::access::imap_view {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

struct Fixture {
  std::vector<queue::ExtraFamily> extras;
  mailbox::Families families = mailbox::register_families(extras);
  mailbox::UserState state{families, "u@example.org"};
  UserImap user;

  uint32_t append(uint8_t flags = 0) {
    queue::Batch b;
    mailbox::NewMessage m;
    m.body_id = "B" + std::to_string(next_body++);
    m.size = 10;
    m.internal_date_ms = kNow;
    m.flags = flags;
    uint32_t uid = 0;
    EXPECT_TRUE(state.append(b, "INBOX", m, kNow, uid).ok());
    return uid;
  }
  void expunge(std::vector<uint32_t> uids) {
    queue::Batch b;
    EXPECT_TRUE(state.expunge(b, "INBOX", uids).ok());
  }
  void flag(uint32_t uid, uint8_t flags) {
    queue::Batch b;
    std::vector<uint32_t> one{uid};
    EXPECT_TRUE(state.store(b, "INBOX", one, mailbox::StoreMode::Add, flags, {}).ok());
  }
  const mailbox::Mailbox& inbox() { return *state.find("INBOX"); }
  std::string select(View& v, Modes m = {}, bool read_only = false) {
    std::string out;
    imap::Command cmd;
    imap_view::select(out, v, inbox(), user, m, cmd, read_only);
    return out;
  }
  int next_body = 1;
};

TEST(ImapView, ListPatterns) {
  EXPECT_TRUE(list_match("", "*", "a/b/c"));
  EXPECT_TRUE(list_match("", "%", "a"));
  EXPECT_FALSE(list_match("", "%", "a/b"));
  EXPECT_TRUE(list_match("", "a/%", "a/b"));
  EXPECT_FALSE(list_match("", "a/%", "a/b/c"));
  EXPECT_TRUE(list_match("a/", "%", "a/b"));  // the reference is a prefix
  EXPECT_TRUE(list_match("", "inbox", "INBOX"));  // INBOX in any case
  EXPECT_TRUE(list_match("", "Inbox/%", "INBOX/x"));
  EXPECT_FALSE(list_match("", "sent", "Sent"));  // other names are case-sensitive
  EXPECT_TRUE(list_match("", "S*t", "Sent"));
  EXPECT_TRUE(list_match("", "*%*", "x"));
  EXPECT_FALSE(list_match("", "", "x"));
  EXPECT_TRUE(list_match("", "a%c", "abc"));
  EXPECT_FALSE(list_match("", "a%c", "a/c"));
}

TEST(ImapView, Names) {
  EXPECT_TRUE(valid_new_name("a/b"));
  EXPECT_FALSE(valid_new_name(""));
  EXPECT_FALSE(valid_new_name("a//b"));
  EXPECT_FALSE(valid_new_name("/a"));
  EXPECT_FALSE(valid_new_name("a*"));
  EXPECT_EQ(superiors("a/b/c"), (std::vector<std::string>{"a", "a/b"}));
  EXPECT_TRUE(superiors("a").empty());
  EXPECT_EQ(special_use_bit("\\sent"), kUseSent);
  EXPECT_EQ(special_use_name(kUseJunk), "\\Junk");
  EXPECT_EQ(special_use_bit("\\Nope"), 0u);
}

TEST(ImapView, SetsResolveAgainstTheView) {
  View v;
  v.selected = true;
  v.uids = {3, 5, 9};
  imap::SequenceSet all{{{1, 0}}};
  EXPECT_EQ(resolve(v, all, false), (std::vector<uint32_t>{3, 5, 9}));
  imap::SequenceSet two{{{2, 2}, {7, 8}}};  // 7:8 is beyond the view: ignored
  EXPECT_EQ(resolve(v, two, false), (std::vector<uint32_t>{5}));
  imap::SequenceSet star{{{20, 0}}};  // UID 20:* is *:20, so the last UID (RFC 9051 §9 seq-range)
  EXPECT_EQ(resolve(v, star, true), (std::vector<uint32_t>{9}));
  imap::SequenceSet uids{{{4, 9}}};
  EXPECT_EQ(resolve(v, uids, true), (std::vector<uint32_t>{5, 9}));
  v.saved = {5, 7};
  imap::SequenceSet saved;
  saved.saved = true;
  EXPECT_EQ(resolve(v, saved, true), (std::vector<uint32_t>{5}));  // 7 is not in the view
  EXPECT_EQ(set_text({1, 2, 3, 5, 7, 8}), "1:3,5,7:8");
  EXPECT_EQ(seq_of(v, 9), 3u);
  EXPECT_EQ(seq_of(v, 4), 0u);
}

TEST(ImapView, SelectAnnouncesTheMailbox) {
  Fixture f;
  f.append();
  f.append(mailbox::kSeen);
  View v;
  const std::string out = f.select(v);
  EXPECT_NE(out.find("* 2 EXISTS\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("* 2 RECENT\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("* OK [UNSEEN 1]"), std::string::npos) << out;
  EXPECT_NE(out.find("* OK [UIDNEXT 3]"), std::string::npos) << out;
  EXPECT_NE(out.find("[PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]"), std::string::npos);
  // \Recent belongs to the first session only.
  View w;
  EXPECT_NE(f.select(w).find("* 0 RECENT\r\n"), std::string::npos);
  // IMAP4rev2 has no RECENT.
  View r2;
  Modes rev2;
  rev2.rev2 = true;
  EXPECT_EQ(f.select(r2, rev2).find("RECENT"), std::string::npos);
}

TEST(ImapView, ExpungesWaitUntilAllowedAndComeHighestFirst) {
  Fixture f;
  for (int i = 0; i < 4; ++i) f.append();
  View v;
  f.select(v);
  f.expunge({2, 4});
  std::string out;
  sync(out, v, &f.inbox(), f.user, {}, false);  // during FETCH/STORE/SEARCH
  EXPECT_EQ(out, "");
  EXPECT_EQ(v.uids.size(), 4u);  // numbers unchanged
  sync(out, v, &f.inbox(), f.user, {}, true);
  EXPECT_EQ(out, "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n");
  EXPECT_EQ(v.uids, (std::vector<uint32_t>{1, 3}));
}

TEST(ImapView, QresyncSaysVanished) {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.append();
  View v;
  Modes q;
  q.qresync = q.condstore = true;
  f.select(v, q);
  f.expunge({1, 2});
  std::string out;
  sync(out, v, &f.inbox(), f.user, q, true);
  EXPECT_EQ(out, "* VANISHED 1:2\r\n");
}

TEST(ImapView, NewMessagesAndFlagChanges) {
  Fixture f;
  f.append();
  View a, b;
  f.select(a);
  f.select(b);
  const uint32_t uid = f.append();
  f.flag(1, mailbox::kFlagged);
  std::string out_a, out_b;
  sync(out_a, a, &f.inbox(), f.user, {}, true);
  sync(out_b, b, &f.inbox(), f.user, {}, true);
  // a selected first: both messages are recent there, and RECENT counts them all.
  EXPECT_EQ(out_a, "* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n* 2 EXISTS\r\n* 2 RECENT\r\n");
  EXPECT_EQ(out_b, "* 1 FETCH (FLAGS (\\Flagged))\r\n* 2 EXISTS\r\n* 0 RECENT\r\n");  // a took \Recent
  EXPECT_EQ(a.uids.back(), uid);
  std::string again;
  sync(again, a, &f.inbox(), f.user, {}, true);
  EXPECT_EQ(again, "");  // nothing new: nothing said
  // CONDSTORE: UID and MODSEQ with every FETCH.
  f.flag(1, mailbox::kSeen);
  Modes c;
  c.condstore = true;
  std::string cs;
  sync(cs, a, &f.inbox(), f.user, c, true);
  const uint64_t modseq = f.inbox().messages[0].modseq;
  EXPECT_EQ(cs, "* 1 FETCH (UID 1 FLAGS (\\Seen \\Flagged \\Recent) MODSEQ (" + std::to_string(modseq) + "))\r\n");
}

TEST(ImapView, AGoneMailboxExpungesEverything) {
  Fixture f;
  f.append();
  f.append();
  View v;
  f.select(v);
  std::string out;
  sync(out, v, nullptr, f.user, {}, true);
  EXPECT_EQ(out, "* 2 EXPUNGE\r\n* 1 EXPUNGE\r\n");
  EXPECT_TRUE(v.gone);
}

TEST(ImapView, FirstLoginCreatesTheSpecialUseMailboxes) {
  Fixture f;
  queue::Batch b;
  EXPECT_TRUE(set_up(f.state, b, kNow));
  for (const char* name : {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"})
    ASSERT_NE(f.state.find(name), nullptr) << name;
  EXPECT_TRUE(f.state.find("Sent")->attributes & kUseSent);
  EXPECT_TRUE(f.state.find("Archive")->attributes & kUseArchive);
  EXPECT_TRUE(f.state.find("INBOX")->attributes & kSetUp);
  // Once only: a user who deletes Junk does not get it back.
  queue::Batch d;
  ASSERT_TRUE(f.state.delete_mailbox(d, "Junk").ok());
  queue::Batch again;
  EXPECT_FALSE(set_up(f.state, again, kNow));
  EXPECT_EQ(f.state.find("Junk"), nullptr);
}

}  // namespace
}  // namespace ringmta::access::imap_view
