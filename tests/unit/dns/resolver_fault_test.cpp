// tests/unit/dns/resolver_fault_test.cpp — the Resolver against the scripted
// fake DNS server (fake_dns.py, python3-dnslib) for what dnsmasq cannot do:
// SERVFAIL, silence (timeouts), null MX, SOA negative TTLs, short TTLs. Also
// network errors (nothing listening) and a bad server option.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

#include "tests/unit/dns/dns_test_support.h"

namespace ringmta::dns::testing {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

class FakeDnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!available()) return;
    port_ = free_port();
    log_ = "/tmp/ringmta-dns-test-fake-" + std::to_string(getpid()) + ".log";
    unlink(log_.c_str());
    server_ = new ChildProcess({kPython, RINGMTA_DNS_FAKE_SERVER, std::to_string(port_), log_});
    up_ = wait_for_dns(port_, "probe.test");
  }
  static void TearDownTestSuite() {
    delete server_;  // SIGTERM to exactly the PID we started, then waitpid
    server_ = nullptr;
    unlink(log_.c_str());
  }
  static bool available() {
    static const bool yes = access(kPython, X_OK) == 0 &&
                            system("/usr/bin/python3 -c 'import dnslib' >/dev/null 2>&1") == 0;
    return yes;
  }
  void SetUp() override {
    if (!available()) GTEST_SKIP() << "python3-dnslib not installed";
    ASSERT_TRUE(up_) << "fake DNS server did not come up on port " << port_;
  }
  ResolverOptions options() {
    ResolverOptions o;
    o.servers = {"127.0.0.1:" + std::to_string(port_)};
    o.timeout = std::chrono::milliseconds(600);
    o.tries = 2;
    auto skew = skew_;
    o.now = [skew] { return engine::Clock::now() + std::chrono::milliseconds(skew->load()); };
    return o;
  }
  // The fake logs each query before answering it, so counts are exact once answered.
  static size_t logged(const std::string& name, const std::string& type) {
    return count_of("\n" + read_file(log_), "\n" + name + " " + type + "\n");
  }

  std::shared_ptr<std::atomic<int64_t>> skew_ = std::make_shared<std::atomic<int64_t>>(0);
  static inline uint16_t port_ = 0;
  static inline std::string log_;
  static inline ChildProcess* server_ = nullptr;
  static inline bool up_ = false;
};

TEST_F(FakeDnsTest, ServfailIsTempFailAndNotCached) {
  ResolverHarness h(options());
  Result r = h.mx("servfail.test");
  EXPECT_EQ(r.kind, ResultKind::kTempFail);
  EXPECT_NE(r.error.find("servfail.test"), std::string::npos) << r.error;
  size_t before = logged("servfail.test", "MX");
  EXPECT_EQ(h.mx("servfail.test").kind, ResultKind::kTempFail);
  EXPECT_GT(logged("servfail.test", "MX"), before);  // asked again: not cached
  EXPECT_EQ(h.stats().tempfail, 2u);
}

TEST_F(FakeDnsTest, TempFailCachedBrieflyWhenConfigured) {
  ResolverOptions o = options();
  o.tempfail_ttl = std::chrono::seconds(5);
  ResolverHarness h(o);
  EXPECT_EQ(h.host("refused.test").kind, ResultKind::kTempFail);
  size_t before = logged("refused.test", "A");
  EXPECT_EQ(h.host("refused.test").kind, ResultKind::kTempFail);
  EXPECT_EQ(logged("refused.test", "A"), before);
  skew_->store(6000);
  EXPECT_EQ(h.host("refused.test").kind, ResultKind::kTempFail);
  EXPECT_GT(logged("refused.test", "A"), before);
}

TEST_F(FakeDnsTest, SilentServerTimesOutAsTempFail) {
  ResolverHarness h(options());
  auto start = std::chrono::steady_clock::now();
  Result r = h.mx("silent.test");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.kind, ResultKind::kTempFail);
  EXPECT_FALSE(r.error.empty());
  // Not a pass/fail timing check: recorded for the log only.
  RecordProperty("timeout_ms", static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_GE(logged("silent.test", "MX"), 1u);
}

