// tests/unit/relay/delivery_loop_test.cpp — the delivery agent never
// delivers to its own daemon: config::SelfAddresses (which addresses are "myself"),
// a relayhost that is one of our listeners, an MX list whose lower
// preference is us, and a real server greeting with our host name
// (smtp::ServerSession on loopback, delivery_test_support.h). Every loop is a
// permanent 554 5.4.6 for the recipients, with no message handed over.
#include "config/self_addresses.h"
#include "tests/unit/relay/delivery_test_support.h"

namespace ringmta::relay::testing {
namespace {

using smtp::Outcome;

config::ListenerConfig listener(const std::string& text, config::ListenerKind kind = config::ListenerKind::Smtp) {
  config::ListenerConfig l;
  l.address = *engine::SocketAddress::parse(text);
  l.address_text = text;
  l.kind = kind;
  return l;
}

engine::SocketAddress addr(const std::string& text) { return *engine::SocketAddress::parse(text); }

TEST(SelfAddresses, ExactListenerAddressAndPort) {
  config::SelfAddresses self({listener("127.0.0.2:2525")}, {});
  ASSERT_NE(self.listener_for(addr("127.0.0.2:2525")), nullptr);
  EXPECT_EQ(self.listener_for(addr("127.0.0.2:2525"))->address_text, "127.0.0.2:2525");
  EXPECT_TRUE(self.contains(addr("[::ffff:127.0.0.2]:2525")));  // v4-mapped is the same socket
  EXPECT_FALSE(self.contains(addr("127.0.0.2:25")));            // another port
  EXPECT_FALSE(self.contains(addr("127.0.0.3:2525")));          // another loopback address: not bound
}

TEST(SelfAddresses, WildcardListenerTakesEveryLocalAddressOfItsFamily) {
  config::SelfAddresses self({listener("0.0.0.0:25"), listener("[::]:587", config::ListenerKind::Submission)}, {"192.0.2.7", "2001:db8::7"});
  EXPECT_TRUE(self.contains(addr("127.0.0.1:25")));
  EXPECT_TRUE(self.contains(addr("127.8.9.10:25")));  // all of 127.0.0.0/8 is loopback
  EXPECT_TRUE(self.contains(addr("192.0.2.7:25")));   // an interface address
  EXPECT_TRUE(self.contains(addr("0.0.0.0:25")));     // connect(0.0.0.0) reaches this host
  EXPECT_FALSE(self.contains(addr("192.0.2.8:25")));  // another host
  EXPECT_FALSE(self.contains(addr("[::1]:25")));      // IPV6_V6ONLY: 0.0.0.0 takes no IPv6
  EXPECT_TRUE(self.contains(addr("[::1]:587")));
  EXPECT_TRUE(self.contains(addr("[2001:db8::7]:587")));
  EXPECT_FALSE(self.contains(addr("127.0.0.1:587")));  // and :: no IPv4
  EXPECT_FALSE(self.contains(addr("[2001:db8::8]:587")));
}

TEST(SelfAddresses, OnlyMailListenersCount) {
  config::SelfAddresses self({listener("127.0.0.1:110", config::ListenerKind::Pop3), listener("127.0.0.1:465", config::ListenerKind::Submissions)},
                     {});
  EXPECT_FALSE(self.contains(addr("127.0.0.1:110")));
  EXPECT_TRUE(self.contains(addr("127.0.0.1:465")));
  EXPECT_FALSE(config::SelfAddresses().contains(addr("127.0.0.1:25")));
}

TEST(SelfAddresses, HostAddressesIncludeLoopback) {
  const auto& ips = config::host_addresses();
  EXPECT_NE(std::find(ips.begin(), ips.end(), "127.0.0.1"), ips.end());
  EXPECT_EQ(&ips, &config::host_addresses());  // read once
}

// A relayhost that is our own listener: no connection, a permanent 5.4.6.
// The listener address is a real server's, so a connection would be seen.
TEST(DeliveryLoop, RelayhostThatIsOwnListenerFailsPermanentlyWithoutConnecting) {
  TestServer server({});
  config::Config c = test_config();
  c.listeners = {listener("127.0.0.2:" + std::to_string(server.port()))};
  c.delivery.relayhost = literal_target("127.0.0.2", server.port());
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@ok.example", "b@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->results.size(), 2u);
  for (const auto& res : r->results) {
    EXPECT_EQ(res.outcome, Outcome::PermFail) << res.text;
    EXPECT_EQ(res.code, 554);
    EXPECT_EQ(res.enhanced, "5.4.6");
    EXPECT_TRUE(res.local);
    EXPECT_NE(res.text.find("mail loops back to myself"), std::string::npos) << res.text;
    EXPECT_NE(res.text.find("my own listener 127.0.0.2:" + std::to_string(server.port())), std::string::npos)
        << res.text;
  }
  EXPECT_EQ(server.connections(), 0);
  EXPECT_EQ(agent.down_destinations(), 0u);  // a loop is not a destination being down
}

TEST(DeliveryLoop, WildcardListenerCatchesAnyLoopbackTarget) {
  TestServer server({});
  config::Config c = test_config();
  c.listeners = {listener("0.0.0.0:" + std::to_string(server.port()))};
  c.delivery.relayhost = literal_target("127.0.0.2", server.port());
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results.at(0).enhanced, "5.4.6") << r->results[0].text;
  EXPECT_EQ(server.connections(), 0);
}

TEST(DeliveryLoop, SameAddressOtherPortIsNotALoop) {
  TestServer server({});
  config::Config c = test_config();
  c.listeners = {listener("127.0.0.2:" + std::to_string(unused_port("127.0.0.2")))};
  c.delivery.relayhost = literal_target("127.0.0.2", server.port());
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results.at(0).outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(server.message_count(), 1u);
}

// A real server greeting with our host name (test_config: relay.test), in
// another case: QUIT after the greeting, permanent 5.4.6, nothing sent.
TEST(DeliveryLoop, ServerGreetingWithOwnHostnameFailsPermanently) {
  ServerOptions so;
  so.hostname = "RELAY.test";
  TestServer server(so);
  config::Config c = test_config();
  c.delivery.relayhost = literal_target("127.0.0.2", server.port());
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  const auto& res = r->results.at(0);
  EXPECT_EQ(res.outcome, Outcome::PermFail) << res.text;
  EXPECT_EQ(res.code, 554);
  EXPECT_EQ(res.enhanced, "5.4.6");
  EXPECT_NE(res.text.find("greeted me with my own hostname relay.test"), std::string::npos) << res.text;
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.message_count(), 0u);
  EXPECT_EQ(agent.down_destinations(), 0u);
}

}  // namespace
}  // namespace ringmta::relay::testing
