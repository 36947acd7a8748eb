// tests/unit/relay/delivery_agent_test.cpp — the DeliveryAgent against
// real SMTP servers on loopback (smtp::ServerSession on an engine reactor,
// see delivery_test_support.h), routed by an IP-literal relayhost so no DNS
// is involved. Connection reuse and the concurrency cap are counted at the
// server; failures are checked down to the text the recipients get.
#include <algorithm>

#include "tests/unit/relay/delivery_test_support.h"

namespace ringmta::relay::testing {
namespace {

using smtp::Outcome;

config::Config relay_to(const std::string& ip, uint16_t port) {
  config::Config c = test_config();
  c.delivery.relayhost = literal_target(ip, port);
  return c;
}

TEST(DeliveryAgent, SequentialJobsReuseOneConnection) {
  TestServer server({});
  AgentHarness agent(relay_to("127.0.0.2", server.port()));
  for (int i = 0; i < 3; ++i) {
    std::string id = "J" + std::to_string(i);
    agent.submit(make_job(id, {"user" + std::to_string(i) + "@ok.example"}));
    auto r = agent.result(id);
    ASSERT_TRUE(r) << id;
    ASSERT_EQ(r->results.size(), 1u);
    EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
    EXPECT_EQ(r->remote_host, "127.0.0.2");
    EXPECT_EQ(r->remote_addr, "127.0.0.2:" + std::to_string(server.port()));
    EXPECT_TRUE(r->remote_dsn);  // ServerSession offers DSN
  }
  EXPECT_EQ(server.connections(), 1);
  auto got = server.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].recipients, std::vector<std::string>{"user2@ok.example"});
  EXPECT_EQ(got[2].sender, "sender@src.example");
  EXPECT_NE(got[2].message.find("Subject: test\r\n\r\nhello\r\n"), std::string::npos);
  EXPECT_EQ(agent.open_connections(), 1u);  // idle, kept for reuse
}

TEST(DeliveryAgent, ConcurrencyCapAndMessagesPerConnection) {
  ServerOptions so;
  so.commit_delay = 100ms;  // keeps connections busy so jobs pile up
  TestServer server(so);
  config::Config c = relay_to("127.0.0.2", server.port());
  c.delivery.max_connections_per_domain = 3;
  c.delivery.max_messages_per_connection = 4;
  AgentHarness agent(c);
  const int n = 24;
  for (int i = 0; i < n; ++i) agent.submit(make_job("J" + std::to_string(i), {"u@ok.example"}));
  EXPECT_GT(agent.queued_jobs(), 0u);  // more jobs than connections: they wait
  ASSERT_TRUE(agent.wait_results(n));
  for (const auto& r : agent.results()) EXPECT_EQ(r.results.at(0).outcome, Outcome::Accepted) << r.results[0].text;
  EXPECT_EQ(server.message_count(), size_t(n));
  EXPECT_EQ(server.max_concurrent(), 3);    // the cap is reached and never exceeded
  EXPECT_GE(server.connections(), n / 4);   // at most 4 messages per connection
  EXPECT_LE(server.connections(), n / 4 + 3);
  EXPECT_EQ(agent.queued_jobs(), 0u);
}

TEST(DeliveryAgent, RelayhostCapIsSharedByShards) {
  ServerOptions so;
  so.commit_delay = 100ms;
  TestServer server(so);
  config::Config c = relay_to("127.0.0.2", server.port());
  c.delivery.max_connections_per_domain = 4;
  AgentHarness agent(c, /*shards=*/2);  // this shard may use 4 / 2 connections
  for (int i = 0; i < 8; ++i) agent.submit(make_job("J" + std::to_string(i), {"u@ok.example"}));
  ASSERT_TRUE(agent.wait_results(8));
  EXPECT_EQ(server.max_concurrent(), 2);
}

