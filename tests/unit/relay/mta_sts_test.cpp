// tests/unit/relay/mta_sts_test.cpp — relay/mta_sts_policy.h: the policy
// parser against golden files (tests/golden/mta_sts/NAME.txt -> NAME.ref,
// good and bad policies), the TXT record and the MX pattern match.
// RINGMTA_GOLDEN_UPDATE=1 rewrites the .ref files (review the diff!).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relay/mta_sts_policy.h"

namespace fs = std::filesystem;
using namespace ringmta::relay::mta_sts;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string dump(std::string_view text) {
  std::string why;
  auto p = parse_policy(text, &why);
  if (!p) return "error: " + why + "\n";
  std::string out = std::string("mode: ") + to_string(p->mode) + "\nmax_age: " + std::to_string(p->max_age) + "\n";
  for (const auto& mx : p->mx) out += "mx: " + mx + "\n";
  return out;
}

TEST(MtaStsPolicy, Golden) {
  const fs::path dir = fs::path(RINGMTA_GOLDEN_DIR) / "mta_sts";
  const bool update = std::getenv("RINGMTA_GOLDEN_UPDATE") != nullptr;
  int cases = 0, errors = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".txt") continue;
    ++cases;
    const std::string got = dump(read(e.path()));
    if (got.rfind("error:", 0) == 0) ++errors;
    fs::path ref = e.path();
    ref.replace_extension(".ref");
    if (update) {
      std::ofstream(ref, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(ref)) << ref;
    EXPECT_EQ(got, read(ref)) << e.path();
  }
  EXPECT_GE(cases, 15);
  EXPECT_GE(errors, 8);  // the bad ones stay bad
}

TEST(MtaStsPolicy, SizeLimit) {
  std::string big = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 60\n";
  big += "x: " + std::string(kMaxPolicySize, 'a') + "\n";
  std::string why;
  EXPECT_FALSE(parse_policy(big, &why));
  EXPECT_NE(why.find("64 KiB"), std::string::npos);
}

TEST(MtaStsTxt, Records) {
  std::string why;
  EXPECT_EQ(parse_txt("v=STSv1; id=20160831085700Z;", &why), "20160831085700Z");
  EXPECT_EQ(parse_txt("v=STSv1;id=abc", &why), "abc");
  EXPECT_EQ(parse_txt("v=STSv1; ext=1; id=Q9", &why), "Q9");
  EXPECT_FALSE(parse_txt("v=STSv1;", &why));
  EXPECT_EQ(why, "no id");
  EXPECT_FALSE(parse_txt("id=abc; v=STSv1", &why));           // v must be first
  EXPECT_FALSE(parse_txt("v=STSv1; id=has-dash", &why));       // letters and digits only
  EXPECT_FALSE(parse_txt("v=STSv1; id=" + std::string(33, 'a'), &why));
  EXPECT_TRUE(parse_txt("v=STSv1; id=" + std::string(32, 'a'), &why));
  EXPECT_FALSE(parse_txt("v=spf1 -all", &why));
  EXPECT_FALSE(parse_txt("", &why));
}

TEST(MtaStsTxt, Select) {
  std::string why;
  EXPECT_EQ(select_txt({"v=spf1 -all", "v=STSv1; id=one"}, &why), "one");
  EXPECT_FALSE(select_txt({"v=STSv1; id=one", "v=STSv1; id=two"}, &why));  // §3.1: ambiguous
  EXPECT_EQ(why, "more than one STSv1 TXT record");
  EXPECT_FALSE(select_txt({"v=spf1 -all"}, &why));
  EXPECT_FALSE(select_txt({}, &why));
}

TEST(MtaStsMx, Patterns) {
  EXPECT_TRUE(mx_matches("mail.example.com", "mail.example.com"));
  EXPECT_TRUE(mx_matches("mail.example.com", "MAIL.Example.COM."));
  EXPECT_FALSE(mx_matches("mail.example.com", "mail2.example.com"));
  EXPECT_FALSE(mx_matches("mail.example.com", "xmail.example.com"));
  EXPECT_TRUE(mx_matches("*.example.net", "mx1.example.net"));
  EXPECT_TRUE(mx_matches("*.example.net", "MX1.EXAMPLE.NET"));
  EXPECT_FALSE(mx_matches("*.example.net", "example.net"));       // the wildcard is one whole label
  EXPECT_FALSE(mx_matches("*.example.net", "a.b.example.net"));   // ... exactly one
  EXPECT_FALSE(mx_matches("*.example.net", ".example.net"));
  EXPECT_FALSE(mx_matches("*.example.net", "mx1.example.net.evil"));
  EXPECT_FALSE(mx_matches("*.example.net", "mx1example.net"));
  EXPECT_FALSE(mx_matches("", "mx.example.net"));
  EXPECT_FALSE(mx_matches("mx.example.net", ""));
  Policy p;
  p.mode = Mode::Enforce;
  p.mx = {"mail.example.com", "*.example.net"};
  EXPECT_TRUE(policy_allows(p, "a.example.net"));
  EXPECT_TRUE(policy_allows(p, "mail.example.com"));
  EXPECT_FALSE(policy_allows(p, "evil.example.org"));
}

}  // namespace
