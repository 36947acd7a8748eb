// tests/unit/mail/dsn_golden_test.cpp — DSNs from fixed inputs compared byte
// for byte with tests/golden/dsn/<case>.ref (the reviewed spec), and each one
// read back by Python's email package (check_dsn.py) so the structure is
// checked by an independent parser, not just by our own expectations.
//
// To regenerate after an intended change: RINGMTA_UPDATE_GOLDEN=1 mail_dsn_golden_test,
// then review the diff of tests/golden/dsn/ by eye.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mail/dsn.h"

using namespace ringmta::mail;

namespace {

const std::string kOriginal =
    "Received: from client.example.com ([192.0.2.10])\r\n"
    "\tby relay.example.net with ESMTPSA id 4Q1bX7\r\n"
    "\tfor <bob@example.org>; Sun, 22 Nov 2026 21:00:00 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.org>, Carol <carol@example.org>\r\n"
    "Subject: Quarterly figures\r\n"
    "Date: Sun, 22 Nov 2026 20:59:58 +0000\r\n"
    "Message-ID: <20261122205958.1234@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "the figures are attached.\r\n";

DsnRequest base() {
  DsnRequest rq;
  rq.reporting_mta = "relay.example.net";
  rq.sender = "alice@example.com";
  rq.arrival_date = "Sun, 22 Nov 2026 21:00:00 +0000";
  rq.original_message = kOriginal;
  rq.message_id = "<20261122220000.dsn.4Q1bX7@relay.example.net>";
  rq.date = "Sun, 22 Nov 2026 22:00:00 +0000";
  rq.boundary = "4Q1bX7.1795384800/relay.example.net";
  return rq;
}

DsnRecipient bob_failed() {
  DsnRecipient r;
  r.final_recipient = "bob@example.org";
  r.original_recipient = "rfc822;bob@example.org";
  r.action = DsnAction::Failed;
  r.status = "5.1.1";
  r.remote_mta = "mx1.example.org";
  r.remote_address = "192.0.2.25";
  r.diagnostic =
      "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
      "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
      "550 5.1.1 unnecessary spaces. For more information, go to the help pages.";
  r.in_reply_to = "RCPT TO";
  r.last_attempt_date = "Sun, 22 Nov 2026 21:59:59 +0000";
  return r;
}

DsnRecipient carol_delayed() {
  DsnRecipient r;
  r.final_recipient = "carol@example.org";
  r.action = DsnAction::Delayed;
  r.status = "4.4.1";
  r.remote_mta = "mx.example.org";
  r.diagnostic = "connect to mx.example.org[192.0.2.30]:25: Connection timed out";
  r.diagnostic_type = "x-unix";
  r.last_attempt_date = "Sun, 22 Nov 2026 21:59:00 +0000";
  r.will_retry_until = "Tue, 24 Nov 2026 21:00:00 +0000";
  return r;
}

struct Case {
  std::string name;
  DsnRequest request;
  std::vector<std::string> expect;  // lines for check_dsn.py
  std::string original;             // storage when the case has its own original
};

std::vector<Case> cases() {
  std::vector<Case> cs;
  const std::string subject = "orig-header=Subject: Quarterly figures";
  const std::string bob = "rcpt=bob@example.org|failed|5.1.1|rfc822; bob@example.org|smtp; 550-5.1.1 The email account";
  const std::string carol = "rcpt=carol@example.org|delayed|4.4.1||x-unix; connect to";
  {
    Case c{"failed_headers", base(), {}, {}};
    c.request.envid = "QQ314159";
    c.request.recipients = {bob_failed()};
    c.expect = {"envid=QQ314159", bob, subject};
    cs.push_back(c);
  }
  {
    Case c{"failed_full_mixed", base(), {}, {}};
    c.request.ret = DsnRet::Full;
    c.request.recipients = {bob_failed(), carol_delayed()};
    c.expect = {"third=message/rfc822", bob, carol, subject};
    cs.push_back(c);
  }
  {
    Case c{"delayed", base(), {}, {}};
    c.request.delay_text = "1 hour";
    c.request.recipients = {carol_delayed()};
    c.expect = {carol, subject};
    cs.push_back(c);
  }
  {
    Case c{"success", base(), {}, {}};
    c.request.ret = DsnRet::Full;  // ignored for success reports
    DsnRecipient d;
    d.final_recipient = "bob@example.org";
    d.original_recipient = "rfc822;Bob@Example.ORG";
    d.action = DsnAction::Delivered;
    d.status = "2.0.0";
    d.remote_mta = "mx1.example.org";
    d.remote_address = "192.0.2.25";
    d.diagnostic = "250 2.0.0 OK 1795384799 queued as 7F3A2";
    DsnRecipient rl = d;
    rl.final_recipient = "carol@example.org";
    rl.original_recipient.clear();
    rl.action = DsnAction::Relayed;
    rl.remote_mta = "legacy.example.org";
    rl.remote_address.clear();
    rl.diagnostic = "250 ok";
    c.request.recipients = {d, rl};
    c.expect = {"rcpt=bob@example.org|delivered|2.0.0|rfc822; Bob@Example.ORG|smtp; 250 2.0.0 OK",
                "rcpt=carol@example.org|relayed|2.0.0||smtp; 250 ok", subject};
    cs.push_back(c);
  }
  {
    Case c{"full_too_large", base(), {}, {}};
    c.request.ret = DsnRet::Full;
    c.request.max_full_message = 100;
    c.request.recipients = {bob_failed()};
    c.expect = {bob, subject};
    cs.push_back(c);
  }
  {
    Case c{"smtputf8", base(), {}, {}};
    c.original =
        "From: \xC3\x89lise <\xC3\xA9lise@exemple.fr>\r\nTo: j\xC3\xB6rg@beispiel.de\r\n"
        "Subject: Caf\xC3\xA9 \xE2\x98\x95\r\n\r\nBonjour\r\n";
    c.request.smtputf8 = true;
    c.request.ret = DsnRet::Full;
    c.request.sender = "\xC3\xA9lise@exemple.fr";
    DsnRecipient r;
    r.final_recipient = "j\xC3\xB6rg@beispiel.de";
    r.original_recipient = "utf-8;j\xC3\xB6rg@beispiel.de";
    r.action = DsnAction::Failed;
    r.status = "5.1.1";
    r.remote_mta = "mx.beispiel.de";
    r.diagnostic = "550 5.1.1 <j\xC3\xB6rg@beispiel.de>: unknown user";
    c.request.recipients = {r};
    c.expect = {"report-type=global-delivery-status", "third=message/global",
                "rcpt=j\xC3\xB6rg@beispiel.de|failed|5.1.1|utf-8; j\xC3\xB6rg@beispiel.de|550 5.1.1 <j\xC3\xB6rg",
                "orig-header=Subject: Caf\xC3\xA9 \xE2\x98\x95"};
    cs.push_back(c);
  }
  {
    // Bare LF, an over-long line and a copy of our own boundary in the original.
    Case c{"hostile_original", base(), {}, {}};
    c.original = "Subject: tricky\nX-Long: " + std::string(1200, 'L') +
                 "\n\n--4Q1bX7.1795384800/relay.example.net\nfake part\n"
                 "--4Q1bX7.1795384800/relay.example.net--\n";
    c.request.ret = DsnRet::Full;
    DsnRecipient r = bob_failed();
    r.original_recipient.clear();
    r.diagnostic = "554 5.7.1 rejected\r\nExtra: injected";
    c.request.recipients = {r};
    c.expect = {"third=message/rfc822", "rcpt=bob@example.org|failed|5.1.1||smtp; 554 5.7.1 rejected Extra: injected",
                "orig-header=Subject: tricky"};
    cs.push_back(c);
  }
  for (Case& c : cs)
    if (!c.original.empty()) c.request.original_message = c.original;  // after the copy into cs
  return cs;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

}  // namespace

TEST(DsnGolden, MatchesReferenceAndParsesInPython) {
  const bool update = std::getenv("RINGMTA_UPDATE_GOLDEN") != nullptr;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    DsnResult r = compose_dsn(c.request);
    ASSERT_TRUE(r.ok) << r.error;
    std::string ref_path = std::string(RINGMTA_GOLDEN_DIR) + "/dsn/" + c.name + ".ref";
    if (update) write_file(ref_path, r.message);
    std::string ref = read_file(ref_path);
    EXPECT_FALSE(ref.empty()) << "missing " << ref_path << " (RINGMTA_UPDATE_GOLDEN=1 to create)";
    EXPECT_EQ(r.message, ref) << "differs from " << ref_path;

    std::string dsn_path = ::testing::TempDir() + "ringmta_dsn_" + c.name + ".eml";
    std::string expect_path = ::testing::TempDir() + "ringmta_dsn_" + c.name + ".expect";
    write_file(dsn_path, r.message);
    std::string expect;
    for (const std::string& l : c.expect) expect += l + "\n";
    write_file(expect_path, expect);
    std::string cmd = "/usr/bin/python3 '" RINGMTA_DSN_CHECK_SCRIPT "' '" + dsn_path + "' '" + expect_path + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::remove(dsn_path.c_str());
    std::remove(expect_path.c_str());
  }
}
