// tests/unit/mail/dsn_test.cpp — mail/dsn.h behaviour that the golden files do
// not pin down one by one: request validation, RET handling and its caps,
// the boundary-collision rule, RFC 6533 address forms, and output invariants
// (CRLF only, lines <= 998 octets) on hostile input.
#include "mail/dsn.h"

#include <gtest/gtest.h>

#include <string>

using namespace ringmta::mail;

namespace {

const char* kOriginal =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Lunch\r\n"
    "Message-ID: <orig@example.com>\r\n"
    "\r\n"
    "See you at noon.\r\n";

DsnRequest base_request() {
  DsnRequest rq;
  rq.reporting_mta = "relay.example.net";
  rq.sender = "alice@example.com";
  rq.arrival_date = "Sun, 22 Nov 2026 21:00:00 +0000";
  rq.original_message = kOriginal;
  rq.message_id = "<dsn.1@relay.example.net>";
  rq.date = "Sun, 22 Nov 2026 22:00:00 +0000";
  rq.boundary = "DSN-BOUNDARY-1";
  DsnRecipient r;
  r.final_recipient = "bob@example.org";
  r.action = DsnAction::Failed;
  r.status = "5.1.1";
  r.remote_mta = "mx.example.org";
  r.diagnostic = "550 5.1.1 <bob@example.org>: Recipient address rejected";
  rq.recipients.push_back(r);
  return rq;
}

// Every line ends in CRLF, no bare CR or LF, no line over 998 octets.
void expect_wire_clean(const std::string& m) {
  size_t col = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r') {
      ASSERT_TRUE(i + 1 < m.size() && m[i + 1] == '\n') << "bare CR at " << i;
      ++i;
      col = 0;
      continue;
    }
    ASSERT_NE(m[i], '\n') << "bare LF at " << i;
    ++col;
    ASSERT_LE(col, 998u) << "long line at " << i;
  }
  ASSERT_GE(m.size(), 2u);
  EXPECT_EQ(m.substr(m.size() - 2), "\r\n");
}

bool contains(const std::string& s, std::string_view needle) { return s.find(needle) != std::string::npos; }

}  // namespace

TEST(Dsn, RejectsInvalidRequests) {
  DsnRequest rq = base_request();
  rq.sender.clear();
  EXPECT_FALSE(compose_dsn(rq).ok);
  rq = base_request();
  rq.recipients.clear();
  EXPECT_FALSE(compose_dsn(rq).ok);
  rq = base_request();
  rq.boundary = "bad\"boundary";
  EXPECT_FALSE(compose_dsn(rq).ok);
  rq.boundary = std::string(61, 'a');
  EXPECT_FALSE(compose_dsn(rq).ok);
  rq = base_request();
  rq.recipients[0].final_recipient.clear();
  EXPECT_FALSE(compose_dsn(rq).ok);
  rq = base_request();
  rq.message_id.clear();
  EXPECT_FALSE(compose_dsn(rq).ok);
  EXPECT_TRUE(compose_dsn(base_request()).ok);
}

TEST(Dsn, FailureReportShape) {
  DsnResult r = compose_dsn(base_request());
  ASSERT_TRUE(r.ok) << r.error;
  expect_wire_clean(r.message);
  EXPECT_EQ(r.subject, "Undelivered Mail Returned to Sender");
  EXPECT_TRUE(contains(r.message, "Auto-Submitted: auto-replied\r\n"));
  EXPECT_TRUE(contains(r.message, "report-type=delivery-status;"));
  EXPECT_TRUE(contains(r.message, "\r\nFinal-Recipient: rfc822; bob@example.org\r\n"));
  EXPECT_TRUE(contains(r.message, "\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.example.org\r\n"));
  EXPECT_FALSE(contains(r.message, "Original-Recipient:"));  // no ORCPT given
  EXPECT_FALSE(contains(r.message, "Original-Envelope-Id:"));  // no ENVID given
  EXPECT_TRUE(contains(r.message, "Content-Type: text/rfc822-headers\r\n"));  // RET unspecified
  EXPECT_FALSE(contains(r.message, "See you at noon."));
  EXPECT_FALSE(r.returned_full);
  EXPECT_FALSE(r.needs_8bitmime);
  EXPECT_FALSE(r.needs_smtputf8);
}

