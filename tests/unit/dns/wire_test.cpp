// tests/unit/dns/wire_test.cpp — the raw-answer RR walker and MX ordering, on
// hand-built DNS messages (no server needed).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <random>
#include <set>
#include <string>

#include "dns/lru_cache.h"
#include "dns/wire.h"

namespace ringmta::dns::wire {
namespace {

// Builds DNS messages without compression (except where a test adds a pointer).
class Msg {
 public:
  Msg(int rcode, const std::string& qname, uint16_t qtype) {
    put16(0x1234);
    put16(0x8180 | rcode);  // response, RD, RA
    put16(1);
    counts_ = bytes_.size();
    put16(0);  // an
    put16(0);  // ns
    put16(0);  // ar
    name(qname);
    put16(qtype);
    put16(1);
  }
  Msg& answer(const std::string& owner, uint16_t type, uint32_t ttl, const std::string& rdata) {
    return rr(0, owner, type, ttl, rdata);
  }
  Msg& authority(const std::string& owner, uint16_t type, uint32_t ttl, const std::string& rdata) {
    return rr(1, owner, type, ttl, rdata);
  }
  static std::string encode(const std::string& n) {
    std::string out;
    size_t start = 0;
    while (start < n.size()) {
      size_t dot = n.find('.', start);
      if (dot == std::string::npos) dot = n.size();
      out += static_cast<char>(dot - start);
      out += n.substr(start, dot - start);
      start = dot + 1;
    }
    out += '\0';
    return out;
  }
  static std::string mx(uint16_t pref, const std::string& host) {
    return std::string{static_cast<char>(pref >> 8), static_cast<char>(pref & 0xff)} + encode(host);
  }
  static std::string soa(uint32_t minimum) {
    std::string r = encode("ns.example") + encode("admin.example");
    for (uint32_t v : {1u, 3600u, 600u, 86400u, minimum}) r += be32(v);
    return r;
  }
  static std::string be32(uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  }
  bool parse(uint16_t qtype, Answer* a, std::string* err) const {
    return parse_answer(reinterpret_cast<const uint8_t*>(bytes_.data()), bytes_.size(), qtype, a, err);
  }
  std::string bytes_;

