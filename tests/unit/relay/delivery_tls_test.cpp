// tests/unit/relay/delivery_tls_test.cpp — outbound STARTTLS through the
// DeliveryAgent against the in-process SMTP server speaking real TLS
// (tls::ServerContext with a self-signed certificate for mx.tls.test):
// levels none/may/encrypt/verify, refused STARTTLS, a broken handshake
// ("may" retries in plaintext, required levels never do), verification
// against a CA file with the right and the wrong name (MX names from
// dnsmasq), the next MX after a TLS failure, [delivery.tls_policy] per
// domain, and a bad CA file.
#include <filesystem>

#include "tests/unit/relay/delivery_test_support.h"

namespace ringmta::relay::testing {
namespace {

namespace fs = std::filesystem;
using smtp::Outcome;

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";
constexpr const char* kCertName = "mx.tls.test";

// One self-signed certificate for mx.tls.test per test binary, in a
// temporary directory removed at exit.
struct TestCertificate {
  fs::path dir;
  std::string cert, key;
  std::shared_ptr<tls::ServerContext> context;
  TestCertificate() {
    std::string tmpl = (fs::temp_directory_path() / "delivery_tls.XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    tls::SelfSigned s = tls::ensure_self_signed(dir.string(), kCertName);
    EXPECT_EQ(s.error, "");
    cert = s.certificate;
    key = s.private_key;
    tls::ServerOptions o;
    o.default_certificate = {cert, key, {}};
    std::string error;
    context = tls::ServerContext::create(o, &error);
    EXPECT_TRUE(context) << error;
  }
  ~TestCertificate() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const TestCertificate& certificate() {
  static TestCertificate c;
  return c;
}

ServerOptions tls_server(std::string ip = "127.0.0.2", uint16_t port = 0) {
  ServerOptions o;
  o.ip = std::move(ip);
  o.port = port;
  o.local_domains = {"ok.example", "tls.test", "wrong.test", "fallback.test", "strict.example", "loose.example"};
  o.tls = certificate().context;
  return o;
}

ServerOptions plain_server(std::string ip = "127.0.0.2", uint16_t port = 0) {
  ServerOptions o = tls_server(std::move(ip), port);
  o.tls = nullptr;
  return o;
}

config::Config relayhost_config(const TestServer& server, config::OutboundTls level, const std::string& ip = "127.0.0.2") {
  config::Config c = test_config();
  c.delivery.relayhost = literal_target(ip, server.port());
  c.delivery.tls = level;
  return c;
}

std::string peer(const TestServer& server, const std::string& ip = "127.0.0.2") {
  return ip + "[" + ip + "]:" + std::to_string(server.port());
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }
bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST(DeliveryTls, MayUsesStartTlsWhenOfferedAndCarriesABigMessage) {
  TestServer server(tls_server());
  AgentHarness agent(relayhost_config(server, config::OutboundTls::May));
  // Several 64 KiB pieces, each encrypted on its own write.
  std::string body = "Subject: big\r\n\r\n";
  for (int i = 0; body.size() < 600 * 1024; ++i) body += "line " + std::to_string(i) + " of the big message\r\n";
  agent.submit(make_job("J", {"a@ok.example"}, body));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_TRUE(starts_with(r->tls, "TLSv1.3 TLS_")) << r->tls;
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(starts_with(got[0].tls, "TLS1.3 ")) << got[0].tls;
  ASSERT_GE(got[0].message.size(), body.size());
  EXPECT_EQ(got[0].message.substr(got[0].message.size() - body.size()), body);
  EXPECT_EQ(server.tls_handshakes(), 1);
}

TEST(DeliveryTls, MayWithoutStartTlsIsPlaintext) {
  TestServer server(plain_server());
  AgentHarness agent(relayhost_config(server, config::OutboundTls::May));
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(r->tls, "");
  ASSERT_EQ(server.message_count(), 1u);
  EXPECT_EQ(server.received()[0].tls, "");
}

TEST(DeliveryTls, MayGoesOnInPlaintextWhenStartTlsIsRefused) {
  ServerOptions o = tls_server();
  o.starttls_reply = "454 4.7.0 TLS not available due to temporary reason";
  TestServer server(o);
  AgentHarness agent(relayhost_config(server, config::OutboundTls::May));
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(r->tls, "");
  EXPECT_EQ(server.connections(), 1);  // the same connection went on
  EXPECT_EQ(server.message_count(), 1u);
}

TEST(DeliveryTls, MayRetriesInPlaintextAfterABrokenHandshake) {
  ServerOptions o = tls_server();
  o.break_tls = true;
  TestServer server(o);
  AgentHarness agent(relayhost_config(server, config::OutboundTls::May));
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(r->tls, "");
  EXPECT_EQ(server.connections(), 2);  // TLS attempt, then plaintext
  ASSERT_EQ(server.message_count(), 1u);
  EXPECT_EQ(server.received()[0].connection, 2);
  EXPECT_EQ(server.received()[0].tls, "");
}

TEST(DeliveryTls, NoneNeverStartsTls) {
  TestServer server(tls_server());
  AgentHarness agent(relayhost_config(server, config::OutboundTls::None));
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(r->tls, "");
  EXPECT_EQ(server.tls_handshakes(), 0);
}

TEST(DeliveryTls, EncryptAcceptsASelfSignedCertificate) {
  TestServer server(tls_server());
  AgentHarness agent(relayhost_config(server, config::OutboundTls::Encrypt));
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_TRUE(starts_with(r->tls, "TLSv1.")) << r->tls;
  ASSERT_EQ(server.message_count(), 1u);
  EXPECT_NE(server.received()[0].tls, "");
}

TEST(DeliveryTls, EncryptDefersWhenStartTlsIsNotOffered) {
  TestServer server(plain_server());
  AgentHarness agent(relayhost_config(server, config::OutboundTls::Encrypt));
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_EQ(r->results[0].enhanced, "4.7.4");
  EXPECT_EQ(r->results[0].text, "TLS is required but " + peer(server) + " did not offer STARTTLS");
  EXPECT_EQ(r->tls, "");
  EXPECT_EQ(server.message_count(), 0u);  // never plaintext
}

TEST(DeliveryTls, EncryptDefersWhenStartTlsIsRefused) {
  ServerOptions o = tls_server();
  o.starttls_reply = "454 4.7.0 TLS not available due to temporary reason";
  TestServer server(o);
  AgentHarness agent(relayhost_config(server, config::OutboundTls::Encrypt));
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_EQ(r->results[0].text, "TLS is required but " + peer(server) +
                                    " refused STARTTLS: 454 4.7.0 TLS not available due to temporary reason");
  EXPECT_EQ(server.message_count(), 0u);
}

TEST(DeliveryTls, EncryptNeverFallsBackAfterABrokenHandshake) {
  ServerOptions o = tls_server();
  o.break_tls = true;
  TestServer server(o);
  AgentHarness agent(relayhost_config(server, config::OutboundTls::Encrypt));
  agent.submit(make_job("J", {"a@ok.example"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_EQ(r->results[0].enhanced, "4.7.5");
  EXPECT_TRUE(starts_with(r->results[0].text, "TLS handshake with " + peer(server) + " failed: "))
      << r->results[0].text;
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.message_count(), 0u);
}

TEST(DeliveryTls, ReusedTlsConnectionCarriesSeveralMessages) {
  TestServer server(tls_server());
  AgentHarness agent(relayhost_config(server, config::OutboundTls::Encrypt));
  for (int i = 0; i < 3; ++i) {
    const std::string id = "J" + std::to_string(i);
    agent.submit(make_job(id, {"a@ok.example"}));
    auto r = agent.result(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
    EXPECT_NE(r->tls, "");
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.tls_handshakes(), 1);
  EXPECT_EQ(server.message_count(), 3u);
}

// [delivery.tls_policy] is per recipient domain even through one relayhost:
// strict.example needs TLS the server lacks, loose.example does not.
TEST(DeliveryTls, PolicyPerRecipientDomain) {
  TestServer server(plain_server());
  config::Config c = relayhost_config(server, config::OutboundTls::May);
  c.delivery.tls_policy["strict.example"] = config::OutboundTls::Encrypt;
  AgentHarness agent(c);
  agent.submit(make_job("S", {"a@strict.example"}));
  agent.submit(make_job("L", {"b@loose.example"}));
  auto strict = agent.result("S");
  auto loose = agent.result("L");
  ASSERT_TRUE(strict && loose);
  EXPECT_EQ(strict->results[0].outcome, Outcome::TempFail);
  EXPECT_TRUE(contains(strict->results[0].text, "did not offer STARTTLS")) << strict->results[0].text;
  EXPECT_EQ(loose->results[0].outcome, Outcome::Accepted) << loose->results[0].text;
  ASSERT_EQ(server.message_count(), 1u);
  EXPECT_EQ(server.received()[0].recipients, std::vector<std::string>{"b@loose.example"});
}

TEST(DeliveryTls, UnreadableCaFileDefersRequiredTlsOnly) {
  TestServer server(tls_server());
  config::Config c = relayhost_config(server, config::OutboundTls::Verify);
  c.delivery.tls_ca_file = "/nonexistent/ca.pem";
  c.delivery.tls_policy["loose.example"] = config::OutboundTls::May;
  AgentHarness agent(c);
  agent.submit(make_job("V", {"a@ok.example"}));
  agent.submit(make_job("M", {"b@loose.example"}));
  auto v = agent.result("V");
  auto m = agent.result("M");
  ASSERT_TRUE(v && m);
  EXPECT_EQ(v->results[0].outcome, Outcome::TempFail);
  EXPECT_TRUE(starts_with(v->results[0].text, "TLS is required but not available: delivery.tls_ca_file: "))
      << v->results[0].text;
  EXPECT_EQ(m->results[0].outcome, Outcome::Accepted) << m->results[0].text;
  EXPECT_EQ(m->tls, "");  // no TLS context at all: plaintext
  EXPECT_EQ(server.message_count(), 1u);
}

// MX names come from dnsmasq, so "verify" has a host name to check:
//   tls.test      MX mx.tls.test         -> 127.0.0.2 (TLS, certificate for mx.tls.test)
//   wrong.test    MX other.wrong.test    -> 127.0.0.2 (same certificate: wrong name)
//   fallback.test MX mx1.fallback.test   -> 127.0.0.3 (no STARTTLS), then mx.tls.test
class DeliveryTlsDns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kDnsmasq, X_OK) != 0) GTEST_SKIP() << "dnsmasq not installed";
    tls_ = std::make_unique<TestServer>(tls_server());
    port_ = tls_->port();
    plain_ = std::make_unique<TestServer>(plain_server("127.0.0.3", port_));
    dns_port_ = unused_port();
    dnsmasq_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        kDnsmasq, "-k", "--port=" + std::to_string(dns_port_), "--listen-address=127.0.0.1", "--bind-interfaces",
        "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--user=root", "--local=/test/",
        "--host-record=marker.test,127.0.0.9",
        "--mx-host=tls.test,mx.tls.test,10", "--host-record=mx.tls.test,127.0.0.2",
        "--mx-host=wrong.test,other.wrong.test,10", "--host-record=other.wrong.test,127.0.0.2",
        "--mx-host=fallback.test,mx1.fallback.test,10", "--mx-host=fallback.test,mx.tls.test,20",
        "--host-record=mx1.fallback.test,127.0.0.3"}, /*quiet_stdout=*/true);
    ASSERT_TRUE(wait_for_dns(dns_port_)) << "dnsmasq did not come up";
  }

