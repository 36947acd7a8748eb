// tests/unit/dns/tlsa_test.cpp — dns/tlsa.h: TLSA RDATA, SMTP usability
// (RFC 7672 §3.1.3), and raw answers with and without the AD bit, built
// here byte by byte.
#include <gtest/gtest.h>

#include <cstring>

#include "dns/tlsa.h"

using namespace ringmta::dns;

namespace {

std::vector<uint8_t> rdata(uint8_t u, uint8_t s, uint8_t m, size_t n, uint8_t fill = 0xab) {
  std::vector<uint8_t> out{u, s, m};
  out.insert(out.end(), n, fill);
  return out;
}

// A response to "_25._tcp.mx.test TLSA" with `records` answers.
std::vector<uint8_t> response(bool ad, int rcode, const std::vector<std::vector<uint8_t>>& records,
                              uint16_t type = kTypeTlsa) {
  std::vector<uint8_t> m = {0x12, 0x34, 0x81, static_cast<uint8_t>((ad ? 0x20 : 0) | 0x80 | rcode), 0, 1, 0,
                            static_cast<uint8_t>(records.size()), 0, 0, 0, 0};
  for (const char* label : {"_25", "_tcp", "mx", "test"}) {
    m.push_back(static_cast<uint8_t>(strlen(label)));
    m.insert(m.end(), label, label + strlen(label));
  }
  m.push_back(0);
  m.insert(m.end(), {0, 52, 0, 1});
  for (const auto& r : records) {
    m.insert(m.end(), {0xC0, 0x0C, static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1, 0, 0, 0x0e,
                       0x10, static_cast<uint8_t>(r.size() >> 8), static_cast<uint8_t>(r.size())});
    m.insert(m.end(), r.begin(), r.end());
  }
  return m;
}

TEST(Tlsa, Rdata) {
  std::string why;
  auto d = rdata(3, 1, 1, 32);
  auto r = parse_tlsa_rdata(d.data(), d.size(), &why);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->usage, 3);
  EXPECT_EQ(r->selector, 1);
  EXPECT_EQ(r->mtype, 1);
  EXPECT_EQ(r->data.size(), 32u);
  EXPECT_TRUE(usable_for_smtp(*r));
  EXPECT_EQ(to_string(*r).substr(0, 10), "3 1 1 abab");
  d = rdata(3, 1, 1, 31);
  EXPECT_FALSE(parse_tlsa_rdata(d.data(), d.size(), &why));  // SHA-256 needs 32 bytes
  d = rdata(2, 0, 2, 64);
  EXPECT_TRUE(parse_tlsa_rdata(d.data(), d.size(), &why));
  d = rdata(2, 0, 2, 32);
  EXPECT_FALSE(parse_tlsa_rdata(d.data(), d.size(), &why));
  d = rdata(3, 0, 0, 300);  // full certificate
  EXPECT_TRUE(parse_tlsa_rdata(d.data(), d.size(), &why));
  d = {3, 1, 1};
  EXPECT_FALSE(parse_tlsa_rdata(d.data(), d.size(), &why));
  EXPECT_FALSE(parse_tlsa_rdata(nullptr, 0, &why));
}

TEST(Tlsa, UsableForSmtp) {
  std::string why;
  for (uint8_t usage : {0, 1, 2, 3, 4}) {
    auto d = rdata(usage, 1, 1, 32);
    auto r = parse_tlsa_rdata(d.data(), d.size(), &why);
    ASSERT_TRUE(r);
    EXPECT_EQ(usable_for_smtp(*r), usage == 2 || usage == 3) << int(usage);
  }
  auto d = rdata(3, 2, 1, 32);  // unknown selector
  EXPECT_FALSE(usable_for_smtp(*parse_tlsa_rdata(d.data(), d.size(), &why)));
  d = rdata(3, 1, 3, 32);  // unknown matching type
  EXPECT_FALSE(usable_for_smtp(*parse_tlsa_rdata(d.data(), d.size(), &why)));
}

TEST(Tlsa, RawAnswerAdBit) {
  RawAnswer a;
  std::string why;
  auto m = response(true, 0, {rdata(3, 1, 1, 32), rdata(2, 0, 1, 32, 0x01)});
  ASSERT_TRUE(parse_raw_answer(m.data(), m.size(), kTypeTlsa, &a, &why)) << why;
  EXPECT_TRUE(a.authenticated);
  EXPECT_EQ(a.rcode, 0);
  ASSERT_EQ(a.rdata.size(), 2u);
  EXPECT_EQ(a.rdata[1][0], 2);
  EXPECT_EQ(a.ttl, 3600u);
  m = response(false, 0, {rdata(3, 1, 1, 32)});
  ASSERT_TRUE(parse_raw_answer(m.data(), m.size(), kTypeTlsa, &a, &why));
  EXPECT_FALSE(a.authenticated);
  EXPECT_EQ(a.rdata.size(), 1u);
  m = response(true, 3, {});
  ASSERT_TRUE(parse_raw_answer(m.data(), m.size(), kTypeTlsa, &a, &why));
  EXPECT_EQ(a.rcode, 3);
  EXPECT_TRUE(a.rdata.empty());
  // Records of another type are not TLSA records.
  m = response(true, 0, {rdata(3, 1, 1, 32)}, 16);
  ASSERT_TRUE(parse_raw_answer(m.data(), m.size(), kTypeTlsa, &a, &why));
  EXPECT_TRUE(a.rdata.empty());
}

TEST(Tlsa, RawAnswerMalformed) {
  RawAnswer a;
  std::string why;
  auto m = response(true, 0, {rdata(3, 1, 1, 32)});
  for (size_t cut = 0; cut < m.size(); ++cut)
    EXPECT_FALSE(parse_raw_answer(m.data(), cut, kTypeTlsa, &a, &why)) << cut;
  m[2] &= 0x7f;  // a query, not a response
  EXPECT_FALSE(parse_raw_answer(m.data(), m.size(), kTypeTlsa, &a, &why));
}

TEST(Txt, Text) {
  EXPECT_EQ(txt_text({7, 'v', '=', 'S', 'T', 'S', 'v', '1', 5, ';', 'i', 'd', '=', '1'}), "v=STSv1;id=1");
  EXPECT_EQ(txt_text({}), "");
  EXPECT_FALSE(txt_text({5, 'a'}));
}

}  // namespace
