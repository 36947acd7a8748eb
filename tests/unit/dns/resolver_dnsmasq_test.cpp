// tests/unit/dns/resolver_dnsmasq_test.cpp — the Resolver against a real DNS
// server: dnsmasq on 127.0.0.1:<free port>, started by this test (one per
// suite), killed by its PID at the end. The Resolver runs on a real Reactor
// in a thread of the test. Faults dnsmasq cannot produce are in
// resolver_fault_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>
#include <set>

#include "tests/unit/dns/dns_test_support.h"

namespace ringmta::dns::testing {
namespace {

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

class DnsmasqTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kDnsmasq, X_OK) != 0) return;
    port_ = free_port();
    log_ = "/tmp/ringmta-dns-test-dnsmasq-" + std::to_string(getpid()) + ".log";
    unlink(log_.c_str());
    std::vector<std::string> argv = {
        kDnsmasq, "-k", "--port=" + std::to_string(port_), "--listen-address=127.0.0.1",
        "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
        "--user=root", "--log-queries", "--log-facility=" + log_,
        // Everything under .test is answered locally: unknown names are
        // NXDOMAIN, known names without the asked type NODATA.
        "--local=/test/", "--local-ttl=300",
        "--mx-host=mx.test,mx1.mx.test,10", "--mx-host=mx.test,mx2.mx.test,20",
        "--host-record=mx1.mx.test,127.0.0.2,::2", "--host-record=mx2.mx.test,127.0.0.3",
        "--mx-host=eq.test,a.eq.test,10", "--mx-host=eq.test,b.eq.test,10",
        "--mx-host=eq.test,c.eq.test,5", "--host-record=a.eq.test,127.0.1.1",
        "--host-record=b.eq.test,127.0.1.2", "--host-record=c.eq.test,127.0.1.3",
        "--host-record=implicit.test,127.0.0.4",
        "--mx-host=partial.test,missing.test,5", "--mx-host=partial.test,good.partial.test,10",
        "--host-record=good.partial.test,127.0.0.5",
        "--mx-host=nohost.test,ghost.nohost.test,10",
        "--cname=alias.test,mx.test", "--cname=halias.test,mx1.mx.test",
        "--txt-record=bare.test,nothing here",
        "--host-record=dual.test,127.0.0.6,::6",
        "--mx-host=cached.test,mx.cached.test,10", "--host-record=mx.cached.test,127.0.0.7",
        "--mx-host=flight.test,mx.flight.test,10", "--host-record=mx.flight.test,127.0.0.10",
        "--host-record=marker.test,127.0.0.11",
    };
    server_ = new ChildProcess(argv);
    up_ = wait_for_dns(port_, "mx.test");
  }
  static void TearDownTestSuite() {
    delete server_;  // SIGTERM to exactly the PID we started, then waitpid
    server_ = nullptr;
    unlink(log_.c_str());
  }
  void SetUp() override {
    if (access(kDnsmasq, X_OK) != 0) GTEST_SKIP() << "dnsmasq not installed";
    ASSERT_TRUE(up_) << "dnsmasq did not come up on port " << port_;
  }
  static ResolverOptions options() {
    ResolverOptions o;
    o.servers = {"127.0.0.1:" + std::to_string(port_)};
    o.timeout = std::chrono::milliseconds(5000);
    std::mt19937_64 rng(1);
    o.random = [rng]() mutable { return rng(); };
    return o;
  }
  // Queries dnsmasq logged for `name` (dnsmasq logs "query[TYPE] name from ...").
  static size_t logged(const std::string& type, const std::string& name) {
    return count_of(read_file(log_), "query[" + type + "] " + name + " from");
  }
  // dnsmasq writes its log asynchronously but in order: once a later marker
  // query shows up, every earlier query is in the log too.
  static bool log_caught_up(ResolverHarness& h, const std::string& marker_name) {
    EXPECT_EQ(h.host(marker_name).kind, ResultKind::kOk);
    for (int i = 0; i < 100; ++i) {  // at most ~5 s
      if (logged("A", marker_name) > 0) return true;
      usleep(50 * 1000);
    }
    return false;
  }

  static inline uint16_t port_ = 0;
  static inline std::string log_;
  static inline ChildProcess* server_ = nullptr;
  static inline bool up_ = false;
};

