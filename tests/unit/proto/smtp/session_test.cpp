// tests/unit/proto/smtp/session_test.cpp — ServerSession behaviour that golden
// transcripts cannot express: shutdown, timeout, failed commits, input held
// while a commit is pending, queue-id calls, and buffer release.
#include <gtest/gtest.h>

#include "proto/smtp/server_session.h"
#include "tests/unit/proto/smtp/golden_harness.h"

using namespace ringmta::smtp;
using namespace ringmta::smtp::testing;

namespace {

struct Fixture {
  GoldenConfig cfg = golden_config("");
  int ids = 0;
  std::unique_ptr<ServerSession> s;
  Fixture() {
    Hooks h;
    h.new_queue_id = [this] { return "Q" + std::to_string(++ids); };
    h.now_unix = [] { return kFixedNow; };
    s = std::make_unique<ServerSession>(cfg.server, cfg.client, h);
    s->start();
    s->take_output();
  }
};

const char* kTxn =
    "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nhi\r\n.\r\n";

TEST(Session, ShutdownIdleCloses) {
  Fixture f;
  EXPECT_EQ(f.s->on_shutdown(), Action::Close);
  EXPECT_EQ(f.s->take_output(), "421 4.3.2 mx.example.net Service shutting down\r\n");
  EXPECT_EQ(f.s->feed("NOOP\r\n"), Action::Close);
  EXPECT_FALSE(f.s->has_output());
}

TEST(Session, ShutdownInsideTransactionFinishesIt) {
  Fixture f;
  EXPECT_EQ(f.s->feed("EHLO c\r\nMAIL FROM:<a@c.example>\r\n"), Action::NeedInput);
  f.s->take_output();
  EXPECT_TRUE(f.s->in_transaction());
  EXPECT_EQ(f.s->on_shutdown(), Action::NeedInput);
  EXPECT_FALSE(f.s->has_output());
  EXPECT_EQ(f.s->feed("RCPT TO:<b@example.net>\r\nDATA\r\nbody\r\n.\r\nNOOP\r\n"), Action::Commit);
  EXPECT_EQ(f.s->take_output(), "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(f.s->commit_done(true), Action::Close);
  EXPECT_EQ(f.s->take_output(),
            "250 2.0.0 Ok: queued as Q1\r\n421 4.3.2 mx.example.net Service shutting down\r\n");
}

TEST(Session, ShutdownAfterRsetCloses) {
  Fixture f;
  f.s->feed("EHLO c\r\nMAIL FROM:<a@c.example>\r\n");
  f.s->take_output();
  EXPECT_EQ(f.s->on_shutdown(), Action::NeedInput);
  EXPECT_EQ(f.s->feed("RSET\r\n"), Action::Close);
  EXPECT_EQ(f.s->take_output(), "250 2.0.0 Ok\r\n421 4.3.2 mx.example.net Service shutting down\r\n");
}

TEST(Session, TimeoutCloses) {
  Fixture f;
  f.s->feed("EHLO c\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.net>\r\nDATA\r\npartial");
  f.s->take_output();
  EXPECT_EQ(f.s->on_timeout(), Action::Close);
  EXPECT_EQ(f.s->take_output(), "421 4.4.2 mx.example.net Error: timeout exceeded\r\n");
  EXPECT_EQ(f.s->phase(), Phase::Closed);
  EXPECT_EQ(f.s->on_timeout(), Action::Close);
  EXPECT_FALSE(f.s->has_output());
}

TEST(Session, FailedCommitSendsErrorAndResets) {
  Fixture f;
  EXPECT_EQ(f.s->feed(kTxn), Action::Commit);
  f.s->take_output();
  EXPECT_EQ(f.s->commit_done(false, "451 4.3.0 Queue write failed"), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "451 4.3.0 Queue write failed\r\n");
  EXPECT_FALSE(f.s->in_transaction());
  EXPECT_TRUE(f.s->transaction().recipients.empty());
  EXPECT_EQ(f.s->feed("RCPT TO:<b@example.net>\r\n"), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(f.s->feed("MAIL FROM:<a@c.example>\r\n"), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "250 2.1.0 Ok\r\n");  // HELO kept
}

TEST(Session, InputHeldWhileCommitPendingAndCommitReturnedOnce) {
  Fixture f;
  EXPECT_EQ(f.s->feed(std::string(kTxn) + "NOOP\r\n"), Action::Commit);
  EXPECT_EQ(f.s->phase(), Phase::AwaitCommit);
  EXPECT_EQ(f.s->buffered_input(), 6u);
  f.s->take_output();
  EXPECT_EQ(f.s->feed("QUIT\r\n"), Action::NeedInput);  // not a second Commit
  EXPECT_FALSE(f.s->has_output());
  EXPECT_EQ(f.s->buffered_input(), 12u);
  EXPECT_EQ(f.s->transaction().queue_id, "Q1");
  EXPECT_EQ(f.s->commit_done(true), Action::Close);
  EXPECT_EQ(f.s->take_output(), "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
  EXPECT_EQ(f.s->buffered_input(), 0u);
  EXPECT_EQ(f.ids, 1);
}

TEST(Session, QueueIdOncePerMessageAndReceivedHeader) {
  Fixture f;
  EXPECT_EQ(f.s->feed(kTxn), Action::Commit);
  EXPECT_EQ(f.ids, 1);
  const std::string& m = f.s->transaction().message;
  EXPECT_EQ(m,
            "Received: from c.example ([127.0.0.1])\r\n\tby mx.example.net (ringmta) with ESMTP "
            "id Q1\r\n\tfor <b@example.net>; Sun, 22 Nov 2026 21:56:58 +0000\r\nhi\r\n");
  f.s->commit_done(true);
  EXPECT_EQ(f.s->feed("MAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.net>\r\n"
                      "RCPT TO:<c@example.net>\r\nBDAT 2\r\nab"),
            Action::NeedInput);
  EXPECT_EQ(f.ids, 2);
  EXPECT_EQ(f.s->feed("BDAT 1 LAST\r\nc"), Action::Commit);
  EXPECT_EQ(f.ids, 2);
  EXPECT_EQ(f.s->transaction().message,
            "Received: from c.example ([127.0.0.1])\r\n\tby mx.example.net (ringmta) with ESMTP "
            "id Q2; Sun, 22 Nov 2026 21:56:58 +0000\r\nabc");
}

TEST(Session, BuffersReleasedWhenIdle) {
  Fixture f;
  std::string big = "EHLO c\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n";
  big += std::string(8000, 'x') + "\r\n.\r\n";
  // Split so that part of the body passes through the internal buffer.
  EXPECT_EQ(f.s->feed(big.substr(0, 30)), Action::NeedInput);
  EXPECT_GT(f.s->buffered_input(), 0u);
  EXPECT_EQ(f.s->feed(big.substr(30)), Action::Commit);
  EXPECT_EQ(f.s->buffered_input(), 0u);
  f.s->commit_done(true);
  EXPECT_TRUE(f.s->transaction().message.empty());
  EXPECT_EQ(f.s->transaction().message.capacity(), std::string().capacity());
}

TEST(Session, OverlongLineIsNotBuffered) {
  Fixture f;
  f.s->feed("EHLO c\r\n");
  f.s->take_output();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(f.s->feed(std::string(1000, 'a')), Action::NeedInput);
  EXPECT_EQ(f.s->buffered_input(), 0u);
  EXPECT_FALSE(f.s->has_output());
  f.s->feed("\r\nNOOP\r\n");
  EXPECT_EQ(f.s->take_output(), "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(Session, CommitDoneWithoutCommitIsIgnored) {
  Fixture f;
  EXPECT_EQ(f.s->commit_done(true), Action::NeedInput);
  EXPECT_FALSE(f.s->has_output());
}

}  // namespace

// queue.min_free_space (limits/disk_guard.h): while Hooks::storage_low says
// so, MAIL gets 452 4.3.1, not counted as a client error; once it clears,
// the same session goes on. Syntax errors keep their own replies.
TEST(Session, StorageLowRefusesMailWith452) {
  GoldenConfig cfg = golden_config("");
  bool low = true;
  int asked = 0;
  Hooks h;
  h.new_queue_id = [] { return std::string("Q1"); };
  h.now_unix = [] { return kFixedNow; };
  h.storage_low = [&] {
    ++asked;
    return low;
  };
  ServerSession s(cfg.server, cfg.client, h);
  s.start();
  s.take_output();
  EXPECT_EQ(s.feed("EHLO c.example\r\n"), Action::NeedInput);
  s.take_output();
  for (int i = 0; i < 30; ++i) {  // more than max_errors (20): never disconnected for it
    EXPECT_EQ(s.feed("MAIL FROM:<a@c.example>\r\n"), Action::NeedInput) << i;
    EXPECT_EQ(s.take_output(), "452 4.3.1 Insufficient system storage\r\n") << i;
    EXPECT_FALSE(s.in_transaction());
  }
  EXPECT_EQ(s.feed("MAIL FROM:\r\n"), Action::NeedInput);  // bad syntax: its own 501, storage not asked
  EXPECT_EQ(s.take_output().substr(0, 4), "501 ");
  EXPECT_EQ(s.feed("RCPT TO:<b@example.net>\r\n"), Action::NeedInput);  // no transaction started
  EXPECT_EQ(s.take_output().substr(0, 4), "503 ");
  EXPECT_EQ(asked, 30);
  low = false;
  EXPECT_EQ(s.feed("MAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nhi\r\n.\r\n"), Action::Commit);
  EXPECT_EQ(s.commit_done(true), Action::NeedInput);
  EXPECT_NE(s.take_output().find("250 2.0.0 Ok: queued as Q1"), std::string::npos);
}

// The glue's refusal at the end of data (the disk filled up during DATA):
// a failed commit with the 452, and the session takes the next MAIL.
TEST(Session, StorageLowAtEndOfDataIs452AndTheSessionGoesOn) {
  Fixture f;
  EXPECT_EQ(f.s->feed(kTxn), Action::Commit);
  f.s->take_output();
  EXPECT_EQ(f.s->commit_done(false, "452 4.3.1 Insufficient system storage"), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "452 4.3.1 Insufficient system storage\r\n");
  EXPECT_FALSE(f.s->in_transaction());
  EXPECT_EQ(f.s->feed("MAIL FROM:<a@c.example>\r\n"), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "250 2.1.0 Ok\r\n");
}
