// tests/unit/config/config_delivery_tls_test.cpp — outbound TLS settings:
// delivery.tls, delivery.tls_ca_file and [delivery.tls_policy] (values,
// case folding, and the FILE:LINE: key error messages).
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigDeliveryTls, EveryLevel) {
  const std::pair<const char*, config::OutboundTls> levels[] = {
      {"none", config::OutboundTls::None},
      {"may", config::OutboundTls::May},
      {"encrypt", config::OutboundTls::Encrypt},
      {"verify", config::OutboundTls::Verify},
  };
  for (const auto& [name, level] : levels) {
    config::Config c = parse_ok(std::string("[delivery]\ntls = \"") + name + "\"\n");
    EXPECT_EQ(c.delivery.tls, level) << name;
    EXPECT_EQ(to_string(level), name);
  }
}

TEST(ConfigDeliveryTls, PolicyTableAndCaFile) {
  config::Config c = parse_ok(R"([delivery]
tls = "encrypt"
tls_ca_file = "/etc/ringmta/private-ca.pem"

[delivery.tls_policy]
"Example.COM" = "verify"
"legacy.example" = "none"
"partner.example" = "may"
)");
  EXPECT_EQ(c.delivery.tls, config::OutboundTls::Encrypt);
  EXPECT_EQ(c.delivery.tls_ca_file, "/etc/ringmta/private-ca.pem");
  const std::map<std::string, config::OutboundTls> want{
      {"example.com", config::OutboundTls::Verify},
      {"legacy.example", config::OutboundTls::None},
      {"partner.example", config::OutboundTls::May},
  };
  EXPECT_EQ(c.delivery.tls_policy, want);
}

TEST(ConfigDeliveryTls, BadLevel) {
  EXPECT_EQ(error_of("[delivery]\ntls = \"yes\"\n"),
            "ringmta.toml:2: delivery.tls: expected one of \"none\", \"may\", \"encrypt\", \"verify\", got \"yes\"");
  // Enumerated values are lower case everywhere in the file.
  EXPECT_EQ(error_of("[delivery]\ntls = \"Verify\"\n"),
            "ringmta.toml:2: delivery.tls: expected one of \"none\", \"may\", \"encrypt\", \"verify\", got \"Verify\"");
  EXPECT_EQ(error_of("[delivery]\ntls = true\n"),
            "ringmta.toml:2: delivery.tls: expected one of \"none\", \"may\", \"encrypt\", \"verify\", got true");
}

TEST(ConfigDeliveryTls, BadPolicyEntries) {
  EXPECT_EQ(error_of("[delivery.tls_policy]\n\"example.com\" = \"secure\"\n"),
            "ringmta.toml:2: delivery.tls_policy.\"example.com\": expected one of \"none\", \"may\", \"encrypt\", "
            "\"verify\", got \"secure\"");
  EXPECT_EQ(error_of("[delivery.tls_policy]\nexample.com = \"verify\"\n"),
            "ringmta.toml:2: delivery.tls_policy.\"example\": expected one of \"none\", \"may\", \"encrypt\", "
            "\"verify\", got a table (a domain with dots must be quoted: \"example.com\" = \"verify\")");
  EXPECT_EQ(error_of("[delivery.tls_policy]\n\"ex_ample.com\" = \"verify\"\n"),
            "ringmta.toml:2: delivery.tls_policy.\"ex_ample.com\": invalid domain name \"ex_ample.com\": it contains "
            "'_'");
  EXPECT_EQ(error_of("[delivery.tls_policy]\n\"example.com\" = \"verify\"\n\"EXAMPLE.com\" = \"may\"\n"),
            "ringmta.toml:3: delivery.tls_policy.\"EXAMPLE.com\": duplicate TLS policy for domain 'example.com' "
            "(also on line 2)");
  EXPECT_EQ(error_of("[delivery]\ntls_policy = \"verify\"\n"),
            "ringmta.toml:2: delivery.tls_policy: expected a table of \"domain\" = \"level\" entries "
            "([delivery.tls_policy]), got \"verify\"");
}

TEST(ConfigDeliveryTls, BadCaFile) {
  EXPECT_EQ(error_of("[delivery]\ntls_ca_file = \"\"\n"),
            "ringmta.toml:2: delivery.tls_ca_file: expected the path of a PEM file of CA certificates, got \"\" "
            "(remove the key to trust only the system store)");
  EXPECT_EQ(error_of("[delivery]\ntls_ca_file = 1\n"), "ringmta.toml:2: delivery.tls_ca_file: expected a string, got 1");
}

TEST(ConfigDeliveryTls, PostfixNamesPointToOurs) {
  EXPECT_EQ(error_of("[delivery]\nsmtp_tls_security_level = \"may\"\n"),
            "ringmta.toml:2: unknown key 'delivery.smtp_tls_security_level'; did you mean 'delivery.tls'?");
  EXPECT_EQ(error_of("[delivery]\ntls_cafile = \"x.pem\"\n"),
            "ringmta.toml:2: unknown key 'delivery.tls_cafile'; did you mean 'delivery.tls_ca_file'?");
}

}  // namespace
}  // namespace ringmta::config
