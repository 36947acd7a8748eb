// tests/unit/relay/delivery_down_test.cpp — down destinations
// (delivery.destination_down_time, relay/down_destinations.h): the memory on
// its own (expiry, forgetting, the suspended result), then the DeliveryAgent
// against real loopback servers. "No connection was made" is proved by a real
// listener that starts on the dead port between two jobs and counts what it
// accepts; a server greeting 421 counts the probe's connections.
#include "relay/down_destinations.h"

#include <algorithm>

#include "tests/unit/relay/delivery_test_support.h"

namespace ringmta::relay::testing {
namespace {

using smtp::Outcome;
using Clock = DownDestinations::Clock;

constexpr const char* kSuspended = "delivery temporarily suspended: ";

smtp::RecipientResult refused(const std::string& text) {
  smtp::RecipientResult r;
  r.outcome = Outcome::TempFail;
  r.code = 451;
  r.enhanced = "4.4.1";
  r.text = text;
  r.stage = smtp::Stage::Greeting;
  r.local = true;
  return r;
}

// ---------------------------------------------------------------- the memory

TEST(DownDestinations, RememberedUntilTheTimeIsUp) {
  DownDestinations down(60s);
  const auto t0 = Clock::now();
  down.mark("relayhost", refused("connect to x: Connection refused"), "x", "127.0.0.2:25", t0);
  bool expired = true;
  const auto* e = down.find("relayhost", t0 + 59s, &expired);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(expired);
  EXPECT_EQ(e->host, "x");
  EXPECT_EQ(e->addr, "127.0.0.2:25");
  EXPECT_EQ(down.find("mx:other.example", t0), nullptr);
  // At the deadline it is dropped, and the caller is told (its job is the probe).
  EXPECT_EQ(down.find("relayhost", t0 + 60s, &expired), nullptr);
  EXPECT_TRUE(expired);
  EXPECT_EQ(down.size(), 0u);
  EXPECT_EQ(down.find("relayhost", t0 + 61s, &expired), nullptr);
  EXPECT_FALSE(expired);  // only once
}

TEST(DownDestinations, ZeroRemembersNothing) {
  DownDestinations down(0s);
  EXPECT_FALSE(down.enabled());
  down.mark("relayhost", refused("x"), "", "", Clock::now());
  EXPECT_EQ(down.size(), 0u);
  EXPECT_EQ(down.find("relayhost", Clock::now()), nullptr);
}

TEST(DownDestinations, SuspendedResultKeepsTheCodes) {
  DownDestinations::Entry e;
  e.error = refused("connect to h[127.0.0.2]:25: Connection refused");
  e.error.local = false;
  auto r = DownDestinations::suspended_result(e);
  EXPECT_EQ(r.outcome, Outcome::TempFail);
  EXPECT_EQ(r.code, 451);
  EXPECT_EQ(r.enhanced, "4.4.1");
  EXPECT_EQ(r.text, std::string(kSuspended) + "connect to h[127.0.0.2]:25: Connection refused");
  EXPECT_TRUE(r.local);
}

TEST(DownDestinations, ForgetOneSomeOrAll) {
  DownDestinations down(60s);
  const auto now = Clock::now();
  for (const char* k : {"relayhost", "relayhost|tls=verify", "mx:a.example", "mx:b.example"})
    down.mark(k, refused("x"), "", "", now);
  EXPECT_TRUE(down.forget("mx:a.example"));
  EXPECT_FALSE(down.forget("mx:a.example"));
  EXPECT_EQ(down.forget_if([](const std::string& k) { return k.rfind("relayhost", 0) == 0; }), 2u);
  EXPECT_EQ(down.size(), 1u);
  EXPECT_EQ(down.forget_if(nullptr), 1u);
  EXPECT_EQ(down.size(), 0u);
}

TEST(DownDestinations, ExpiredEntriesDoNotPileUp) {
  // Destinations marked once and never looked up again must not stay forever:
  // marking sweeps the expired ones whenever the map has doubled.
  DownDestinations down(1s);
  auto now = Clock::now();
  size_t most = 0;
  for (int i = 0; i < 10000; ++i) {
    now += 100ms;  // ten marks per down time
    down.mark("mx:d" + std::to_string(i) + ".example", refused("x"), "", "", now);
    most = std::max(most, down.size());
  }
  EXPECT_LE(most, 128u);
}

TEST(DownDestinations, LiveListsWhatIsStillDownWithTheTimeLeft) {
  DownDestinations down(60s);
  const auto t0 = Clock::now();
  down.mark("relayhost", refused("connect to x: Connection refused"), "x", "127.0.0.2:25", t0);
  down.mark("mx:a.example", refused("connect to a: timed out"), "a", "", t0 + 30s);
  auto live = down.live(t0 + 500ms);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].key, "mx:a.example");  // sorted by key
  EXPECT_EQ(live[0].left, 90s);            // 89.5 s, rounded up
  EXPECT_EQ(live[1].key, "relayhost");
  EXPECT_EQ(live[1].left, 60s);
  EXPECT_EQ(live[1].error, "connect to x: Connection refused");
  EXPECT_EQ(live[1].host, "x");
  EXPECT_EQ(live[1].addr, "127.0.0.2:25");
  // Expired but not yet dropped (no find() since): not listed.
  live = down.live(t0 + 60s);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].key, "mx:a.example");
  EXPECT_EQ(down.size(), 2u);
  EXPECT_TRUE(down.live(t0 + 90s).empty());
}