TEST_F(DnsmasqTest, MxHostsInPreferenceOrderWithAddresses) {
  ResolverHarness h(options());
  Result r = h.mx("mx.test");
  ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
  EXPECT_FALSE(r.implicit);
  ASSERT_EQ(names(r), (std::vector<std::string>{"mx1.mx.test", "mx2.mx.test"}));
  EXPECT_EQ(r.hosts[0].preference, 10);
  EXPECT_EQ(r.hosts[1].preference, 20);
  EXPECT_EQ(ips(r.hosts[0]), (std::vector<std::string>{"127.0.0.2", "::2"}));  // IPv4 first
  EXPECT_EQ(ips(r.hosts[1]), (std::vector<std::string>{"127.0.0.3"}));
  EXPECT_EQ(r.hosts[0].addresses[0].port(), 0);
  EXPECT_EQ(r.ttl, std::chrono::seconds(300));
}

TEST_F(DnsmasqTest, EqualPreferencesShuffledDeterministically) {
  // Same seed, same sequence of orders; over the lookups both orders show up.
  auto run = [&](uint64_t seed) {
    ResolverOptions o = options();
    std::mt19937_64 rng(seed);
    o.random = [rng]() mutable { return rng(); };
    ResolverHarness h(o);
    std::vector<std::string> seen;
    for (int i = 0; i < 16; ++i) {
      Result r = h.mx("eq.test");
      EXPECT_EQ(r.kind, ResultKind::kOk) << r.error;
      if (r.hosts.size() != 3) return seen;
      EXPECT_EQ(r.hosts[0].name, "c.eq.test");  // preference 5 always first
      seen.push_back(r.hosts[1].name + "," + r.hosts[2].name);
    }
    return seen;
  };
  auto a = run(42), b = run(42);
  EXPECT_EQ(a, b);
  std::set<std::string> distinct(a.begin(), a.end());
  EXPECT_EQ(distinct, (std::set<std::string>{"a.eq.test,b.eq.test", "b.eq.test,a.eq.test"}));
}

TEST_F(DnsmasqTest, ImplicitMxWhenNoMxRecords) {
  ResolverHarness h(options());
  Result r = h.mx("implicit.test");
  ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
  EXPECT_TRUE(r.implicit);
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0].name, "implicit.test");
  EXPECT_EQ(r.hosts[0].preference, 0);
  EXPECT_EQ(ips(r.hosts[0]), (std::vector<std::string>{"127.0.0.4"}));
}

TEST_F(DnsmasqTest, MxHostWithoutAddressIsSkipped) {
  ResolverHarness h(options());
  Result r = h.mx("partial.test");
  ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
  EXPECT_EQ(names(r), (std::vector<std::string>{"good.partial.test"}));
  EXPECT_NE(r.error.find("missing.test"), std::string::npos) << r.error;
}