TEST(Dsn, RetFullReturnsMessageWithinCap) {
  DsnRequest rq = base_request();
  rq.ret = DsnRet::Full;
  DsnResult r = compose_dsn(rq);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.returned_full);
  EXPECT_TRUE(contains(r.message, "Content-Type: message/rfc822\r\n"));
  EXPECT_TRUE(contains(r.message, "See you at noon.\r\n"));

  rq.max_full_message = 20;  // smaller than the message: headers only, and say so
  r = compose_dsn(rq);
  EXPECT_FALSE(r.returned_full);
  EXPECT_TRUE(contains(r.message, "Content-Type: text/rfc822-headers\r\n"));
  EXPECT_TRUE(contains(r.message, "too large to return in full"));
  EXPECT_FALSE(contains(r.message, "See you at noon."));
}

TEST(Dsn, SuccessReportNeverReturnsBody) {
  DsnRequest rq = base_request();
  rq.ret = DsnRet::Full;
  rq.recipients[0].action = DsnAction::Delivered;
  rq.recipients[0].status = "2.0.0";
  DsnResult r = compose_dsn(rq);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.subject, "Successful Mail Delivery Report");
  EXPECT_FALSE(r.returned_full);
  EXPECT_FALSE(contains(r.message, "See you at noon."));
}

TEST(Dsn, WillRetryUntilOnlyForDelayed) {
  DsnRequest rq = base_request();
  rq.recipients[0].will_retry_until = "Tue, 24 Nov 2026 21:00:00 +0000";
  EXPECT_FALSE(contains(compose_dsn(rq).message, "Will-Retry-Until:"));
  rq.recipients[0].action = DsnAction::Delayed;
  rq.recipients[0].status = "4.4.1";
  DsnResult r = compose_dsn(rq);
  EXPECT_EQ(r.subject, "Delayed Mail (still being retried)");
  EXPECT_TRUE(contains(r.message, "Will-Retry-Until: Tue, 24 Nov 2026 21:00:00 +0000\r\n"));
}

TEST(Dsn, InvalidStatusFallsBackToClassDefault) {
  DsnRequest rq = base_request();
  rq.recipients[0].status = "550";
  EXPECT_TRUE(contains(compose_dsn(rq).message, "\r\nStatus: 5.0.0\r\n"));
  rq.recipients[0].status = "";
  rq.recipients[0].action = DsnAction::Delayed;
  EXPECT_TRUE(contains(compose_dsn(rq).message, "\r\nStatus: 4.0.0\r\n"));
}

TEST(Dsn, BoundaryExtendedWhenContentHoldsIt) {
  std::string orig = std::string(kOriginal) + "--DSN-BOUNDARY-1\r\n--DSN-BOUNDARY-1A\r\n--DSN-BOUNDARY-10\r\n";
  DsnRequest rq = base_request();
  rq.ret = DsnRet::Full;
  rq.original_message = orig;
  rq.recipients[0].diagnostic = "550 --DSN-BOUNDARY-1B";
  DsnResult r = compose_dsn(rq);
  ASSERT_TRUE(r.ok);
  EXPECT_NE(r.boundary, "DSN-BOUNDARY-1");
  EXPECT_EQ(r.boundary.rfind("DSN-BOUNDARY-1", 0), 0u);
  EXPECT_TRUE(contains(r.message, "boundary=\"" + r.boundary + "\""));
  // The delimiter occurs exactly 4 times (3 part openers + the closer).
  std::string delim = "--" + r.boundary;
  size_t n = 0;
  for (size_t at = r.message.find(delim); at != std::string::npos; at = r.message.find(delim, at + 1)) ++n;
  EXPECT_EQ(n, 4u);
}

TEST(Dsn, HostileContentStaysOnTheWire) {
  std::string orig = "Subject: x\nX-Long: " + std::string(5000, 'a') + "\r\r\n\n" + std::string(3000, 'b') +
                     "\rbare cr\nbare lf\r\n";
  DsnRequest rq = base_request();
  rq.ret = DsnRet::Full;
  rq.original_message = orig;
  rq.recipients[0].diagnostic = "550-first\r\n550-" + std::string(2000, 'x') + "\n550 last\r\nInjected: header";
  rq.recipients[0].final_recipient = "bob@example.org\r\nBcc: evil@x";
  rq.envid = "id\r\nX: y";
  DsnResult r = compose_dsn(rq);
  ASSERT_TRUE(r.ok);
  expect_wire_clean(r.message);
  EXPECT_FALSE(contains(r.message, "\r\nInjected:"));
  EXPECT_FALSE(contains(r.message, "\r\nBcc:"));
  EXPECT_FALSE(contains(r.message, "\r\nX: y"));
  // The multi-line reply becomes one (folded) Diagnostic-Code field.
  EXPECT_TRUE(contains(r.message, "Diagnostic-Code: smtp; 550-first\r\n 550-xxx"));
}

