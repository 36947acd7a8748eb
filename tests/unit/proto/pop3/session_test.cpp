// tests/unit/proto/pop3/session_test.cpp — pop3::ServerSession driven by hand, one
// host answer at a time: the Actions and states per command, what the host
// is asked (and when not), answers that arrive in the wrong phase, the
// resets of STLS, timeout and shutdown in every situation.
#include <gtest/gtest.h>

#include <string>

#include "proto/pop3/server_session.h"

using namespace ringmta::pop3;

namespace {

struct Fixture {
  explicit Fixture(ClientInfo client = plaintext(), ServerConfig cfg = {}) {
    cfg.hostname = "pop.test";
    s = std::make_unique<ServerSession>(std::make_shared<ServerConfig>(cfg), client);
    s->start();
    EXPECT_EQ(s->take_output(), "+OK pop.test POP3 server ready\r\n");
  }
  static ClientInfo plaintext() {
    ClientInfo c;
    c.allow_plaintext_auth = true;
    return c;
  }
  // Log in as alice with three messages "m1".."m3" of 10, 20, 30 octets.
  void login() {
    EXPECT_EQ(s->feed("USER alice\r\nPASS pw\r\n"), Action::AuthCheck);
    EXPECT_EQ(s->auth_done(AuthResult::Ok, "alice@example.net"), Action::LoadMaildrop);
    EXPECT_EQ(s->maildrop_loaded({{10, "m1"}, {20, "m2"}, {30, "m3"}}), Action::NeedInput);
    EXPECT_EQ(s->take_output(), "+OK Send PASS\r\n+OK Logged in, 3 messages (60 octets)\r\n");
  }
  std::unique_ptr<ServerSession> s;
};

TEST(Pop3Session, StatesFromAuthorizationThroughUpdate) {
  Fixture f;
  EXPECT_EQ(f.s->state(), State::Authorization);
  EXPECT_EQ(f.s->feed("USER alice\r\n"), Action::NeedInput);
  EXPECT_EQ(f.s->feed("PASS secret word\r\n"), Action::AuthCheck);
  EXPECT_EQ(f.s->phase(), Phase::AwaitAuth);
  EXPECT_EQ(f.s->auth_request().user, "alice");
  EXPECT_EQ(f.s->auth_request().password, "secret word");
  EXPECT_FALSE(f.s->wants_input());
  EXPECT_EQ(f.s->resume(), Action::NeedInput);  // announced once
  EXPECT_EQ(f.s->auth_done(AuthResult::Ok), Action::LoadMaildrop);
  EXPECT_TRUE(f.s->auth_request().password.empty()) << "password forgotten";
  EXPECT_EQ(f.s->user(), "alice");  // no mailbox given: the login name
  EXPECT_EQ(f.s->state(), State::Authorization);
  EXPECT_EQ(f.s->maildrop_loaded({{5, "a"}, {7, "b"}}), Action::NeedInput);
  EXPECT_EQ(f.s->state(), State::Transaction);
  EXPECT_EQ(f.s->message_count(), 2u);
  EXPECT_EQ(f.s->feed("DELE 2\r\nQUIT\r\n"), Action::Commit);
  EXPECT_EQ(f.s->state(), State::Update);
  EXPECT_EQ(f.s->deletions(), std::vector<size_t>{1});
  EXPECT_EQ(f.s->live_count(), 1u);
  EXPECT_EQ(f.s->commit_done(true), Action::Close);
  EXPECT_EQ(f.s->state(), State::Closed);
  EXPECT_EQ(f.s->take_output(),
            "+OK Send PASS\r\n+OK Logged in, 2 messages (12 octets)\r\n+OK Message 2 deleted\r\n"
            "+OK pop.test POP3 server signing off (1 message left)\r\n");
  EXPECT_EQ(f.s->feed("NOOP\r\n"), Action::Close);
  EXPECT_FALSE(f.s->has_output());
}

TEST(Pop3Session, PipelinedCommandsWaitForTheHostAndRunInOrder) {
  Fixture f;
  EXPECT_EQ(f.s->feed("USER alice\r\nPASS pw\r\nSTAT\r\nDELE 1\r\nLIST\r\nQU"), Action::AuthCheck);
  EXPECT_EQ(f.s->take_output(), "+OK Send PASS\r\n");
  EXPECT_GT(f.s->buffered_input(), 0u);
  EXPECT_EQ(f.s->feed("IT\r\n"), Action::NeedInput);  // buffered while the host works
  EXPECT_FALSE(f.s->has_output());
  EXPECT_EQ(f.s->auth_done(AuthResult::Ok), Action::LoadMaildrop);
  EXPECT_EQ(f.s->maildrop_loaded({{3, "x"}, {4, "y"}}), Action::Commit);
  EXPECT_EQ(f.s->take_output(),
            "+OK Logged in, 2 messages (7 octets)\r\n+OK 2 7\r\n+OK Message 1 deleted\r\n"
            "+OK 1 message (4 octets)\r\n2 4\r\n.\r\n");
  EXPECT_EQ(f.s->commit_done(true), Action::Close);
}

TEST(Pop3Session, AnswersOutsideTheirPhaseAreIgnored) {
  Fixture f;
  EXPECT_EQ(f.s->auth_done(AuthResult::Ok), Action::NeedInput);
  EXPECT_EQ(f.s->maildrop_loaded({{1, "a"}}), Action::NeedInput);
  EXPECT_EQ(f.s->message_data("x", true), Action::NeedInput);
  EXPECT_EQ(f.s->message_failed(), Action::NeedInput);
  EXPECT_EQ(f.s->commit_done(true), Action::NeedInput);
  EXPECT_EQ(f.s->tls_started(), Action::NeedInput);
  EXPECT_FALSE(f.s->has_output());
  EXPECT_EQ(f.s->state(), State::Authorization);
  EXPECT_FALSE(f.s->tls_active());
}

TEST(Pop3Session, FailedLoginsAndMaildropRefusals) {
  Fixture f;
  f.s->feed("USER a\r\nPASS b\r\n");
  EXPECT_EQ(f.s->auth_done(AuthResult::Invalid), Action::NeedInput);
  f.s->feed("USER a\r\nPASS b\r\n");
  EXPECT_EQ(f.s->auth_done(AuthResult::TempFail), Action::NeedInput);
  f.s->feed("USER a\r\nPASS b\r\n");
  EXPECT_EQ(f.s->auth_done(AuthResult::Ok), Action::LoadMaildrop);
  EXPECT_EQ(f.s->maildrop_refused(MaildropError::InUse), Action::NeedInput);
  EXPECT_EQ(f.s->user(), "") << "the refused maildrop is not the session's";
  EXPECT_EQ(f.s->state(), State::Authorization);
  EXPECT_EQ(f.s->take_output(),
            "+OK Send PASS\r\n-ERR [AUTH] Authentication failed\r\n"
            "+OK Send PASS\r\n-ERR [SYS/TEMP] Temporary authentication failure, try again later\r\n"
            "+OK Send PASS\r\n-ERR [IN-USE] Maildrop is locked by another session\r\n");
  f.s->feed("USER a\r\nPASS b\r\n");
  EXPECT_EQ(f.s->auth_done(AuthResult::Throttled), Action::Close);
  EXPECT_EQ(f.s->take_output(),
            "+OK Send PASS\r\n-ERR [SYS/TEMP] Too many failed login attempts, try again later\r\n");
}

TEST(Pop3Session, DuplicateOrInvalidUidlsAreNeverShown) {
  for (auto list : {std::vector<MessageInfo>{{1, "a"}, {2, "a"}}, std::vector<MessageInfo>{{1, "a\r\nb"}},
                    std::vector<MessageInfo>{{1, ""}}, std::vector<MessageInfo>{{1, std::string(71, 'u')}}}) {
    Fixture f;
    f.s->feed("USER a\r\nPASS b\r\nUIDL\r\n");
    f.s->auth_done(AuthResult::Ok);
    EXPECT_EQ(f.s->maildrop_loaded(list), Action::Close);
    EXPECT_EQ(f.s->take_output(), "+OK Send PASS\r\n-ERR [SYS/PERM] Maildrop has invalid unique ids\r\n");
  }
  EXPECT_TRUE(valid_uidl(std::string(70, '~')));
  EXPECT_TRUE(valid_uidl("!"));
  EXPECT_FALSE(valid_uidl("a b"));
  EXPECT_FALSE(valid_uidl("\x7f"));
}

TEST(Pop3Session, RetrAsksForChunksAndHonoursOnlyWhatWasAsked) {
  ServerConfig cfg;
  cfg.fetch_chunk = 4;
  Fixture f(Fixture::plaintext(), cfg);
  f.login();
  EXPECT_EQ(f.s->feed("RETR 2\r\n"), Action::Fetch);
  EXPECT_EQ(f.s->fetch_request().index, 1u);
  EXPECT_EQ(f.s->fetch_request().offset, 0u);
  EXPECT_EQ(f.s->fetch_request().max_bytes, 4u);
  EXPECT_FALSE(f.s->has_output()) << "+OK waits for the first bytes";
  // The host hands over more than asked: only 4 bytes are used, the rest is asked again.
  EXPECT_EQ(f.s->message_data("A: b\r\n\r\nx", true), Action::Fetch);
  EXPECT_EQ(f.s->fetch_request().offset, 4u);
  EXPECT_EQ(f.s->take_output(), "+OK 20 octets\r\nA: b");
  EXPECT_EQ(f.s->message_data("\r\n\r\n", false), Action::Fetch);
  EXPECT_EQ(f.s->fetch_request().offset, 8u);
  EXPECT_EQ(f.s->message_data(".", true), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "\r\n\r\n..\r\n.\r\n");
  EXPECT_EQ(f.s->phase(), Phase::Command);
}

TEST(Pop3Session, TopStopsAskingOnceItHasItsLines) {
  ServerConfig cfg;
  cfg.fetch_chunk = 8;
  Fixture f(Fixture::plaintext(), cfg);
  f.login();
  EXPECT_EQ(f.s->feed("TOP 1 0\r\nNOOP\r\n"), Action::Fetch);
  EXPECT_EQ(f.s->message_data("S: x\r\n\r\n", false), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "+OK Top of message follows\r\nS: x\r\n\r\n.\r\n+OK\r\n");
}

TEST(Pop3Session, FetchFailures) {
  Fixture f;
  f.login();
  EXPECT_EQ(f.s->feed("RETR 1\r\n"), Action::Fetch);
  EXPECT_EQ(f.s->message_failed(), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "-ERR [SYS/TEMP] Unable to read the message, try again later\r\n");
  EXPECT_EQ(f.s->feed("RETR 1\r\n"), Action::Fetch);
  EXPECT_EQ(f.s->message_data("", false), Action::NeedInput) << "empty non-end answer = failure";
  f.s->take_output();
  EXPECT_EQ(f.s->feed("RETR 1\r\nDELE 1\r\nQUIT\r\n"), Action::Fetch);
  EXPECT_EQ(f.s->message_data("abc", false), Action::Fetch);
  EXPECT_EQ(f.s->message_failed(), Action::Close);
  EXPECT_EQ(f.s->take_output(), "+OK 10 octets\r\nabc") << "the response is cut off, never faked";
  EXPECT_TRUE(f.s->deletions().empty()) << "the pipelined DELE/QUIT never ran";
}

TEST(Pop3Session, DeleteMarksOnlyAndRsetUnmarks) {
  Fixture f;
  f.login();
  f.s->feed("DELE 1\r\nDELE 3\r\n");
  EXPECT_EQ(f.s->deletions(), (std::vector<size_t>{0, 2}));
  f.s->feed("RSET\r\n");
  EXPECT_TRUE(f.s->deletions().empty());
  f.s->feed("DELE 2\r\n");
  f.s->take_output();
  EXPECT_EQ(f.s->feed("STAT\r\nRETR 2\r\nTOP 2 1\r\nDELE 2\r\nLIST 2\r\nUIDL 2\r\n"), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(),
            "+OK 2 40\r\n-ERR Message 2 already deleted\r\n-ERR Message 2 already deleted\r\n"
            "-ERR Message 2 already deleted\r\n-ERR Message 2 already deleted\r\n"
            "-ERR Message 2 already deleted\r\n");
}

TEST(Pop3Session, QuitWithoutDeletionsNeedsNoCommitAndFailedCommitSaysSo) {
  {
    Fixture f;
    f.login();
    EXPECT_EQ(f.s->feed("QUIT\r\n"), Action::Close);
    EXPECT_EQ(f.s->take_output(), "+OK pop.test POP3 server signing off (3 messages left)\r\n");
  }
  {
    Fixture f;
    f.login();
    EXPECT_EQ(f.s->feed("DELE 1\r\nQUIT\r\n"), Action::Commit);
    EXPECT_EQ(f.s->commit_done(false), Action::Close);
    EXPECT_EQ(f.s->take_output(),
              "+OK Message 1 deleted\r\n-ERR [SYS/TEMP] Deleted messages not removed, try again later\r\n");
  }
}

TEST(Pop3Session, TimeoutClosesWithoutUpdate) {
  Fixture f;
  f.login();
  f.s->feed("DELE 1\r\n");
  f.s->take_output();
  EXPECT_EQ(f.s->on_timeout(), Action::Close);
  EXPECT_EQ(f.s->take_output(), "-ERR Autologout; idle for too long\r\n");
  EXPECT_EQ(f.s->state(), State::Closed);
  // Inside a multi-line response no status line is mixed into the message.
  Fixture g;
  g.login();
  EXPECT_EQ(g.s->feed("RETR 1\r\n"), Action::Fetch);
  g.s->message_data("12345", false);
  g.s->take_output();
  EXPECT_EQ(g.s->on_timeout(), Action::Close);
  EXPECT_FALSE(g.s->has_output());
}

TEST(Pop3Session, ShutdownFinishesTheCurrentCommandFirst) {
  Fixture f;
  f.login();
  EXPECT_EQ(f.s->feed("RETR 1\r\nSTAT\r\n"), Action::Fetch);
  EXPECT_EQ(f.s->on_shutdown(), Action::NeedInput);
  EXPECT_EQ(f.s->message_data("0123456789", true), Action::Close);
  EXPECT_EQ(f.s->take_output(),
            "+OK 10 octets\r\n0123456789\r\n.\r\n-ERR [SYS/TEMP] Server shutting down, closing connection\r\n");
  Fixture g;
  EXPECT_EQ(g.s->on_shutdown(), Action::Close);
}

TEST(Pop3Session, StlsResetsWhatWasLearntInPlaintext) {
  ClientInfo c;
  c.stls_available = true;
  Fixture f(c);
  EXPECT_EQ(f.s->feed("CAPA\r\n"), Action::NeedInput);
  const std::string before = f.s->take_output();
  EXPECT_NE(before.find("\r\nSTLS\r\n"), std::string::npos);
  EXPECT_EQ(before.find("\r\nUSER\r\n"), std::string::npos) << "no plaintext login offered";
  EXPECT_EQ(before.find("SASL"), std::string::npos);
  EXPECT_EQ(f.s->feed("USER alice\r\n"), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n");
  EXPECT_EQ(f.s->feed("STLS\r\nUSER alice\r\n"), Action::StartTls);
  EXPECT_EQ(f.s->take_output(), "+OK Begin TLS negotiation\r\n");
  EXPECT_EQ(f.s->buffered_input(), 0u) << "plaintext after STLS is dropped";
  EXPECT_EQ(f.s->feed("PASS x\r\n"), Action::NeedInput);
  EXPECT_FALSE(f.s->has_output());
  EXPECT_EQ(f.s->tls_started(), Action::NeedInput);
  EXPECT_TRUE(f.s->tls_active());
  EXPECT_FALSE(f.s->has_output()) << "no second greeting (RFC 2595 §4)";
  f.s->feed("CAPA\r\nPASS x\r\n");
  const std::string after = f.s->take_output();
  EXPECT_EQ(after.find("STLS"), std::string::npos);
  EXPECT_NE(after.find("\r\nUSER\r\n"), std::string::npos);
  EXPECT_NE(after.find("\r\nSASL PLAIN\r\n"), std::string::npos);
  EXPECT_NE(after.find("-ERR Send USER first\r\n"), std::string::npos);
}

TEST(Pop3Session, AuthPlainContinuation) {
  Fixture f;
  EXPECT_EQ(f.s->feed("AUTH PLAIN\r\n"), Action::NeedInput);
  EXPECT_EQ(f.s->phase(), Phase::SaslResponse);
  EXPECT_EQ(f.s->take_output(), "+ \r\n");
  EXPECT_EQ(f.s->feed("AGFsaWNlAHMzY3JldA==\r\n"), Action::AuthCheck);  // \0alice\0s3cret
  EXPECT_EQ(f.s->auth_request().user, "alice");
  EXPECT_EQ(f.s->auth_request().password, "s3cret");
  EXPECT_EQ(f.s->auth_done(AuthResult::Ok), Action::LoadMaildrop);
}

TEST(Pop3Session, TooManyErrorsCloseWithoutUpdate) {
  ServerConfig cfg;
  cfg.max_errors = 3;
  Fixture f(Fixture::plaintext(), cfg);
  f.login();
  EXPECT_EQ(f.s->feed("DELE 1\r\nRETR 9\r\nDELE 1\r\nXX\r\nRETR x\r\nNOOP\r\nBAD\r\nQUIT\r\n"), Action::Close);
  EXPECT_EQ(f.s->take_output(),
            "+OK Message 1 deleted\r\n-ERR No such message\r\n-ERR Message 1 already deleted\r\n"
            "-ERR Unknown command\r\n-ERR Invalid message number\r\n+OK\r\n-ERR Unknown command\r\n"
            "-ERR Too many bad commands, closing connection\r\n");
  EXPECT_EQ(f.s->state(), State::Closed);
}

TEST(Pop3Session, OverlongLinesAreNeverExecuted) {
  ServerConfig cfg;
  cfg.max_line_length = 20;
  Fixture f(Fixture::plaintext(), cfg);
  f.login();
  // "DELE 1" hidden at the end of a long line must not run.
  EXPECT_EQ(f.s->feed(std::string(30, ' ')), Action::NeedInput);
  EXPECT_LE(f.s->buffered_input(), 20u);
  EXPECT_EQ(f.s->feed("DELE 1\r\nDELE 2\r\n"), Action::NeedInput);
  EXPECT_EQ(f.s->take_output(), "-ERR Line too long\r\n+OK Message 2 deleted\r\n");
}

}  // namespace
