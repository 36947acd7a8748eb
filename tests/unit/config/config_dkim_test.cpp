// tests/unit/config/config_dkim_test.cpp — the [[dkim]] tables: defaults,
// every key, and the shape errors (missing keys, bad algorithm or
// canonicalization, headers without from, a domain twice). Key files are
// checked by the daemon at start-up (tests/unit/dkim, test_dkim.py).
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigDkim, NoneByDefault) { EXPECT_TRUE(parse_ok("").dkim.empty()); }

TEST(ConfigDkim, MinimalGetsDefaults) {
  config::Config c = parse_ok(R"([[dkim]]
domain = "Example.ORG"
selector = "s2026"
key_file = "/etc/ringmta/dkim/example.org.key"
)");
  ASSERT_EQ(c.dkim.size(), 1u);
  const auto& d = c.dkim[0];
  EXPECT_EQ(d.domain, "example.org");
  EXPECT_EQ(d.algorithm, "rsa-sha256");
  EXPECT_EQ(d.header_canon, "relaxed");
  EXPECT_EQ(d.body_canon, "relaxed");
  EXPECT_EQ(d.headers.front(), "from");
  EXPECT_EQ(d.over_sign, (std::vector<std::string>{"from", "to", "subject", "date"}));
}

TEST(ConfigDkim, EveryKey) {
  config::Config c = parse_ok(R"([[dkim]]
domain = "example.org"
selector = "ed"
key_file = "ed.key"
algorithm = "ed25519-sha256"
canonicalization = "simple"
headers = ["From", "Subject", "subject"]
over_sign = []

[[dkim]]
domain = "example.net"
selector = "rsa"
key_file = "rsa.key"
canonicalization = "relaxed/simple"
)");
  ASSERT_EQ(c.dkim.size(), 2u);
  EXPECT_EQ(c.dkim[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(c.dkim[0].header_canon, "simple");
  EXPECT_EQ(c.dkim[0].body_canon, "simple");  // "simple" alone: body simple (RFC 6376 c=)
  EXPECT_EQ(c.dkim[0].headers, (std::vector<std::string>{"from", "subject"}));
  EXPECT_TRUE(c.dkim[0].over_sign.empty());
  EXPECT_EQ(c.dkim[1].header_canon, "relaxed");
  EXPECT_EQ(c.dkim[1].body_canon, "simple");
}

TEST(ConfigDkim, Errors) {
  std::string e = error_of("[[dkim]]\ndomain = \"example.org\"\n");
  EXPECT_NE(e.find("dkim[0].selector: required key is missing"), std::string::npos) << e;
  EXPECT_NE(e.find("dkim[0].key_file: required key is missing"), std::string::npos) << e;
  e = error_of("[[dkim]]\ndomain = \"example.org\"\nselector = \"s\"\nkey_file = \"k\"\nalgorithm = \"rsa-sha1\"\n");
  EXPECT_NE(e.find("dkim[0].algorithm: expected \"rsa-sha256\" or \"ed25519-sha256\""), std::string::npos) << e;
  e = error_of("[[dkim]]\ndomain = \"example.org\"\nselector = \"s\"\nkey_file = \"k\"\ncanonicalization = \"loose\"\n");
  EXPECT_NE(e.find("dkim[0].canonicalization"), std::string::npos) << e;
  e = error_of("[[dkim]]\ndomain = \"example.org\"\nselector = \"s\"\nkey_file = \"k\"\nheaders = [\"subject\"]\n");
  EXPECT_NE(e.find("must include \"from\""), std::string::npos) << e;
  e = error_of("[[dkim]]\ndomain = \"a b\"\nselector = \"s\"\nkey_file = \"k\"\n");
  EXPECT_NE(e.find("dkim[0].domain: invalid domain"), std::string::npos) << e;
  e = error_of(R"([[dkim]]
domain = "example.org"
selector = "a"
key_file = "a"
[[dkim]]
domain = "EXAMPLE.org"
selector = "b"
key_file = "b"
)");
  EXPECT_NE(e.find("dkim[1].domain: domain example.org has a [[dkim]] table already"), std::string::npos) << e;
  e = error_of("[[dkim]]\ndomain = \"example.org\"\nselector = \"s\"\nkey_file = \"k\"\nkeyfile = \"k\"\n");
  EXPECT_NE(e.find("unknown key 'dkim[0].keyfile'; did you mean 'dkim[0].key_file'?"), std::string::npos) << e;
  e = error_of("[dkim]\ndomain = \"example.org\"\n");
  EXPECT_NE(e.find("an array of tables"), std::string::npos) << e;
}

}  // namespace
}  // namespace ringmta::config