  config::Config config(config::OutboundTls level, bool trust_test_certificate) {
    config::Config c = test_config();
    c.dns.servers = {"127.0.0.1:" + std::to_string(dns_port_)};
    c.delivery.port = port_;
    c.delivery.tls = level;
    if (trust_test_certificate) c.delivery.tls_ca_file = certificate().cert;
    return c;
  }

  std::unique_ptr<TestServer> tls_, plain_;
  std::unique_ptr<ChildProcess> dnsmasq_;
  uint16_t port_ = 0, dns_port_ = 0;
};

TEST_F(DeliveryTlsDns, VerifyWithTrustedCaAndMatchingMxName) {
  AgentHarness agent(config(config::OutboundTls::Verify, true));
  agent.submit(make_job("J", {"a@tls.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(r->remote_host, "mx.tls.test");
  EXPECT_TRUE(starts_with(r->tls, "TLSv1.")) << r->tls;
  EXPECT_EQ(tls_->message_count(), 1u);
}

TEST_F(DeliveryTlsDns, VerifyDefersOnANameMismatch) {
  AgentHarness agent(config(config::OutboundTls::Verify, true));
  agent.submit(make_job("J", {"a@wrong.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  const std::string& text = r->results[0].text;
  EXPECT_TRUE(starts_with(text, "TLS handshake with other.wrong.test[127.0.0.2]:")) << text;
  EXPECT_TRUE(contains(text, "certificate verify failed")) << text;
  EXPECT_TRUE(contains(text, "mismatch")) << text;
  EXPECT_EQ(tls_->message_count(), 0u);
}

TEST_F(DeliveryTlsDns, VerifyDefersOnAnUntrustedCertificate) {
  AgentHarness agent(config(config::OutboundTls::Verify, false));  // system store only
  agent.submit(make_job("J", {"a@tls.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_TRUE(contains(r->results[0].text, "certificate verify failed")) << r->results[0].text;
  EXPECT_TRUE(contains(r->results[0].text, "self-signed") || contains(r->results[0].text, "self signed"))
      << r->results[0].text;
  EXPECT_EQ(tls_->message_count(), 0u);
}

TEST_F(DeliveryTlsDns, EncryptFailureOnTheFirstMxTriesTheNext) {
  AgentHarness agent(config(config::OutboundTls::Encrypt, false));
  agent.submit(make_job("J", {"a@fallback.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::Accepted) << r->results[0].text;
  EXPECT_EQ(r->remote_host, "mx.tls.test");
  EXPECT_NE(r->tls, "");
  EXPECT_EQ(plain_->connections(), 1);
  EXPECT_EQ(plain_->message_count(), 0u);
  EXPECT_EQ(tls_->message_count(), 1u);
}

TEST_F(DeliveryTlsDns, VerifyFailingOnEveryMxDefersWithTheLastReason) {
  // fallback.test: mx1 has no STARTTLS, mx.tls.test is untrusted (no CA file).
  AgentHarness agent(config(config::OutboundTls::Verify, false));
  agent.submit(make_job("J", {"a@fallback.test"}));
  auto r = agent.result("J");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].outcome, Outcome::TempFail);
  EXPECT_TRUE(contains(r->results[0].text, "certificate verify failed")) << r->results[0].text;
  EXPECT_EQ(r->remote_host, "mx.tls.test");
  EXPECT_EQ(plain_->connections(), 1);
  EXPECT_EQ(plain_->message_count() + tls_->message_count(), 0u);
}

}  // namespace
}  // namespace ringmta::relay::testing
