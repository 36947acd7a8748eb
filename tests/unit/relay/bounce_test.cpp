// tests/unit/relay/bounce_test.cpp — notices built from recipient outcomes.
#include <gtest/gtest.h>

#include "relay/bounce.h"

namespace ringmta::relay {
namespace {

queue::Envelope original() {
  queue::Envelope e;
  e.id = "0ABCDEFGHJKMNPQR";
  e.sender = "alice@client.test";
  e.arrival_ms = 1'700'000'000'000;
  for (const char* a : {"bob@remote.test", "carol@remote.test", "dave@other.test"}) {
    queue::Recipient r;
    r.address = a;
    e.recipients.push_back(r);
  }
  e.recipients[1].orcpt = "rfc822;carol@original.test";
  return e;
}

NoticeParams params() {
  NoticeParams p;
  p.reporting_mta = "relay.test";
  p.notice_id = "0ABCDEFGHJKMNPQS";
  p.now_ms = 1'700'000'100'000;
  return p;
}

const std::string kBody = "Subject: hello\r\nFrom: alice@client.test\r\n\r\nsecret body\r\n";

TEST(Bounce, OneBounceForSeveralRecipientsFromTheNullSender) {
  NoticeEntry a{0, "5.1.1", "550 5.1.1 no such user", true, "mx.remote.test", "127.0.0.2", "RCPT", 1'700'000'050'000};
  NoticeEntry b{1, "5.2.2", "552 5.2.2 mailbox full", true, "mx.remote.test", "127.0.0.2", "RCPT", 1'700'000'050'000};
  std::string error;
  auto n = make_notice(original(), kBody, Notice::Failed, {a, b}, params(), &error);
  ASSERT_TRUE(n.has_value()) << error;
  EXPECT_EQ(n->envelope.id, "0ABCDEFGHJKMNPQS");
  EXPECT_EQ(n->envelope.sender, "");
  ASSERT_EQ(n->envelope.recipients.size(), 1u);
  EXPECT_EQ(n->envelope.recipients[0].address, "alice@client.test");
  EXPECT_EQ(n->envelope.recipients[0].notify, queue::kNotifyNever);
  EXPECT_TRUE(n->envelope.flags & queue::kFlagBounce);
  EXPECT_EQ(n->envelope.size, n->body.size());
  const std::string& m = n->body;
  EXPECT_NE(m.find("report-type=delivery-status"), std::string::npos);
  EXPECT_NE(m.find("Final-Recipient: rfc822; bob@remote.test"), std::string::npos);
  EXPECT_NE(m.find("Final-Recipient: rfc822; carol@remote.test"), std::string::npos);
  EXPECT_NE(m.find("Original-Recipient: rfc822; carol@original.test"), std::string::npos);
  EXPECT_EQ(m.find("dave@other.test"), std::string::npos);
  EXPECT_NE(m.find("Status: 5.1.1"), std::string::npos);
  EXPECT_NE(m.find("Remote-MTA: dns; mx.remote.test"), std::string::npos);
  EXPECT_NE(m.find("Diagnostic-Code: smtp; 550 5.1.1 no such user"), std::string::npos);
  EXPECT_NE(m.find("Action: failed"), std::string::npos);
  EXPECT_NE(m.find("Subject: hello"), std::string::npos);       // returned headers
  EXPECT_EQ(m.find("secret body"), std::string::npos);          // not the body (no RET=FULL)
}

TEST(Bounce, RetFullReturnsTheMessageAndDelayHasRetryUntil) {
  auto env = original();
  env.ret = queue::Ret::Full;
  NoticeEntry a{2, "5.1.2", "Host or domain name not found", false, "", "", "", 1'700'000'050'000};
  std::string error;
  auto n = make_notice(env, kBody, Notice::Failed, {a}, params(), &error);
  ASSERT_TRUE(n.has_value()) << error;
  EXPECT_NE(n->body.find("secret body"), std::string::npos);
  EXPECT_NE(n->body.find("Diagnostic-Code: x-unix; Host or domain name not found"), std::string::npos);

  auto p = params();
  p.retry_until_ms = 1'700'172'800'000;
  NoticeEntry d{0, "4.4.1", "connect refused", false, "", "", "", 1'700'000'050'000};
  n = make_notice(original(), kBody, Notice::Delayed, {d}, p, &error);
  ASSERT_TRUE(n.has_value()) << error;
  EXPECT_NE(n->body.find("Action: delayed"), std::string::npos);
  EXPECT_NE(n->body.find("Will-Retry-Until:"), std::string::npos);
}

TEST(Bounce, NeverToTheNullSenderOrForABounce) {
  NoticeEntry a{0, "5.1.1", "550 no", true, "", "", "", 0};
  std::string error;
  auto env = original();
  env.sender.clear();
  EXPECT_FALSE(make_notice(env, kBody, Notice::Failed, {a}, params(), &error).has_value());
  EXPECT_FALSE(error.empty());
  env = original();
  env.flags = queue::kFlagBounce;
  EXPECT_FALSE(make_notice(env, kBody, Notice::Failed, {a}, params(), &error).has_value());
}

}  // namespace
}  // namespace ringmta::relay