TEST(DeliveryAgent, RcptRefusalIsPermanentForThatRecipientOnly) {
  TestServer server({});  // untrusted client: only ok.example is accepted
  AgentHarness agent(relay_to("127.0.0.2", server.port()));
  agent.submit(make_job("J", {"a@ok.example", "b@elsewhere.example", "c@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->results.size(), 3u);
  EXPECT_EQ(r->indices, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted);
  EXPECT_EQ(r->results[1].outcome, Outcome::PermFail);
  EXPECT_EQ(r->results[1].code, 550);
  EXPECT_EQ(r->results[1].enhanced, "5.7.1");
  EXPECT_NE(r->results[1].text.find("Relay access denied"), std::string::npos) << r->results[1].text;
  EXPECT_FALSE(r->results[1].local);
  EXPECT_EQ(r->results[2].outcome, Outcome::Accepted);
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].recipients, (std::vector<std::string>{"a@ok.example", "c@ok.example"}));
}

TEST(DeliveryAgent, RecipientsAreSplitIntoTransactions) {
  TestServer server({});
  config::Config c = relay_to("127.0.0.2", server.port());
  c.delivery.max_recipients_per_transaction = 2;
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@ok.example", "b@ok.example", "c@x.example", "d@ok.example", "e@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->results.size(), 5u);
  std::vector<Outcome> want{Outcome::Accepted, Outcome::Accepted, Outcome::PermFail, Outcome::Accepted,
                            Outcome::Accepted};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(r->results[i].outcome, want[i]) << i << ": " << r->results[i].text;
  // Three transactions (possibly on parallel connections); c@ was refused in the second.
  std::vector<std::vector<std::string>> txns;
  for (const auto& m : server.received()) txns.push_back(m.recipients);
  std::sort(txns.begin(), txns.end());
  EXPECT_EQ(txns, (std::vector<std::vector<std::string>>{
                      {"a@ok.example", "b@ok.example"}, {"d@ok.example"}, {"e@ok.example"}}));
}

TEST(DeliveryAgent, RefusedConnectFailsTemporarilyWithTheError) {
  uint16_t port = unused_port("127.0.0.2");
  config::Config c = relay_to("127.0.0.2", port);
  // Without this, J2 may be taken up after J1's failure has marked the relayhost
  // down and get "delivery temporarily suspended: ..." instead: that memory has its
  // own tests (delivery_down_test.cpp); here every job must try and see the error.
  c.delivery.destination_down_time = std::chrono::seconds{0};
  AgentHarness agent(c);
  agent.submit(make_job("J1", {"a@ok.example", "b@ok.example"}));
  agent.submit(make_job("J2", {"c@ok.example"}));
  for (const char* id : {"J1", "J2"}) {
    auto r = agent.result(id);
    ASSERT_TRUE(r) << id;
    for (const auto& rr : r->results) {
      EXPECT_EQ(rr.outcome, Outcome::TempFail);
      EXPECT_EQ(rr.enhanced, "4.4.1");
      EXPECT_TRUE(rr.local);
      EXPECT_EQ(rr.text, "connect to 127.0.0.2[127.0.0.2]:" + std::to_string(port) + ": Connection refused");
    }
    EXPECT_EQ(r->remote_addr, "127.0.0.2:" + std::to_string(port));
  }
  EXPECT_TRUE(wait_until([&] { return agent.open_connections() == 0 && agent.queued_jobs() == 0; }));
}

TEST(DeliveryAgent, GreetingRejection) {
  ServerOptions so;
  so.greeting = "554 5.7.1 no service for you";
  TestServer perm(so);
  so.ip = "127.0.0.3";
  so.greeting = "421 4.3.2 busy, try later";
  TestServer temp(so);
  {
    AgentHarness agent(relay_to("127.0.0.2", perm.port()));
    agent.submit(make_job("J", {"a@ok.example"}));
    auto r = agent.result("J");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->results[0].outcome, Outcome::PermFail);  // the last (only) host said 5xx
    EXPECT_EQ(r->results[0].text, "554 5.7.1 no service for you");
    EXPECT_FALSE(r->results[0].local);
  }
  {
    AgentHarness agent(relay_to("127.0.0.3", temp.port()));
    agent.submit(make_job("J", {"a@ok.example"}));
    auto r = agent.result("J");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
    EXPECT_EQ(r->results[0].text, "421 4.3.2 busy, try later");
  }
}

TEST(DeliveryAgent, SilentServerTimesOutInGreeting) {
  ServerOptions so;
  so.silent = true;
  TestServer server(so);
  config::Config c = relay_to("127.0.0.2", server.port());
  c.delivery.command_timeout = 1s;
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_EQ(r->results[0].text,
            "timeout in stage greeting (127.0.0.2[127.0.0.2]:" + std::to_string(server.port()) + ")");
}

