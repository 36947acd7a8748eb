// tests/unit/proto/smtp/starttls_test.cpp — ServerSession STARTTLS behaviour the
// golden transcripts cannot express: the Action sequence, STARTTLS queued
// behind a pending commit, shutdown during the handshake, implicit TLS.
#include <gtest/gtest.h>

#include "proto/smtp/server_session.h"
#include "tests/unit/proto/smtp/golden_harness.h"

using namespace ringmta::smtp;
using namespace ringmta::smtp::testing;

namespace {

std::unique_ptr<ServerSession> make(bool starttls, int* ids) {
  GoldenConfig cfg = golden_config(starttls ? "starttls=1" : "");
  Hooks h;
  h.new_queue_id = [ids] { return "Q" + std::to_string(++*ids); };
  h.now_unix = [] { return kFixedNow; };
  return std::make_unique<ServerSession>(cfg.server, cfg.client, h);
}

TEST(StartTls, ActionOnceThenInputDiscardedUntilTlsStarted) {
  int ids = 0;
  auto s = make(true, &ids);
  s->start();
  s->take_output();
  EXPECT_EQ(s->feed("EHLO c\r\nSTARTTLS\r\nRSET\r\n"), Action::StartTls);
  EXPECT_NE(s->take_output().find("220 2.0.0 Ready to start TLS\r\n"), std::string::npos);
  EXPECT_EQ(s->phase(), Phase::TlsHandshake);
  EXPECT_EQ(s->buffered_input(), 0u);
  // More plaintext before the handshake: dropped, no reply, no second StartTls.
  EXPECT_EQ(s->feed("NOOP\r\nQUIT\r\n"), Action::NeedInput);
  EXPECT_FALSE(s->has_output());
  EXPECT_EQ(s->tls_started("TLS1.3 X"), Action::NeedInput);
  EXPECT_TRUE(s->tls_active());
  EXPECT_FALSE(s->has_output());
  EXPECT_EQ(s->feed("NOOP\r\n"), Action::NeedInput);
  EXPECT_EQ(s->take_output(), "250 2.0.0 Ok\r\n");
}

TEST(StartTls, QueuedBehindCommitStillDropsTheRest) {
  int ids = 0;
  auto s = make(true, &ids);
  s->start();
  s->take_output();
  EXPECT_EQ(s->feed("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nx\r\n.\r\n"
                    "STARTTLS\r\nRSET\r\nMAIL FROM:<evil@c>\r\n"),
            Action::Commit);
  s->take_output();
  EXPECT_EQ(s->commit_done(true), Action::StartTls);
  EXPECT_EQ(s->take_output(), "250 2.0.0 Ok: queued as Q1\r\n220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(s->buffered_input(), 0u);
  s->tls_started("TLS1.3 X");
  EXPECT_EQ(s->feed("RCPT TO:<b@example.net>\r\n"), Action::NeedInput);
  EXPECT_EQ(s->take_output(), "503 5.5.1 Error: need MAIL command\r\n");
}

TEST(StartTls, ShutdownDuringHandshakeClosesAfterIt) {
  int ids = 0;
  auto s = make(true, &ids);
  s->start();
  s->take_output();
  EXPECT_EQ(s->feed("STARTTLS\r\n"), Action::StartTls);
  s->take_output();
  EXPECT_EQ(s->on_shutdown(), Action::NeedInput);  // nothing can be said in the middle of a handshake
  EXPECT_FALSE(s->has_output());
  EXPECT_EQ(s->tls_started("TLS1.3 X"), Action::Close);
  EXPECT_EQ(s->take_output(), "421 4.3.2 mx.example.net Service shutting down\r\n");
}

TEST(StartTls, ImplicitTlsBeforeGreeting) {
  int ids = 0;
  auto s = make(false, &ids);
  EXPECT_EQ(s->tls_started("TLS1.3 TLS_AES_128_GCM_SHA256"), Action::NeedInput);
  s->start();
  EXPECT_EQ(s->take_output(), "220 mx.example.net ESMTP ringmta\r\n");
  EXPECT_EQ(s->feed("EHLO c\r\nSTARTTLS\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nx\r\n.\r\n"),
            Action::Commit);
  std::string out = s->take_output();
  EXPECT_EQ(out.find("STARTTLS\r\n"), std::string::npos);
  EXPECT_NE(out.find("503 5.5.1 Error: TLS already active\r\n"), std::string::npos);
  EXPECT_NE(s->transaction().message.find("with ESMTPS (TLS1.3 TLS_AES_128_GCM_SHA256) id Q1"), std::string::npos)
      << s->transaction().message;
}

}  // namespace