TEST(DownDestinations, MergeKeepsOneEntryPerKeyWithTheMostTimeLeft) {
  using Live = DownDestinations::Live;
  auto live = [](const char* key, int left, const char* error) {
    Live l;
    l.key = key;
    l.left = std::chrono::seconds(left);
    l.error = error;
    return l;
  };
  // Each shard that sends to the relayhost remembers it on its own.
  std::vector<std::vector<Live>> shards = {{live("relayhost", 10, "old"), live("mx:b.example", 5, "b")},
                                           {live("mx:a.example", 7, "a"), live("relayhost", 40, "new")},
                                           {}};
  auto merged = DownDestinations::merge(shards);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].key, "mx:a.example");
  EXPECT_EQ(merged[1].key, "mx:b.example");
  EXPECT_EQ(merged[2].key, "relayhost");
  EXPECT_EQ(merged[2].left, 40s);
  EXPECT_EQ(merged[2].error, "new");
  EXPECT_TRUE(DownDestinations::merge({}).empty());
}

// ---------------------------------------------------------------- the agent

config::Config relay_to(const std::string& ip, uint16_t port, std::chrono::seconds down_time) {
  config::Config c = test_config();
  c.delivery.relayhost = literal_target(ip, port);
  c.delivery.destination_down_time = down_time;
  return c;
}

std::string refused_text(uint16_t port) {
  return "connect to 127.0.0.2[127.0.0.2]:" + std::to_string(port) + ": Connection refused";
}

TEST(DeliveryDown, JobsForADownDestinationFailAtOnceWithoutConnecting) {
  const uint16_t port = unused_port("127.0.0.2");
  AgentHarness agent(relay_to("127.0.0.2", port, 60s));
  agent.submit(make_job("J1", {"a@ok.example"}));
  auto r1 = agent.result("J1");
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->results[0].outcome, Outcome::TempFail);
  ASSERT_EQ(r1->results[0].text, refused_text(port));
  EXPECT_EQ(agent.down_destinations(), 1u);

  // The port works now; within the down time nothing may connect to it.
  ServerOptions so;
  so.port = port;
  TestServer server(so);
  ASSERT_EQ(server.port(), port);
  agent.submit(make_job("J2", {"b@ok.example", "c@ok.example"}));
  auto r2 = agent.result("J2");
  ASSERT_TRUE(r2);
  for (const auto& rr : r2->results) {
    EXPECT_EQ(rr.outcome, Outcome::TempFail);
    EXPECT_EQ(rr.code, r1->results[0].code);
    EXPECT_EQ(rr.enhanced, "4.4.1");
    EXPECT_TRUE(rr.local);
    EXPECT_EQ(rr.text, kSuspended + refused_text(port));
  }
  EXPECT_EQ(r2->remote_host, "127.0.0.2");  // the remembered host, for relay= in the log
  EXPECT_EQ(r2->remote_addr, "127.0.0.2:" + std::to_string(port));
  EXPECT_EQ(agent.open_connections(), 0u);
  EXPECT_EQ(server.connections(), 0);

  // The administrator's flush: forgotten, the next job connects and delivers.
  EXPECT_EQ(agent.forget_down(), 1u);
  agent.submit(make_job("J3", {"d@ok.example"}));
  auto r3 = agent.result("J3");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->results[0].outcome, Outcome::Accepted) << r3->results[0].text;
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.message_count(), 1u);
  EXPECT_EQ(agent.down_destinations(), 0u);
}

