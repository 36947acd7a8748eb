// tests/unit/proto/smtp/recipient_hook_test.cpp — Hooks::check_recipient at
// RCPT TO: refusals (5xx counted as a client error, 4xx not), expansion into
// several addresses with NOTIFY kept and ORCPT naming the original, duplicates
// across RCPTs queued once, max_recipients over the expansion, and SIZE= given
// to the hook.
#include <gtest/gtest.h>

#include "proto/smtp/server_session.h"
#include "tests/unit/proto/smtp/golden_harness.h"

using namespace ringmta::smtp;
using namespace ringmta::smtp::testing;

namespace {

struct Fixture {
  GoldenConfig cfg = golden_config("");
  std::unique_ptr<ServerSession> s;
  std::vector<std::pair<std::string, uint64_t>> asked;
  explicit Fixture(unsigned max_recipients = 100) {
    auto server = std::make_shared<ServerConfig>(*cfg.server);
    server->max_recipients = max_recipients;
    server->max_errors = 5;
    Hooks h;
    h.new_queue_id = [] { return std::string("Q1"); };
    h.now_unix = [] { return kFixedNow; };
    h.check_recipient = [this](const std::string& a, uint64_t size) {
      asked.emplace_back(a, size);
      RecipientCheck c;
      if (a == "nobody@example.net") c.reply = "550 5.1.1 <nobody@example.net>: User unknown";
      if (a == "full@example.net") c.reply = "452 4.2.2 <full@example.net>: Mailbox full";
      if (a == "team@example.net") c.addresses = {"alice@example.net", "bob@example.net", "out@elsewhere.example"};
      if (a == "alice+tag@example.net") c.addresses = {"alice@example.net"};
      if (a == "many@example.net") c.addresses = {"m1@x.example", "m2@x.example", "m3@x.example"};
      return c;
    };
    s = std::make_unique<ServerSession>(server, cfg.client, h);
    s->start();
    s->take_output();
    s->feed("EHLO c.example\r\nMAIL FROM:<a@c.example> SIZE=1234\r\n");
    s->take_output();
  }
};

TEST(RecipientHook, RefusalsAndExpansion) {
  Fixture f;
  f.s->feed("RCPT TO:<nobody@example.net>\r\nRCPT TO:<full@example.net>\r\n"
            "RCPT TO:<team@example.net> NOTIFY=SUCCESS,FAILURE\r\n"
            "RCPT TO:<alice+tag@example.net> ORCPT=rfc822;given@example.net\r\n"
            "RCPT TO:<plain@example.net>\r\n");
  EXPECT_EQ(f.s->take_output(),
            "550 5.1.1 <nobody@example.net>: User unknown\r\n"
            "452 4.2.2 <full@example.net>: Mailbox full\r\n"
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n");
  ASSERT_EQ(f.asked.size(), 5u);
  EXPECT_EQ(f.asked[0].second, 1234u);
  ASSERT_EQ(f.s->feed("DATA\r\nhi\r\n.\r\n"), Action::Commit);
  const auto& r = f.s->transaction().recipients;
  ASSERT_EQ(r.size(), 4u);  // alice once: the +tag RCPT reached her again
  EXPECT_EQ(r[0].address, "alice@example.net");
  EXPECT_EQ(r[0].orcpt, "rfc822;team@example.net");
  EXPECT_EQ(r[0].notify, kNotifySuccess | kNotifyFailure);
  EXPECT_EQ(r[1].address, "bob@example.net");
  EXPECT_EQ(r[2].address, "out@elsewhere.example");
  EXPECT_EQ(r[2].orcpt, "rfc822;team@example.net");
  EXPECT_EQ(r[3].address, "plain@example.net");
  EXPECT_EQ(r[3].orcpt, "");
}

TEST(RecipientHook, ExpansionCountsAgainstMaxRecipients) {
  Fixture f(3);
  f.s->feed("RCPT TO:<plain@example.net>\r\nRCPT TO:<many@example.net>\r\nRCPT TO:<alice+tag@example.net>\r\n");
  EXPECT_EQ(f.s->take_output(), "250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n250 2.1.5 Ok\r\n");
}

TEST(RecipientHook, TemporaryRefusalsAreNotClientErrors) {
  Fixture f;
  // max_errors is 5: thirty 452s close nothing, six 550s do.
  std::string in;
  for (int i = 0; i < 30; ++i) in += "RCPT TO:<full@example.net>\r\n";
  EXPECT_EQ(f.s->feed(in), Action::NeedInput);
  std::string out = f.s->take_output();
  EXPECT_EQ(out.find("421"), std::string::npos) << out;
  std::string bad;
  for (int i = 0; i < 6; ++i) bad += "RCPT TO:<nobody@example.net>\r\n";
  EXPECT_EQ(f.s->feed(bad), Action::Close);
  EXPECT_NE(f.s->take_output().find("421 4.7.0"), std::string::npos);
}

}  // namespace
