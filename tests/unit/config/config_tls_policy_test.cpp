// tests/unit/config/config_tls_policy_test.cpp — delivery.mta_sts,
// delivery.mta_sts_port, delivery.dane and delivery.dnssec_resolver
// (config/config_tls_policy.cpp): defaults, values, error messages.
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigTlsPolicy, Defaults) {
  config::Config c = parse_ok("[delivery]\n");
  EXPECT_FALSE(c.delivery.mta_sts);
  EXPECT_EQ(c.delivery.mta_sts_port, 443);
  EXPECT_FALSE(c.delivery.dane);
  EXPECT_EQ(c.delivery.dnssec_resolver, "");
}

TEST(ConfigTlsPolicy, Values) {
  config::Config c = parse_ok(
      "[delivery]\nmta_sts = true\nmta_sts_port = 8443\ndane = true\ndnssec_resolver = \"127.0.0.1:5353\"\n");
  EXPECT_TRUE(c.delivery.mta_sts);
  EXPECT_EQ(c.delivery.mta_sts_port, 8443);
  EXPECT_TRUE(c.delivery.dane);
  EXPECT_EQ(c.delivery.dnssec_resolver, "127.0.0.1:5353");
}

TEST(ConfigTlsPolicy, Errors) {
  EXPECT_EQ(error_of("[delivery]\nmta_sts = \"yes\"\n"),
            "ringmta.toml:2: delivery.mta_sts: expected true or false, got \"yes\"");
  EXPECT_EQ(error_of("[delivery]\nmta_sts_port = 0\n"),
            "ringmta.toml:2: delivery.mta_sts_port: expected a port number from 1 to 65535, got 0");
  EXPECT_EQ(error_of("[delivery]\ndane = 1\n"), "ringmta.toml:2: delivery.dane: expected true or false, got 1");
  EXPECT_NE(error_of("[delivery]\ndane = true\ndnssec_resolver = \"resolver.example\"\n")
                .find("ringmta.toml:3: delivery.dnssec_resolver: invalid resolver address \"resolver.example\""),
            std::string::npos);
  EXPECT_EQ(error_of("[delivery]\ndnssec_resolver = \"127.0.0.1\"\n"),
            "ringmta.toml:2: delivery.dnssec_resolver: is only used with delivery.dane = true");
}

}  // namespace
}  // namespace ringmta::config
