// tests/unit/relay/outbound_auth_test.cpp — the client side of SMTP AUTH for
// upstream logins (relay/outbound_auth.h): mechanism choice, the exact
// command lines of PLAIN and LOGIN, and what each reply means. Replies come
// from the real smtp::ReplyParser.
#include "relay/outbound_auth.h"

#include <gtest/gtest.h>

#include "base/base64.h"

namespace ringmta::relay {
namespace {

smtp::Reply reply(std::string_view text) {
  smtp::ReplyParser p;
  std::string_view in = text;
  EXPECT_EQ(p.feed(in), smtp::ReplyParser::Status::Complete) << text;
  return p.take();
}

TEST(ClientAuth, ChoosesPlainThenLogin) {
  ClientAuth a("u", "p");
  EXPECT_TRUE(a.choose({"LOGIN", "PLAIN", "CRAM-MD5"}));
  EXPECT_EQ(a.mechanism(), "PLAIN");
  EXPECT_TRUE(a.choose({"LOGIN"}));
  EXPECT_EQ(a.mechanism(), "LOGIN");
  EXPECT_FALSE(a.choose({"CRAM-MD5", "XOAUTH2"}));
  EXPECT_FALSE(a.choose({}));
}

TEST(ClientAuth, PlainSuccess) {
  ClientAuth a("relay@example.org", "pa:ss word");
  ASSERT_TRUE(a.choose({"PLAIN"}));
  const std::string line = a.start();
  ASSERT_EQ(line.rfind("AUTH PLAIN ", 0), 0u);
  ASSERT_EQ(line.substr(line.size() - 2), "\r\n");
  auto decoded = base::base64_decode(line.substr(11, line.size() - 13));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, std::string("\0relay@example.org\0pa:ss word", 29));
  std::string out;
  EXPECT_EQ(a.on_reply(reply("235 2.7.0 Authentication successful\r\n"), out), ClientAuth::Step::Done);
  EXPECT_TRUE(out.empty());
}

TEST(ClientAuth, LoginSequence) {
  ClientAuth a("user", "secret");
  ASSERT_TRUE(a.choose({"LOGIN"}));
  EXPECT_EQ(a.start(), "AUTH LOGIN\r\n");
  std::string out;
  EXPECT_EQ(a.on_reply(reply("334 VXNlcm5hbWU6\r\n"), out), ClientAuth::Step::Continue);
  EXPECT_EQ(out, base::base64_encode("user") + "\r\n");
  EXPECT_EQ(a.on_reply(reply("334 UGFzc3dvcmQ6\r\n"), out), ClientAuth::Step::Continue);
  EXPECT_EQ(out, base::base64_encode("secret") + "\r\n");
  // A third challenge is not LOGIN any more.
  EXPECT_EQ(a.on_reply(reply("334 more\r\n"), out), ClientAuth::Step::Failed);
}

TEST(ClientAuth, RefusalsFail) {
  for (const char* r : {"535 5.7.8 Authentication credentials invalid\r\n", "454 4.7.0 Temporary failure\r\n",
                        "534 5.7.9 Mechanism too weak\r\n", "250 what\r\n"}) {
    ClientAuth a("user", "secret");
    ASSERT_TRUE(a.choose({"PLAIN"}));
    a.start();
    std::string out;
    EXPECT_EQ(a.on_reply(reply(r), out), ClientAuth::Step::Failed) << r;
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(a.failure().str().find("secret"), std::string::npos);
  }
  // PLAIN sent its response already: a 334 is not expected.
  ClientAuth a("user", "secret");
  ASSERT_TRUE(a.choose({"PLAIN"}));
  a.start();
  std::string out;
  EXPECT_EQ(a.on_reply(reply("334 \r\n"), out), ClientAuth::Step::Failed);
}

}  // namespace
}  // namespace ringmta::relay
