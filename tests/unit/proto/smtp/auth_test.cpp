// tests/unit/proto/smtp/auth_test.cpp — SMTP AUTH pieces that golden transcripts
// cannot show: base64 and PLAIN parsing edge cases, input pipelined behind
// an AUTH held until auth_done(), the password handed out and cleared,
// shutdown and timeout while a check is pending.
#include <gtest/gtest.h>

#include "proto/sasl/sasl.h"
#include "proto/smtp/server_session.h"
#include "tests/unit/proto/smtp/golden_harness.h"

using namespace ringmta::sasl;
using namespace ringmta::smtp;
using namespace ringmta::smtp::testing;

namespace {

TEST(Base64, RoundTripAndStrictness) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0x\0y", 4), std::string("\xff\xfe\x00", 3)})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode(std::string("\0a\0b", 4)), "AGEAYg==");
  EXPECT_FALSE(base64_decode("AGEAYg"));      // padding required
  EXPECT_FALSE(base64_decode("AGEAYg=="
                             "AA=="));        // '=' only at the very end
  EXPECT_FALSE(base64_decode("AG=AYg=="));
  EXPECT_FALSE(base64_decode("AGEA Yg="));    // no whitespace
  EXPECT_FALSE(base64_decode("A==="));
  EXPECT_FALSE(base64_decode("AGE-"));
}

TEST(Plain, Forms) {
  auto c = parse_plain(std::string("\0u\0p", 4));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "u");
  EXPECT_EQ(c->password, "p");
  EXPECT_TRUE(parse_plain(std::string("u\0u\0p", 5)));         // authzid == authcid
  EXPECT_FALSE(parse_plain(std::string("x\0u\0p", 5)));        // someone else's identity
  EXPECT_FALSE(parse_plain("u"));
  EXPECT_FALSE(parse_plain(std::string("\0u", 2)));
  EXPECT_FALSE(parse_plain(std::string("\0u\0p\0", 5)));
}

struct Fixture {
  GoldenConfig cfg = golden_config("auth=1\nplaintext_auth=1\n");
  std::unique_ptr<ServerSession> s;
  Fixture() {
    Hooks h;
    h.new_queue_id = [] { return std::string("Q1"); };
    h.now_unix = [] { return kFixedNow; };
    s = std::make_unique<ServerSession>(cfg.server, cfg.client, h);
    s->start();
    s->take_output();
  }
};

const std::string kAuth = "AUTH PLAIN " + base64_encode(std::string("\0alice\0pw", 9)) + "\r\n";

TEST(AuthSession, PipelinedInputWaitsForTheVerdict) {
  Fixture f;
  ASSERT_EQ(f.s->feed("EHLO c\r\n"), Action::NeedInput);
  f.s->take_output();
  EXPECT_EQ(f.s->feed(kAuth + "MAIL FROM:<a@c.example>\r\nRCPT TO:<x@other.example>\r\n"), Action::AuthCheck);
  EXPECT_EQ(f.s->phase(), Phase::AwaitAuth);
  EXPECT_EQ(f.s->auth_request().user, "alice");
  EXPECT_EQ(f.s->auth_request().password, "pw");
  EXPECT_EQ(f.s->take_output(), "");  // nothing answered before the check
  EXPECT_EQ(f.s->feed("NOOP\r\n"), Action::NeedInput);  // held, not a second AuthCheck
  EXPECT_EQ(f.s->auth_done(AuthResult::Ok), Action::NeedInput);
  EXPECT_EQ(f.s->auth_request().password, "");
  EXPECT_EQ(f.s->auth_identity(), "alice");
  EXPECT_EQ(f.s->take_output(),
            "235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(f.s->transaction().auth_identity, "alice");
}

TEST(AuthSession, FailureKeepsRelayClosed) {
  Fixture f;
  f.s->feed("EHLO c\r\n");
  f.s->take_output();
  EXPECT_EQ(f.s->feed(kAuth + "MAIL FROM:<a@c.example>\r\nRCPT TO:<x@other.example>\r\n"), Action::AuthCheck);
  EXPECT_EQ(f.s->auth_done(AuthResult::Invalid), Action::NeedInput);
  EXPECT_EQ(f.s->auth_identity(), "");
  EXPECT_EQ(f.s->take_output(),
            "535 5.7.8 Authentication credentials invalid\r\n250 2.1.0 Ok\r\n"
            "550 5.7.1 <x@other.example>: Relay access denied\r\n");
}

TEST(AuthSession, TooManyFailuresDropsPipelinedInput) {
  Fixture f;
  f.s->feed("EHLO c\r\n");
  f.s->take_output();
  EXPECT_EQ(f.s->feed(kAuth + "NOOP\r\n"), Action::AuthCheck);
  EXPECT_EQ(f.s->auth_done(AuthResult::TooManyFailures), Action::Close);
  EXPECT_EQ(f.s->take_output(), "421 4.7.0 mx.example.net Error: too many failed authentication attempts\r\n");
  EXPECT_EQ(f.s->buffered_input(), 0u);
  EXPECT_EQ(f.s->feed("NOOP\r\n"), Action::Close);
}

TEST(AuthSession, ShutdownWhileCheckingClosesAfterTheVerdict) {
  Fixture f;
  f.s->feed("EHLO c\r\n");
  f.s->take_output();
  EXPECT_EQ(f.s->feed(kAuth), Action::AuthCheck);
  EXPECT_EQ(f.s->on_shutdown(), Action::NeedInput);  // AwaitAuth is not "idle"... the verdict comes first
  EXPECT_EQ(f.s->auth_done(AuthResult::Ok), Action::Close);
  EXPECT_EQ(f.s->take_output(),
            "235 2.7.0 Authentication successful\r\n421 4.3.2 mx.example.net Service shutting down\r\n");
}

TEST(AuthSession, LateVerdictIsIgnored) {
  Fixture f;
  f.s->feed("EHLO c\r\n");
  f.s->take_output();
  EXPECT_EQ(f.s->feed(kAuth), Action::AuthCheck);
  EXPECT_EQ(f.s->on_timeout(), Action::Close);
  EXPECT_EQ(f.s->auth_done(AuthResult::Ok), Action::Close);
  EXPECT_EQ(f.s->auth_identity(), "");
}

}  // namespace