TEST(DeliveryDown, AfterTheDownTimeTheNextJobConnects) {
  const uint16_t port = unused_port("127.0.0.2");
  AgentHarness agent(relay_to("127.0.0.2", port, 1s));
  agent.submit(make_job("J1", {"a@ok.example"}));
  auto r1 = agent.result("J1");
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->results[0].text, refused_text(port));
  ServerOptions so;
  so.port = port;
  TestServer server(so);
  // The mark was made before J1's result was posted: 1.2 s later it is over.
  std::this_thread::sleep_for(1200ms);
  agent.submit(make_job("J2", {"b@ok.example"}));
  auto r2 = agent.result("J2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->results[0].outcome, Outcome::Accepted) << r2->results[0].text;
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(agent.down_destinations(), 0u);
}

TEST(DeliveryDown, ZeroDownTimeRetriesEveryJob) {
  const uint16_t port = unused_port("127.0.0.2");
  AgentHarness agent(relay_to("127.0.0.2", port, 0s));
  agent.submit(make_job("J1", {"a@ok.example"}));
  auto r1 = agent.result("J1");
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->results[0].text, refused_text(port));
  EXPECT_EQ(agent.down_destinations(), 0u);
  ServerOptions so;
  so.port = port;
  TestServer server(so);
  agent.submit(make_job("J2", {"b@ok.example"}));
  auto r2 = agent.result("J2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->results[0].outcome, Outcome::Accepted) << r2->results[0].text;
  EXPECT_EQ(server.connections(), 1);
}