TEST_F(DnsmasqTest, NoMxHostWithAddressIsTempFail) {
  ResolverHarness h(options());
  Result r = h.mx("nohost.test");
  EXPECT_EQ(r.kind, ResultKind::kTempFail);
  EXPECT_NE(r.error.find("MX host has no address"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("ghost.nohost.test"), std::string::npos) << r.error;
}

TEST_F(DnsmasqTest, NxDomain) {
  ResolverHarness h(options());
  Result r = h.mx("nowhere.test");
  EXPECT_EQ(r.kind, ResultKind::kNxDomain) << r.error;
  EXPECT_TRUE(r.hosts.empty());
  EXPECT_EQ(r.ttl, std::chrono::seconds(60));  // no SOA from dnsmasq: negative_ttl
  EXPECT_EQ(h.host("nowhere.test").kind, ResultKind::kNxDomain);
  EXPECT_EQ(h.stats().nxdomain, 2u);
}

TEST_F(DnsmasqTest, NameWithoutMxOrAddressIsNoAddress) {
  ResolverHarness h(options());
  Result r = h.mx("bare.test");
  EXPECT_EQ(r.kind, ResultKind::kNoAddress) << r.error;
  EXPECT_EQ(h.host("bare.test").kind, ResultKind::kNoAddress);
}

TEST_F(DnsmasqTest, RefusedIsTempFail) {
  ResolverHarness h(options());  // dnsmasq has no upstream: REFUSED outside .test
  Result r = h.mx("example.org");
  EXPECT_EQ(r.kind, ResultKind::kTempFail) << r.error;
  EXPECT_FALSE(r.error.empty());
}

TEST_F(DnsmasqTest, CnameFollowedForMxAndAddresses) {
  ResolverHarness h(options());
  Result r = h.mx("alias.test");  // dnsmasq answers CNAME + the target's MX set
  ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
  EXPECT_FALSE(r.implicit);
  EXPECT_EQ(names(r), (std::vector<std::string>{"mx1.mx.test", "mx2.mx.test"}));
  Result a = h.host("halias.test");
  ASSERT_EQ(a.kind, ResultKind::kOk) << a.error;
  EXPECT_EQ(a.hosts[0].name, "halias.test");
  EXPECT_EQ(ips(a.hosts[0]), (std::vector<std::string>{"127.0.0.2", "::2"}));
}

TEST_F(DnsmasqTest, AddressFamiliesAndOrder) {
  {
    ResolverHarness h(options());
    Result r = h.host("dual.test");
    ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
    EXPECT_EQ(ips(r.hosts[0]), (std::vector<std::string>{"127.0.0.6", "::6"}));
  }
  for (auto [order, want] : std::vector<std::pair<AddressOrder, std::vector<std::string>>>{
           {AddressOrder::kIpv6First, {"::6", "127.0.0.6"}},
           {AddressOrder::kIpv4Only, {"127.0.0.6"}},
           {AddressOrder::kIpv6Only, {"::6"}}}) {
    ResolverOptions o = options();
    o.address_order = order;
    ResolverHarness h(o);
    Result r = h.host("dual.test");
    ASSERT_EQ(r.kind, ResultKind::kOk) << r.error;
    EXPECT_EQ(ips(r.hosts[0]), want);
  }
}

TEST_F(DnsmasqTest, IpLiteralsNeedNoDns) {
  ResolverHarness h(options());
  Result r = h.host("[127.0.0.9]");
  ASSERT_EQ(r.kind, ResultKind::kOk);
  EXPECT_EQ(ips(r.hosts[0]), (std::vector<std::string>{"127.0.0.9"}));
  Result m = h.mx("[IPv6:::1]");
  ASSERT_EQ(m.kind, ResultKind::kOk);
  EXPECT_EQ(ips(m.hosts[0]), (std::vector<std::string>{"::1"}));
  EXPECT_EQ(h.host("bad name.test").kind, ResultKind::kNxDomain);
  EXPECT_EQ(h.stats().queries_sent, 0u);
}

TEST_F(DnsmasqTest, SecondLookupServedFromCache) {
  ResolverHarness h(options());
  Result first = h.mx("cached.test");
  ASSERT_EQ(first.kind, ResultKind::kOk) << first.error;
  ResolverStats s1 = h.stats();
  Result second = h.mx("cached.test");
  ASSERT_EQ(second.kind, ResultKind::kOk) << second.error;
  EXPECT_EQ(names(second), names(first));
  EXPECT_EQ(ips(second.hosts[0]), ips(first.hosts[0]));
  ResolverStats s2 = h.stats();
  EXPECT_EQ(s2.queries_sent, s1.queries_sent);
  EXPECT_EQ(s2.cache_hits, s1.cache_hits + 2);  // the MX set and mx.cached.test's addresses
  ASSERT_TRUE(log_caught_up(h, "marker.test"));
  EXPECT_EQ(logged("MX", "cached.test"), 1u);
  EXPECT_EQ(logged("A", "mx.cached.test"), 1u);
  EXPECT_EQ(logged("AAAA", "mx.cached.test"), 1u);
}

TEST_F(DnsmasqTest, ConcurrentLookupsShareOneQuery) {
  ResolverHarness h(options());
  auto p1 = std::make_shared<std::promise<Result>>();
  auto p2 = std::make_shared<std::promise<Result>>();
  h.call([&] {  // both start in the same loop iteration: the second joins the first
    h.resolver().resolve_mx("flight.test", [p1](const Result& r) { p1->set_value(r); });
    h.resolver().resolve_mx("flight.test", [p2](const Result& r) { p2->set_value(r); });
  });
  Result r1 = ResolverHarness::wait(p1->get_future().share());
  Result r2 = ResolverHarness::wait(p2->get_future().share());
  ASSERT_EQ(r1.kind, ResultKind::kOk) << r1.error;
  ASSERT_EQ(r2.kind, ResultKind::kOk) << r2.error;
  EXPECT_EQ(names(r1), names(r2));
  ResolverStats s = h.stats();
  EXPECT_EQ(s.joined_inflight, 2u);  // the MX set, then mx.flight.test's addresses
  EXPECT_EQ(s.queries_sent, 3u);  // MX, then A and AAAA of mx.flight.test, once
  ASSERT_TRUE(log_caught_up(h, "marker.test"));
  EXPECT_EQ(logged("MX", "flight.test"), 1u);
}

TEST_F(DnsmasqTest, CacheIsBoundedLru) {
  ResolverOptions o = options();
  o.cache_entries = 2;
  ResolverHarness h(o);
  ASSERT_EQ(h.host("mx2.mx.test").kind, ResultKind::kOk);
  ASSERT_EQ(h.host("good.partial.test").kind, ResultKind::kOk);
  ASSERT_EQ(h.host("mx2.mx.test").kind, ResultKind::kOk);  // hit; now most recent
  ASSERT_EQ(h.host("implicit.test").kind, ResultKind::kOk);  // evicts good.partial.test
  ResolverStats s = h.stats();
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.cache_evictions, 1u);
  size_t size = 0;
  h.call([&] { size = h.resolver().cache_size(); });
  EXPECT_EQ(size, 2u);
  ASSERT_EQ(h.host("mx2.mx.test").kind, ResultKind::kOk);
  EXPECT_EQ(h.stats().cache_hits, 2u);
  ASSERT_EQ(h.host("good.partial.test").kind, ResultKind::kOk);
  EXPECT_EQ(h.stats().cache_hits, 2u);  // was evicted: asked again
}