TEST_F(FakeDnsTest, NullMx) {
  ResolverHarness h(options());
  Result r = h.mx("nullmx.test");
  EXPECT_EQ(r.kind, ResultKind::kNullMx) << r.error;
  EXPECT_TRUE(r.hosts.empty());
  EXPECT_EQ(r.ttl, std::chrono::seconds(300));
  EXPECT_EQ(h.stats().null_mx, 1u);
}

TEST_F(FakeDnsTest, NxDomainNegativeTtlFromSoa) {
  ResolverHarness h(options());
  Result r = h.mx("soa-nx.test");
  EXPECT_EQ(r.kind, ResultKind::kNxDomain) << r.error;
  EXPECT_EQ(r.ttl, std::chrono::seconds(30));  // min(SOA TTL 300, MINIMUM 30)
  size_t before = logged("soa-nx.test", "MX");
  EXPECT_EQ(h.mx("soa-nx.test").kind, ResultKind::kNxDomain);
  EXPECT_EQ(logged("soa-nx.test", "MX"), before);  // cached
  skew_->store(31000);
  EXPECT_EQ(h.mx("soa-nx.test").kind, ResultKind::kNxDomain);
  EXPECT_EQ(logged("soa-nx.test", "MX"), before + 1);
}

TEST_F(FakeDnsTest, ShortTtlExpiresAndIsAskedAgain) {
  ResolverHarness h(options());
  Result r = h.mx("short.test");
  ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
  EXPECT_EQ(r.ttl, std::chrono::seconds(2));
  EXPECT_EQ(ips(r.hosts[0]), (std::vector<std::string>{"127.0.0.9"}));
  EXPECT_EQ(logged("short.test", "MX"), 1u);
  EXPECT_EQ(h.mx("short.test").kind, ResultKind::kOk);  // within the TTL: cached
  EXPECT_EQ(logged("short.test", "MX"), 1u);
  EXPECT_EQ(logged("mx.short.test", "A"), 1u);
  skew_->store(2500);  // past the TTL
  EXPECT_EQ(h.mx("short.test").kind, ResultKind::kOk);
  EXPECT_EQ(logged("short.test", "MX"), 2u);
  EXPECT_EQ(logged("mx.short.test", "A"), 2u);
}

TEST_F(FakeDnsTest, OneFamilyTimingOutStillGivesTheOther) {
  ResolverHarness h(options());
  Result r = h.mx("halfdead.test");
  ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
  EXPECT_EQ(ips(r.hosts[0]), (std::vector<std::string>{"127.0.0.8"}));
  EXPECT_EQ(r.ttl, std::chrono::seconds(0));  // partial answer: not cached
}

TEST_F(FakeDnsTest, TruncatedUdpAnswerRetriedOverTcp) {
  ResolverHarness h(options());
  Result r = h.mx("big.test");
  ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
  EXPECT_EQ(names(r), (std::vector<std::string>{"mx.big.test"}));
  EXPECT_EQ(ips(r.hosts[0]), (std::vector<std::string>{"127.0.0.12"}));
  EXPECT_GE(logged("big.test", "MX tcp"), 1u);
}

TEST_F(FakeDnsTest, NothingListeningIsTempFail) {
  ResolverOptions o = options();
  o.servers = {"127.0.0.1:" + std::to_string(free_port())};
  ResolverHarness h(o);
  Result r = h.mx("example.test");
  EXPECT_EQ(r.kind, ResultKind::kTempFail);
  EXPECT_FALSE(r.error.empty());
}

TEST(ResolverSetup, BadServerOptionFailsLookupsTemporarily) {
  ResolverOptions o;
  o.servers = {"not-an-ip"};
  ResolverHarness h(o);
  bool ok = true;
  std::string err;
  h.call([&] {
    ok = h.resolver().ok();
    err = h.resolver().init_error();
  });
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("not-an-ip"), std::string::npos) << err;
  Result r = h.mx("example.test");
  EXPECT_EQ(r.kind, ResultKind::kTempFail);
  EXPECT_NE(r.error.find("not-an-ip"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace ringmta::dns::testing