 private:
  Msg& rr(int section, const std::string& owner, uint16_t type, uint32_t ttl,
          const std::string& rdata) {
    name(owner);
    put16(type);
    put16(1);
    bytes_ += be32(ttl);
    put16(static_cast<uint16_t>(rdata.size()));
    bytes_ += rdata;
    size_t at = counts_ + 2 * section;
    uint16_t c = static_cast<uint16_t>((uint8_t(bytes_[at]) << 8 | uint8_t(bytes_[at + 1])) + 1);
    bytes_[at] = static_cast<char>(c >> 8);
    bytes_[at + 1] = static_cast<char>(c);
    return *this;
  }
  void name(const std::string& n) { bytes_ += encode(n); }
  void put16(uint16_t v) {
    bytes_ += static_cast<char>(v >> 8);
    bytes_ += static_cast<char>(v & 0xff);
  }
  size_t counts_ = 0;
};

TEST(Wire, MxRecordsWithMinTtlAndNormalizedNames) {
  Msg m(0, "Example.COM", kTypeMx);
  m.answer("example.com", kTypeMx, 300, Msg::mx(20, "MX2.example.com"))
      .answer("EXAMPLE.com", kTypeMx, 120, Msg::mx(10, "mx1.example.com"));
  Answer a;
  std::string err;
  ASSERT_TRUE(m.parse(kTypeMx, &a, &err)) << err;
  EXPECT_EQ(a.rcode, 0);
  ASSERT_EQ(a.mx.size(), 2u);
  EXPECT_EQ(a.mx[0], (MxRecord{20, "mx2.example.com"}));
  EXPECT_EQ(a.mx[1], (MxRecord{10, "mx1.example.com"}));
  EXPECT_EQ(a.ttl, 120u);
  EXPECT_EQ(a.canonical, "example.com");
}

TEST(Wire, NullMxIsTheRoot) {
  Msg m(0, "nomail.example", kTypeMx);
  m.answer("nomail.example", kTypeMx, 3600, Msg::mx(0, ""));
  Answer a;
  std::string err;
  ASSERT_TRUE(m.parse(kTypeMx, &a, &err)) << err;
  ASSERT_EQ(a.mx.size(), 1u);
  EXPECT_EQ(a.mx[0].exchange, "");
  EXPECT_EQ(a.mx[0].preference, 0);
}

TEST(Wire, FollowsCnameChainAndCountsItsTtl) {
  Msg m(0, "www.example", kTypeA);
  m.answer("www.example", kTypeCname, 30, Msg::encode("web.example"))
      .answer("web.example", kTypeCname, 600, Msg::encode("host.example"))
      .answer("host.example", kTypeA, 900, std::string("\x7f\x00\x00\x05", 4))
      .answer("unrelated.example", kTypeA, 5, std::string("\x7f\x00\x00\x06", 4));
  Answer a;
  std::string err;
  ASSERT_TRUE(m.parse(kTypeA, &a, &err)) << err;
  EXPECT_EQ(a.canonical, "host.example");
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.addresses[0].family, AF_INET);
  EXPECT_EQ(a.addresses[0].bytes[3], 5);
  EXPECT_EQ(a.ttl, 30u);
}

TEST(Wire, CnameWithoutTargetDataIsNoData) {
  Msg m(0, "alias.example", kTypeMx);
  m.answer("alias.example", kTypeCname, 30, Msg::encode("target.example"));
  Answer a;
  std::string err;
  ASSERT_TRUE(m.parse(kTypeMx, &a, &err)) << err;
  EXPECT_TRUE(a.mx.empty());
  EXPECT_FALSE(a.ttl.has_value());
}

TEST(Wire, AaaaRecords) {
  Msg m(0, "v6.example", kTypeAaaa);
  std::string ip(16, '\0');
  ip[15] = 1;
  m.answer("v6.example", kTypeAaaa, 60, ip).answer("v6.example", kTypeA, 60, "\x01\x02\x03\x04");
  Answer a;
  std::string err;
  ASSERT_TRUE(m.parse(kTypeAaaa, &a, &err)) << err;
  ASSERT_EQ(a.addresses.size(), 1u);  // the stray A is not an AAAA answer
  EXPECT_EQ(a.addresses[0].family, AF_INET6);
  EXPECT_EQ(a.addresses[0].bytes[15], 1);
}

TEST(Wire, NegativeTtlFromSoa) {
  Msg m(3, "gone.example", kTypeMx);
  m.authority("example", kTypeSoa, 900, Msg::soa(45));
  Answer a;
  std::string err;
  ASSERT_TRUE(m.parse(kTypeMx, &a, &err)) << err;
  EXPECT_EQ(a.rcode, kRcodeNxDomain);
  EXPECT_EQ(a.negative_ttl, 45u);  // min(SOA TTL, MINIMUM), RFC 2308
  Msg m2(0, "nodata.example", kTypeMx);
  m2.authority("example", kTypeSoa, 20, Msg::soa(45));
  ASSERT_TRUE(m2.parse(kTypeMx, &a, &err)) << err;
  EXPECT_EQ(a.negative_ttl, 20u);
}

TEST(Wire, TtlWithTopBitIsZero) {
  Msg m(0, "x.example", kTypeA);
  m.answer("x.example", kTypeA, 0x80000001u, "\x01\x02\x03\x04");
  Answer a;
  std::string err;
  ASSERT_TRUE(m.parse(kTypeA, &a, &err)) << err;
  EXPECT_EQ(a.ttl, 0u);
}

TEST(Wire, RejectsMalformedMessages) {
  Msg m(0, "example.com", kTypeMx);
  m.answer("example.com", kTypeMx, 300, Msg::mx(10, "mx.example.com"));
  Answer a;
  std::string err;
  for (size_t cut : {size_t{0}, size_t{5}, size_t{12}, m.bytes_.size() - 3}) {
    auto b = m.bytes_.substr(0, cut);
    EXPECT_FALSE(parse_answer(reinterpret_cast<const uint8_t*>(b.data()), b.size(), kTypeMx, &a, &err))
        << "cut at " << cut;
  }
  // A compression pointer to itself in the question name.
  Msg loop(0, "a", kTypeA);
  loop.bytes_[12] = static_cast<char>(0xc0);
  loop.bytes_[13] = 12;
  EXPECT_FALSE(loop.parse(kTypeA, &a, &err));
}

// A cheap stand-in for a fuzz target: deterministic byte mutations of a valid
// answer must never read out of bounds (run under ASan to make this bite).
TEST(Wire, SurvivesMutatedMessages) {
  Msg m(0, "example.com", kTypeMx);
  m.answer("example.com", kTypeCname, 30, Msg::encode("mail.example.com"))
      .answer("mail.example.com", kTypeMx, 300, Msg::mx(10, "mx.example.com"))
      .authority("example.com", kTypeSoa, 60, Msg::soa(30));
  std::mt19937 rng(7);
  size_t parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b = m.bytes_;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
      b[rng() % b.size()] = static_cast<char>(rng());
    }
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    for (uint16_t qtype : {kTypeMx, kTypeA}) {
      Answer a;
      std::string err;
      parsed += parse_answer(reinterpret_cast<const uint8_t*>(b.data()), b.size(), qtype, &a, &err);
    }
  }
  EXPECT_GT(parsed, 0u);
}