TEST(DeliveryAgent, DeadReusedConnectionIsRetriedOnAFreshOne) {
  ServerOptions so;
  so.drop_after_message = true;  // the idle connection is dead when the next MAIL arrives
  TestServer server(so);
  AgentHarness agent(relay_to("127.0.0.2", server.port()));
  agent.submit(make_job("J1", {"a@ok.example"}));
  auto r1 = agent.result("J1");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->results[0].outcome, Outcome::Accepted);
  agent.submit(make_job("J2", {"b@ok.example"}));
  auto r2 = agent.result("J2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->results[0].outcome, Outcome::Accepted) << r2->results[0].text;
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.message_count(), 2u);
}

TEST(DeliveryAgent, BigMessageGoesOutInPieces) {
  TestServer server({});
  AgentHarness agent(relay_to("127.0.0.2", server.port()));
  std::string body = "Subject: big\r\n\r\n";
  for (int i = 0; body.size() < (3u << 20); ++i) body += (i % 50 == 0 ? "." : "x") + std::to_string(i) + "\r\n";
  agent.submit(make_job("J", {"a@ok.example"}, body));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  // The stored copy is our message after the server's Received: line, exactly.
  ASSERT_GE(got[0].message.size(), body.size());
  EXPECT_TRUE(got[0].message.compare(got[0].message.size() - body.size(), body.size(), body) == 0);
}

TEST(DeliveryAgent, IdleConnectionQuitsAndDestinationIsDropped) {
  TestServer server({});
  config::Config c = relay_to("127.0.0.2", server.port());
  c.delivery.connection_idle_timeout = 1s;
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@ok.example"}));
  ASSERT_TRUE(agent.result("J"));
  EXPECT_EQ(agent.open_connections(), 1u);
  EXPECT_TRUE(wait_until([&] { return server.current() == 0; }, 8000ms));
  EXPECT_TRUE(wait_until([&] { return agent.open_connections() == 0; }, 8000ms));
}

TEST(DeliveryAgent, ShutdownFailsQueuedJobsAndLetsTheRunningOneFinish) {
  ServerOptions so;
  so.commit_delay = 500ms;
  TestServer server(so);
  config::Config c = relay_to("127.0.0.2", server.port());
  c.delivery.max_connections_per_domain = 1;
  AgentHarness agent(c);
  for (const char* id : {"J1", "J2", "J3"}) agent.submit(make_job(id, {"a@ok.example"}));
  ASSERT_TRUE(wait_until([&] { return server.message_count() == 1; }));  // J1's end of data is being held
  agent.shutdown();
  for (const char* id : {"J2", "J3"}) {
    auto r = agent.result(id, 2000ms);
    ASSERT_TRUE(r) << id;
    EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
    EXPECT_EQ(r->results[0].enhanced, "4.3.2");
    EXPECT_EQ(r->results[0].text, "delivery stopped: shutting down");
  }
  auto r1 = agent.result("J1");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->results[0].outcome, Outcome::Accepted);
  EXPECT_TRUE(wait_until([&] { return agent.open_connections() == 0; }));  // QUIT after the transaction
  EXPECT_TRUE(wait_until([&] { return server.current() == 0; }));
  agent.submit(make_job("J4", {"a@ok.example"}));
  auto r4 = agent.result("J4");
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->results[0].enhanced, "4.3.2");
  EXPECT_EQ(server.message_count(), 1u);
}

TEST(DeliveryAgent, DestroyedWithWorkInFlight) {
  ServerOptions so;
  so.commit_delay = 2000ms;
  TestServer server(so);
  auto agent = std::make_unique<AgentHarness>(relay_to("127.0.0.2", server.port()));
  for (int i = 0; i < 5; ++i) agent->submit(make_job("J" + std::to_string(i), {"a@ok.example"}));
  ASSERT_TRUE(wait_until([&] { return server.message_count() >= 1; }));
  agent.reset();  // connections aborted, no callbacks into freed memory (ASan catches it)
  EXPECT_TRUE(wait_until([&] { return server.current() == 0; }));
}

}  // namespace
}  // namespace ringmta::relay::testing
