// tests/unit/relay/delivery_mx_test.cpp — the DeliveryAgent's MX path
// against dnsmasq on a loopback port (MX preference fallback when the first
// MX refuses connections or greets with 554, NXDOMAIN), and interop with
// Postfix's smtp-sink as the relayhost.
#include <poll.h>

#include "tests/unit/relay/delivery_test_support.h"

namespace ringmta::relay::testing {
namespace {

using smtp::Outcome;

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";
constexpr const char* kSmtpSink = "/usr/sbin/smtp-sink";

// True once something accepts TCP connections on ip:port (bounded wait).
bool wait_for_tcp(const char* ip, uint16_t port) {
  for (int i = 0; i < 100; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    inet_pton(AF_INET, ip, &sin.sin_addr);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class DeliveryMx : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kDnsmasq, X_OK) != 0) GTEST_SKIP() << "dnsmasq not installed";
    // The SMTP port all MX hosts share: the good server picks it, the
    // others are bound to it (or left closed) on their own addresses.
    ServerOptions good;
    good.local_domains = {"refused.test", "greet.test"};
    good_ = std::make_unique<TestServer>(good);
    port_ = good_->port();
    ServerOptions bad;
    bad.ip = "127.0.0.4";
    bad.port = port_;
    bad.greeting = "554 5.7.1 not here";
    rejecting_ = std::make_unique<TestServer>(bad);
    dns_port_ = unused_port();
    dnsmasq_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        kDnsmasq, "-k", "--port=" + std::to_string(dns_port_), "--listen-address=127.0.0.1", "--bind-interfaces",
        "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--user=root", "--local=/test/",
        "--host-record=marker.test,127.0.0.9",
        // refused.test: the preferred MX refuses connections (nothing listens on 127.0.0.3)
        "--mx-host=refused.test,mx1.refused.test,10", "--mx-host=refused.test,mx2.refused.test,20",
        "--host-record=mx1.refused.test,127.0.0.3", "--host-record=mx2.refused.test,127.0.0.2",
        // greet.test: the preferred MX greets with 554
        "--mx-host=greet.test,mx1.greet.test,10", "--mx-host=greet.test,mx2.greet.test,20",
        "--host-record=mx1.greet.test,127.0.0.4", "--host-record=mx2.greet.test,127.0.0.2",
        // down.test: every MX refuses
        "--mx-host=down.test,mx1.down.test,10", "--host-record=mx1.down.test,127.0.0.3"}, /*quiet_stdout=*/true);
    ASSERT_TRUE(wait_for_dns(dns_port_)) << "dnsmasq did not come up";
  }

  config::Config config() {
    config::Config c = test_config();
    c.dns.servers = {"127.0.0.1:" + std::to_string(dns_port_)};
    c.delivery.port = port_;
    return c;
  }

  std::unique_ptr<TestServer> good_, rejecting_;
  std::unique_ptr<ChildProcess> dnsmasq_;
  uint16_t port_ = 0, dns_port_ = 0;
};

TEST_F(DeliveryMx, RefusedFirstMxFallsBackToTheNextPreference) {
  AgentHarness agent(config());
  agent.submit(make_job("J", {"a@refused.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(r->remote_host, "mx2.refused.test");
  EXPECT_EQ(r->remote_addr, "127.0.0.2:" + std::to_string(port_));
  EXPECT_EQ(good_->message_count(), 1u);
}

TEST_F(DeliveryMx, RejectingGreetingFallsBackToTheNextMx) {
  AgentHarness agent(config());
  agent.submit(make_job("J", {"a@greet.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(r->remote_host, "mx2.greet.test");
  EXPECT_EQ(rejecting_->connections(), 1);
}

TEST_F(DeliveryMx, AllMxRefusedIsTemporary) {
  AgentHarness agent(config());
  agent.submit(make_job("J", {"a@down.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_EQ(r->results[0].text,
            "connect to mx1.down.test[127.0.0.3]:" + std::to_string(port_) + ": Connection refused");
  EXPECT_EQ(r->remote_host, "mx1.down.test");
}

// Mail loops (config/self_addresses.h): MX hosts from the first one that is
// our own listener on are dropped. refused.test: mx1 (127.0.0.3) refuses,
// mx2 (127.0.0.2, the good server) is made our listener here.
TEST_F(DeliveryMx, OwnListenerAsLowerMxIsDroppedAndTheMailDeferred) {
  config::Config c = config();
  config::ListenerConfig l;
  l.address = *engine::SocketAddress::from_ip("127.0.0.2", port_);
  l.address_text = "127.0.0.2:" + std::to_string(port_);
  c.listeners = {l};
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@refused.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  // The better MX failed for now: deferred, never handed to ourselves.
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail) << r->results[0].text;
  EXPECT_EQ(r->remote_host, "mx1.refused.test");
  EXPECT_EQ(good_->connections(), 0);
}

TEST_F(DeliveryMx, OwnListenerAsBestMxLoopsBackPermanently) {
  config::Config c = config();
  config::ListenerConfig l;
  l.address = *engine::SocketAddress::from_ip("0.0.0.0", port_);  // every local address
  l.address_text = "0.0.0.0:" + std::to_string(port_);
  c.listeners = {l};
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@greet.test"}));  // mx1 127.0.0.4, mx2 127.0.0.2: both loopback
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::PermFail) << r->results[0].text;
  EXPECT_EQ(r->results[0].enhanced, "5.4.6");
  EXPECT_NE(r->results[0].text.find("mail for greet.test goes to mx1.greet.test[127.0.0.4:"), std::string::npos)
      << r->results[0].text;
  EXPECT_EQ(rejecting_->connections(), 0);
  EXPECT_EQ(good_->connections(), 0);
}

TEST_F(DeliveryMx, NxDomainIsPermanent) {
  AgentHarness agent(config());
  agent.submit(make_job("J", {"a@nosuch.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::PermFail);
  EXPECT_EQ(r->results[0].enhanced, "5.1.2");
  EXPECT_TRUE(r->results[0].local);
  EXPECT_NE(r->results[0].text.find("nosuch.test"), std::string::npos) << r->results[0].text;
  EXPECT_EQ(r->remote_host, "");
}

TEST_F(DeliveryMx, DnsServerUnreachableIsTemporary) {
  config::Config c = config();
  c.dns.servers = {"127.0.0.1:" + std::to_string(unused_port())};  // nobody listens there
  c.dns.timeout = 1s;
  AgentHarness agent(c);
  agent.submit(make_job("J", {"a@refused.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_EQ(r->results[0].enhanced, "4.4.3");
}

TEST(DeliverySmtpSink, RelayhostIsPostfixSmtpSink) {
  if (access(kSmtpSink, X_OK) != 0) GTEST_SKIP() << "smtp-sink not installed";
  uint16_t port = unused_port("127.0.0.5");
  ChildProcess sink({kSmtpSink, "-u", "root", "127.0.0.5:" + std::to_string(port), "10"}, /*quiet_stdout=*/true);
  ASSERT_TRUE(wait_for_tcp("127.0.0.5", port));
  config::Config c = test_config();
  c.delivery.relayhost = literal_target("127.0.0.5", port);
  AgentHarness agent(c);
  for (int i = 0; i < 5; ++i)
    agent.submit(make_job("J" + std::to_string(i), {"a@example.org", "b@example.org"}));
  ASSERT_TRUE(agent.wait_results(5));
  for (const auto& r : agent.results())
    for (const auto& rr : r.results) EXPECT_EQ(rr.outcome, Outcome::Accepted) << rr.text;
}

}  // namespace
}  // namespace ringmta::relay::testing