TEST(Wire, NormalizeName) {
  EXPECT_EQ(normalize_name("MX.Example.COM."), "mx.example.com");
  EXPECT_EQ(normalize_name("a.b"), "a.b");
  EXPECT_EQ(normalize_name("."), "");
}

TEST(OrderMx, SortsByPreference) {
  std::vector<MxRecord> r{{30, "c"}, {10, "a"}, {20, "b"}};
  order_mx(r, [] { return uint64_t{7}; });
  EXPECT_EQ(r, (std::vector<MxRecord>{{10, "a"}, {20, "b"}, {30, "c"}}));
}

TEST(OrderMx, ShufflesEqualPreferencesDeterministically) {
  std::set<std::string> orders;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<MxRecord> r{{20, "z"}, {10, "a"}, {10, "b"}, {10, "c"}};
    order_mx(r, [&] { return rng(); });
    EXPECT_EQ(r.back(), (MxRecord{20, "z"}));
    orders.insert(r[0].exchange + r[1].exchange + r[2].exchange);
    std::mt19937_64 again(seed);  // same seed, same order
    std::vector<MxRecord> r2{{20, "z"}, {10, "a"}, {10, "b"}, {10, "c"}};
    order_mx(r2, [&] { return again(); });
    EXPECT_EQ(r, r2);
  }
  EXPECT_EQ(orders.size(), 6u);  // all permutations of a, b, c show up
}

TEST(LruCache, EvictsLeastRecentlyUsed) {
  LruCache<int> c(2);
  EXPECT_EQ(c.put("a", 1), 0u);
  EXPECT_EQ(c.put("b", 2), 0u);
  ASSERT_NE(c.find("a"), nullptr);  // a is now the most recent
  EXPECT_EQ(c.put("c", 3), 1u);     // evicts b
  EXPECT_EQ(c.find("b"), nullptr);
  EXPECT_EQ(*c.find("a"), 1);
  EXPECT_EQ(*c.find("c"), 3);
  c.erase("a");
  EXPECT_EQ(c.size(), 1u);
  LruCache<int> off(0);
  off.put("x", 1);
  EXPECT_EQ(off.size(), 0u);
}

}  // namespace
}  // namespace ringmta::dns::wire