TEST(DeliveryDown, TheProbeConnectsAloneAndAFailedOneSuspendsAgain) {
  ServerOptions so;
  so.greeting = "421 4.3.2 busy, try later";  // a temporary refusal we can count
  so.greeting_delay = 300ms;                 // the probe is still waiting while the other jobs arrive
  TestServer server(so);
  config::Config c = relay_to("127.0.0.2", server.port(), 1s);
  c.delivery.max_connections_per_domain = 5;
  AgentHarness agent(c);
  agent.submit(make_job("J1", {"a@ok.example"}));
  auto r1 = agent.result("J1");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->results[0].text, "421 4.3.2 busy, try later");
  agent.submit(make_job("J2", {"a@ok.example"}));
  auto r2 = agent.result("J2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->results[0].text, std::string(kSuspended) + "421 4.3.2 busy, try later");
  EXPECT_EQ(r2->results[0].enhanced, r1->results[0].enhanced);
  EXPECT_EQ(server.connections(), 1);

  std::this_thread::sleep_for(1200ms);
  // Five jobs at once after the down time: one connection (the probe), not
  // five; the others wait for it and share its failure.
  for (int i = 3; i <= 7; ++i) agent.submit(make_job("J" + std::to_string(i), {"a@ok.example"}));
  ASSERT_TRUE(agent.wait_results(7));
  for (int i = 3; i <= 7; ++i) {
    auto r = agent.result("J" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
    EXPECT_EQ(r->results[0].text, "421 4.3.2 busy, try later") << i;
  }
  EXPECT_EQ(server.connections(), 2);
  agent.submit(make_job("J8", {"a@ok.example"}));
  auto r8 = agent.result("J8");
  ASSERT_TRUE(r8);
  EXPECT_EQ(r8->results[0].text, std::string(kSuspended) + "421 4.3.2 busy, try later");
  EXPECT_EQ(server.connections(), 2);
}

TEST(DeliveryDown, AProbeThatWorksLetsTheWaitingJobsThrough) {
  const uint16_t port = unused_port("127.0.0.2");
  config::Config c = relay_to("127.0.0.2", port, 1s);
  c.delivery.max_connections_per_domain = 3;
  AgentHarness agent(c);
  agent.submit(make_job("J0", {"a@ok.example"}));
  auto r0 = agent.result("J0");
  ASSERT_TRUE(r0);
  ASSERT_EQ(r0->results[0].text, refused_text(port));
  ServerOptions so;
  so.port = port;
  so.commit_delay = 300ms;  // the probe's transaction still runs when the other lanes open
  TestServer server(so);
  std::this_thread::sleep_for(1200ms);
  for (int i = 1; i <= 6; ++i) agent.submit(make_job("J" + std::to_string(i), {"a@ok.example"}));
  ASSERT_TRUE(agent.wait_results(7));
  for (int i = 1; i <= 6; ++i) {
    auto r = agent.result("J" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  }
  EXPECT_EQ(server.message_count(), 6u);
  // Once the probe's connection worked, more lanes opened (up to the cap).
  EXPECT_GE(server.max_concurrent(), 2);
  EXPECT_LE(server.max_concurrent(), 3);
  EXPECT_EQ(agent.down_destinations(), 0u);
}

TEST(DeliveryDown, PermanentGreetingDoesNotSuspend) {
  ServerOptions so;
  so.greeting = "554 5.7.1 no service for you";
  TestServer server(so);
  AgentHarness agent(relay_to("127.0.0.2", server.port(), 60s));
  for (const char* id : {"J1", "J2"}) {
    agent.submit(make_job(id, {"a@ok.example"}));
    auto r = agent.result(id);
    ASSERT_TRUE(r) << id;
    EXPECT_EQ(r->results[0].outcome, Outcome::PermFail);
    EXPECT_EQ(r->results[0].text, "554 5.7.1 no service for you");
  }
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(agent.down_destinations(), 0u);
}

TEST(DeliveryDown, DnsFailureDoesNotSuspend) {
  // test_config's DNS server (127.0.0.1:1) answers nothing: a temporary
  // resolver failure, which is not the destination being down.
  config::Config c = test_config();
  c.dns.timeout = 1s;
  AgentHarness agent(c);
  agent.submit(make_job("J1", {"a@nowhere.example"}));
  auto r = agent.result("J1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_EQ(r->results[0].enhanced, "4.4.3") << r->results[0].text;
  EXPECT_EQ(agent.down_destinations(), 0u);
}

TEST(DeliveryDown, ForgettingByDomainTouchesOnlyItsDestination) {
  const uint16_t port = unused_port("127.0.0.2");
  config::Config c = test_config();
  c.delivery.destination_down_time = 60s;
  c.delivery.routes["routed.example"] = literal_target("127.0.0.2", port);
  AgentHarness agent(c);
  agent.submit(make_job("J1", {"a@routed.example"}));
  auto r1 = agent.result("J1");
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->results[0].text, refused_text(port));
  EXPECT_EQ(agent.forget_down("other.example"), 0u);
  agent.submit(make_job("J2", {"a@routed.example"}));
  auto r2 = agent.result("J2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->results[0].text, kSuspended + refused_text(port));
  EXPECT_EQ(agent.forget_down("Routed.Example"), 1u);
  agent.submit(make_job("J3", {"a@routed.example"}));
  auto r3 = agent.result("J3");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->results[0].text, refused_text(port));  // tried again
}

}  // namespace
}  // namespace ringmta::relay::testing