TEST(Dsn, BinaryMessageReturnsHeadersOnly) {
  std::string orig = std::string(kOriginal) + std::string("bin\0ary\r\n", 9);
  DsnRequest rq = base_request();
  rq.ret = DsnRet::Full;
  rq.original_message = orig;
  DsnResult r = compose_dsn(rq);
  EXPECT_FALSE(r.returned_full);
  EXPECT_TRUE(contains(r.message, "binary data"));
}

TEST(Dsn, HeaderBlockCap) {
  std::string orig = "A: 1\r\nB: " + std::string(200, 'b') + "\r\n\r\nbody\r\n";
  DsnRequest rq = base_request();
  rq.original_message = orig;
  rq.max_header_block = 100;
  DsnResult r = compose_dsn(rq);
  EXPECT_TRUE(r.headers_truncated);
  EXPECT_TRUE(contains(r.message, "\r\n\r\nA: 1\r\n\r\n--DSN-BOUNDARY-1--\r\n"));
  EXPECT_TRUE(contains(r.message, "headers were cut to 6 bytes"));
}

TEST(Dsn, Utf8AddressesWithoutSmtputf8StaySevenBit) {
  DsnRequest rq = base_request();
  rq.recipients[0].final_recipient = "j\xC3\xB6rg+tag@example.org";
  rq.recipients[0].original_recipient = "utf-8;j\\x{F6}rg+tag@example.org";
  DsnResult r = compose_dsn(rq);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(contains(r.message, "Final-Recipient: utf-8; j\\x{F6}rg\\x{2B}tag@example.org\r\n"));
  // An ORCPT already in utf-8-addr-xtext form is kept as given.
  EXPECT_TRUE(contains(r.message, "Original-Recipient: utf-8; j\\x{F6}rg\\x{2B}tag@example.org\r\n"));
  EXPECT_FALSE(r.needs_8bitmime);
  EXPECT_TRUE(contains(r.message, "Content-Type: message/delivery-status\r\n"));
}

TEST(Dsn, Smtputf8UsesGlobalTypes) {
  DsnRequest rq = base_request();
  rq.smtputf8 = true;
  rq.sender = "\xC3\xA9lise@example.com";
  rq.recipients[0].final_recipient = "j\xC3\xB6rg@example.org";
  std::string orig = "Subject: caf\xC3\xA9\r\n\r\nbody\r\n";
  rq.original_message = orig;
  DsnResult r = compose_dsn(rq);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(contains(r.message, "report-type=global-delivery-status;"));
  EXPECT_TRUE(contains(r.message, "Content-Type: message/global-delivery-status\r\n"));
  EXPECT_TRUE(contains(r.message, "Content-Type: message/global-headers\r\n"));
  EXPECT_TRUE(contains(r.message, "Final-Recipient: utf-8; j\xC3\xB6rg@example.org\r\n"));
  EXPECT_TRUE(contains(r.message, "To: <\xC3\xA9lise@example.com>\r\n"));
  EXPECT_TRUE(r.needs_smtputf8);
  EXPECT_TRUE(r.needs_8bitmime);
  expect_wire_clean(r.message);
}

TEST(Dsn, OrcptWithoutTypeIsTreatedAsAddress) {
  DsnRequest rq = base_request();
  rq.recipients[0].original_recipient = "Bob@Example.org";
  EXPECT_TRUE(contains(compose_dsn(rq).message, "Original-Recipient: rfc822; Bob@Example.org\r\n"));
  rq.recipients[0].original_recipient = "x-odd;mailbox 7";
  EXPECT_TRUE(contains(compose_dsn(rq).message, "Original-Recipient: x-odd; mailbox 7\r\n"));
}

TEST(Dsn, Deterministic) {
  DsnRequest rq = base_request();
  EXPECT_EQ(compose_dsn(rq).message, compose_dsn(rq).message);
}