TEST_F(DnsmasqTest, ManyConcurrentLookups) {
  ResolverHarness h(options());
  const std::vector<std::pair<std::string, ResultKind>> cases = {
      {"mx.test", ResultKind::kOk},          {"eq.test", ResultKind::kOk},
      {"implicit.test", ResultKind::kOk},    {"partial.test", ResultKind::kOk},
      {"nohost.test", ResultKind::kTempFail}, {"alias.test", ResultKind::kOk},
      {"bare.test", ResultKind::kNoAddress}, {"nowhere.test", ResultKind::kNxDomain},
  };
  std::vector<std::shared_ptr<std::promise<Result>>> promises;
  h.call([&] {
    for (int round = 0; round < 25; ++round) {
      for (const auto& c : cases) {
        auto p = std::make_shared<std::promise<Result>>();
        promises.push_back(p);
        h.resolver().resolve_mx(c.first, [p](const Result& r) { p->set_value(r); });
      }
    }
  });
  for (size_t i = 0; i < promises.size(); ++i) {
    Result r = ResolverHarness::wait(promises[i]->get_future().share());
    EXPECT_EQ(r.kind, cases[i % cases.size()].second) << cases[i % cases.size()].first << ": " << r.error;
  }
  ResolverStats s = h.stats();
  EXPECT_EQ(s.mx_lookups, 200u);
  EXPECT_EQ(s.ok + s.tempfail + s.no_address + s.nxdomain, 200u);
  EXPECT_LT(s.queries_sent, 40u);  // shared in flight, not 200 x 3
}

TEST_F(DnsmasqTest, CancelledRequestIsNotCalledBack) {
  ResolverHarness h(options());
  bool called = false;
  auto p = std::make_shared<std::promise<Result>>();
  h.call([&] {
    auto id = h.resolver().resolve_mx("mx.test", [&called](const Result&) { called = true; });
    h.resolver().cancel(id);
    h.resolver().resolve_mx("mx.test", [p](const Result& r) { p->set_value(r); });
  });
  EXPECT_EQ(ResolverHarness::wait(p->get_future().share()).kind, ResultKind::kOk);
  bool seen = true;
  h.call([&] { seen = called; });
  EXPECT_FALSE(seen);
}

TEST_F(DnsmasqTest, DestroyWithLookupsOutstanding) {
  // Lookups in flight and results waiting for delivery are dropped without a
  // callback; nothing is touched after the Resolver is gone (ASan builds check).
  ResolverHarness h(options());
  int calls = 0;
  h.call([&] {
    h.resolver().resolve_mx("mx.test", [&calls](const Result&) { ++calls; });
    h.resolver().resolve_host("[127.0.0.1]", [&calls](const Result&) { ++calls; });
    h.destroy_resolver();
  });
  // Give stray completions (the answer to the abandoned query) a chance to arrive.
  EXPECT_TRUE(wait_for_dns(port_, "marker.test"));
  h.call([] {});
  h.call([&] { EXPECT_EQ(calls, 0); });
}

TEST_F(DnsmasqTest, CallbackMayDestroyTheResolver) {
  ResolverHarness h(options());
  auto done = std::make_shared<std::promise<Result>>();
  int calls = 0;
  h.call([&] {
    // Two results in the same delivery batch: the first callback destroys the
    // Resolver, the second must then not be called.
    h.resolver().resolve_host("[127.0.0.1]", [&h, &calls, done](const Result& r) {
      ++calls;
      h.destroy_resolver();
      done->set_value(r);
    });
    h.resolver().resolve_host("[127.0.0.2]", [&calls](const Result&) { ++calls; });
  });
  EXPECT_EQ(ResolverHarness::wait(done->get_future().share()).kind, ResultKind::kOk);
  h.call([] {});
  h.call([&] { EXPECT_EQ(calls, 1); });
}

}  // namespace
}  // namespace ringmta::dns::testing
