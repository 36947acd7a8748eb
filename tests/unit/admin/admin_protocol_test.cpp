// tests/unit/admin/admin_protocol_test.cpp — admin API requests (validation
// and the messages operators see), selectors, message states, the summary.
#include <gtest/gtest.h>

#include "admin/admin_protocol.h"

namespace ringmta::admin {
namespace {

const std::string kId = "06H34ZKPH0000000";

base::Result<Request> parse_text(std::string_view text) {
  auto v = base::json::parse(text);
  EXPECT_TRUE(v.ok()) << text;
  if (!v) return base::Error(v.error());
  return parse_request(*v);
}

Request ok(std::string_view text) {
  auto r = parse_text(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error();
  return r.value_or(Request{});
}

std::string error_of(std::string_view text) {
  auto r = parse_text(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.error();
}

queue::Recipient rcpt(const std::string& address, int attempts, int64_t next_ms,
                      queue::RecipientState state = queue::RecipientState::Pending) {
  queue::Recipient r;
  r.address = address;
  r.attempts = static_cast<uint32_t>(attempts);
  r.next_attempt_ms = next_ms;
  r.state = state;
  return r;
}

queue::Envelope env(const std::string& sender, std::vector<queue::Recipient> rcpts, int64_t arrival = 1000) {
  queue::Envelope e;
  e.id = kId;
  e.sender = sender;
  e.recipients = std::move(rcpts);
  e.arrival_ms = arrival;
  return e;
}

TEST(AdminRequest, ValidRequestsNormalize) {
  Request r = ok(R"({"cmd":"flush","ids":["06h34zkph0000000"]})");
  EXPECT_EQ(r.command, Command::Flush);
  EXPECT_EQ(r.selector.ids, std::vector<std::string>{kId}) << "IDs are upper-cased";
  r = ok(R"({"cmd":"list","domain":"Dest.Test.","sender":"<Alice@Sender.TEST>","state":"due"})");
  EXPECT_EQ(r.selector.domain, "dest.test");
  EXPECT_EQ(r.selector.sender, "alice@sender.test");
  EXPECT_EQ(r.selector.state, MessageState::Ready);
  EXPECT_EQ(ok(R"({"cmd":"hold","sender":"<>"})").selector.sender, "<>");
  EXPECT_EQ(ok(R"({"cmd":"hold","sender":"@Sender.test"})").selector.sender, "@sender.test");
  EXPECT_TRUE(ok(R"({"cmd":"delete","all":true})").selector.all);
  r = ok(R"({"cmd":"bounce","ids":["06H34ZKPH0000000"],"domain":"other.test","reason":"retired"})");
  EXPECT_EQ(r.selector.domain, "other.test") << "IDs with a domain narrow a bounce";
  EXPECT_EQ(r.reason, "retired");
  EXPECT_EQ(ok(R"({"cmd":"suspend","domain":"[192.0.2.1]"})").domain, "[192.0.2.1]");
  EXPECT_EQ(ok(R"({"cmd":"show","id":"06H34ZKPH0000000"})").id, kId);
  EXPECT_EQ(ok(R"({"cmd":"summary","token":"t"})").token, "t");
}

TEST(AdminRequest, EncodeRoundTrips) {
  for (const char* text : {R"({"cmd":"bounce","ids":["06H34ZKPH0000000"],"domain":"a.test","reason":"why"})",
                           R"({"cmd":"list","domain":"a.test","sender":"x@y.test","state":"held"})",
                           R"({"cmd":"flush","all":true})", R"({"cmd":"resume","domain":"a.test"})",
                           R"({"cmd":"show","id":"06H34ZKPH0000000"})"}) {
    Request r = ok(text);
    auto again = parse_request(encode_request(r));
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(base::json::dump(encode_request(*again)), base::json::dump(encode_request(r)));
    EXPECT_EQ(base::json::dump(encode_request(r)), text);
  }
}

TEST(AdminRequest, BadInputGetsAClearMessage) {
  EXPECT_EQ(error_of("[]"), "a request is a JSON object");
  EXPECT_EQ(error_of("{}"), "the request has no 'cmd'");
  EXPECT_EQ(error_of(R"({"cmd":"purge"})"), "unknown command 'purge'");
  EXPECT_EQ(error_of(R"({"cmd":"flush"})"),
            "flush needs queue IDs or a selector (--domain D, --sender S, --state S or --all)");
  EXPECT_EQ(error_of(R"({"cmd":"delete","all":false})"),
            "delete needs queue IDs or a selector (--domain D, --sender S, --state S or --all)");
  EXPECT_EQ(error_of(R"({"cmd":"flush","ids":["nonsense!"]})"),
            "bad queue ID 'nonsense!' (16 characters 0-9 A-Z, as `queue list` shows)");
  EXPECT_EQ(error_of(R"({"cmd":"flush","ids":[]})"), "'ids' must be a non-empty array of queue IDs (at most 100000)");
  EXPECT_EQ(error_of(R"({"cmd":"flush","domain":"a b"})"),
            "bad domain 'a b' (a domain name like example.org, or an address literal [192.0.2.1])");
  EXPECT_EQ(error_of(R"({"cmd":"flush","domain":"a..b"})"),
            "bad domain 'a..b' (a domain name like example.org, or an address literal [192.0.2.1])");
  EXPECT_NE(error_of(R"({"cmd":"flush","sender":"nobody"})").find("bad sender 'nobody'"), std::string::npos);
  EXPECT_EQ(error_of(R"({"cmd":"list","state":"frozen"})"),
            "unknown state 'frozen' (scheduled, ready, in_flight, held, deferred)");
  EXPECT_EQ(error_of(R"({"cmd":"hold","ids":["06H34ZKPH0000000"],"domain":"a.test"})"),
            "give either queue IDs or a selector (--domain, --sender, --state, --all), not both");
  EXPECT_EQ(error_of(R"({"cmd":"flush","all":true,"domain":"a.test"})"),
            "--all cannot be combined with --domain, --sender or --state");
  EXPECT_EQ(error_of(R"({"cmd":"bounce","all":true})"),
            "bounce needs --reason TEXT (one line, at most 1000 bytes): it goes into the DSN");
  EXPECT_EQ(error_of(R"({"cmd":"bounce","all":true,"reason":"two\nlines"})"),
            "bounce needs --reason TEXT (one line, at most 1000 bytes): it goes into the DSN");
  EXPECT_EQ(error_of(R"({"cmd":"show"})"), "show needs a queue ID");
  EXPECT_EQ(error_of(R"({"cmd":"suspend"})"), "suspend needs a destination domain");
  EXPECT_EQ(error_of(R"({"cmd":"flush","all":"yes"})"), "'all' must be true or false");
  EXPECT_EQ(error_of(R"({"cmd":"flush","domian":"a.test"})"), "'domian' is not a field of 'flush'");
  EXPECT_EQ(error_of(R"({"cmd":"summary","all":true})"), "'all' is not a field of 'summary'");
  EXPECT_EQ(error_of(R"({"cmd":"flush","ids":[5]})"), "'ids' must hold strings");
  EXPECT_EQ(error_of(R"({"cmd":"list","domain":7})"), "'domain' must be a string");
}

TEST(AdminState, FirstRuleThatAppliesWins) {
  const int64_t now = 10'000;
  auto e = env("a@s.test", {rcpt("x@d.test", 0, now + 60'000)});
  EXPECT_EQ(message_state(e, now, false), MessageState::Scheduled);
  EXPECT_EQ(message_state(e, now, true), MessageState::InFlight);
  e.recipients[0].attempts = 1;
  EXPECT_EQ(message_state(e, now, false), MessageState::Deferred);
  e.recipients.push_back(rcpt("y@d.test", 1, now));
  EXPECT_EQ(message_state(e, now, false), MessageState::Ready) << "one due recipient makes it ready";
  e.recipients[1].state = queue::RecipientState::Delivered;
  EXPECT_EQ(message_state(e, now, false), MessageState::Deferred) << "finished recipients do not count";
  e.flags = queue::kFlagHeld;
  EXPECT_EQ(message_state(e, now, true), MessageState::Held);
  EXPECT_EQ(parse_state("in_flight"), MessageState::InFlight);
  EXPECT_FALSE(parse_state("Held").has_value());
}

TEST(AdminSelector, MatchesOnPendingRecipientsSenderAndState) {
  auto e = env("Alice@Sender.test", {rcpt("x@Dest.test", 1, 0), rcpt("y@other.test", 1, 0, queue::RecipientState::Delivered)});
  Selector s;
  EXPECT_TRUE(matches(s, e, MessageState::Ready));
  s.domain = "dest.test";
  EXPECT_TRUE(matches(s, e, MessageState::Ready));
  s.domain = "other.test";
  EXPECT_FALSE(matches(s, e, MessageState::Ready)) << "only pending recipients count";
  s = Selector{};
  s.sender = "alice@sender.test";
  EXPECT_TRUE(matches(s, e, MessageState::Ready));
  s.sender = "@sender.test";
  EXPECT_TRUE(matches(s, e, MessageState::Ready));
  s.sender = "@other.test";
  EXPECT_FALSE(matches(s, e, MessageState::Ready));
  s.sender = "<>";
  EXPECT_FALSE(matches(s, e, MessageState::Ready));
  EXPECT_TRUE(matches(s, env("", {rcpt("x@d.test", 0, 0)}), MessageState::Ready));
  s = Selector{};
  s.state = MessageState::Held;
  EXPECT_FALSE(matches(s, e, MessageState::Ready));
  EXPECT_TRUE(matches(s, e, MessageState::Held));
  s.domain = "dest.test";
  EXPECT_TRUE(recipient_selected(s, e.recipients[0]));
  EXPECT_FALSE(recipient_selected(s, e.recipients[1]));
}

TEST(AdminSummary, PerDestinationCountsOldestAndLastError) {
  SummaryBuilder b;
  auto m1 = env("a@s.test", {rcpt("x@d.test", 2, 0), rcpt("y@d.test", 2, 0), rcpt("z@e.test", 1, 0)}, 5'000);
  m1.recipients[0].last_attempt_ms = 7'000;
  m1.recipients[0].last_reply = "450 4.2.1 busy";
  m1.recipients[1].last_attempt_ms = 6'000;
  m1.recipients[1].last_reply = "older";
  auto m2 = env("a@s.test", {rcpt("w@d.test", 0, 0), rcpt("v@e.test", 0, 0, queue::RecipientState::Delivered)}, 3'000);
  b.add(m1, MessageState::Deferred);
  b.add(m2, MessageState::Held);
  auto rows = b.finish();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].domain, "d.test");
  EXPECT_EQ(rows[0].messages, 2u);
  EXPECT_EQ(rows[0].recipients, 3u);
  EXPECT_EQ(rows[0].deferred, 1u);
  EXPECT_EQ(rows[0].held, 1u);
  EXPECT_EQ(rows[0].oldest_arrival_ms, 3'000);
  EXPECT_EQ(rows[0].last_error, "450 4.2.1 busy");
  EXPECT_EQ(rows[1].domain, "e.test");
  EXPECT_EQ(rows[1].messages, 1u) << "a delivered recipient is not queued for its domain";
  EXPECT_EQ(b.total_messages(), 2u);
  base::json::Value j = summary_json(rows, 63'000);
  EXPECT_EQ(j.items()[0].get("oldest_age_seconds")->as_int(), 60);
}

TEST(AdminShow, ListFieldsStayAndHeadersAreCut) {
  auto e = env("a@s.test", {rcpt("x@d.test", 1, 0)});
  e.size = 42;
  base::json::Value l = list_entry_json(e, MessageState::Deferred);
  EXPECT_EQ(base::json::dump(l), R"({"id":"06H34ZKPH0000000","sender":"a@s.test","recipients":["x@d.test"],"size":42,)"
                           R"("arrival":"1970-01-01T00:00:01Z","arrival_unix":1,"state":"deferred"})");
  EXPECT_EQ(header_section("A: 1\r\nB: 2\r\n\r\nbody\r\n"), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(header_section("A: 1\nB: 2\n\nbody\n"), "A: 1\nB: 2\n");
  EXPECT_EQ(header_section("A: 1\r\n"), "A: 1\r\n");
  EXPECT_EQ(header_section(std::string(100, 'x'), 10).size(), 10u);
}

}  // namespace
}  // namespace ringmta::admin
