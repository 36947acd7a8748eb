// tests/unit/config/config_outbound_test.cpp — issue 18's delivery keys
// (config/config_outbound.cpp): credentials_file, source_address and
// [delivery.source_addresses], [delivery.rate."pattern"] — values, and the
// FILE:LINE: key error messages for bad ones.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigOutbound, Defaults) {
  config::Config c = parse_ok("");
  EXPECT_EQ(c.delivery.credentials_file, "");
  EXPECT_FALSE(c.delivery.source_address.v4);
  EXPECT_FALSE(c.delivery.source_address.v6);
  EXPECT_TRUE(c.delivery.source_addresses.empty());
  EXPECT_TRUE(c.delivery.rates.empty());
}

TEST(ConfigOutbound, EveryKey) {
  config::Config c = parse_ok(R"([delivery]
credentials_file = "/etc/ringmta/relay-passwords"
source_address = ["192.0.2.25", "[2001:db8::25]"]

[delivery.source_addresses]
"Partner.example" = "198.51.100.7"
"v6.example" = ["2001:db8::7"]

[delivery.rate."Gmail.com"]
messages_per_minute = 600
messages_per_hour = 20000

[delivery.rate."*.google.com"]
connections_per_minute = 60
)");
  EXPECT_EQ(c.delivery.credentials_file, "/etc/ringmta/relay-passwords");
  ASSERT_TRUE(c.delivery.source_address.v4 && c.delivery.source_address.v6);
  EXPECT_EQ(c.delivery.source_address.v4->ip(), "192.0.2.25");
  EXPECT_EQ(c.delivery.source_address.v6->ip(), "2001:db8::25");
  EXPECT_EQ(c.delivery.source_address.v6->family(), AF_INET6);
  ASSERT_EQ(c.delivery.source_addresses.size(), 2u);
  EXPECT_EQ(c.delivery.source_addresses.at("partner.example").v4->ip(), "198.51.100.7");
  EXPECT_FALSE(c.delivery.source_addresses.at("partner.example").v6);
  EXPECT_EQ(c.delivery.source_addresses.at("v6.example").v6->ip(), "2001:db8::7");
  ASSERT_EQ(c.delivery.rates.size(), 2u);
  EXPECT_EQ(c.delivery.rates[0].pattern, "gmail.com");  // file order, lower case
  EXPECT_EQ(c.delivery.rates[0].messages_per_minute, 600u);
  EXPECT_EQ(c.delivery.rates[0].messages_per_hour, 20000u);
  EXPECT_EQ(c.delivery.rates[0].connections_per_minute, 0u);
  EXPECT_EQ(c.delivery.rates[1].pattern, "*.google.com");
  EXPECT_EQ(c.delivery.rates[1].connections_per_minute, 60u);
}

TEST(ConfigOutbound, Errors) {
  EXPECT_NE(error_of("[delivery]\nsource_address = \"mx.example\"\n")
                .find("ringmta.toml:2: delivery.source_address: expected an IPv4 or IPv6 address"),
            std::string::npos);
  EXPECT_NE(error_of("[delivery]\nsource_address = \"192.0.2.1:25\"\n").find("delivery.source_address"),
            std::string::npos);
  EXPECT_NE(error_of("[delivery]\nsource_address = [\"192.0.2.1\", \"192.0.2.2\"]\n").find("two IPv4 addresses"),
            std::string::npos);
  EXPECT_NE(error_of("[delivery]\ncredentials_file = 5\n").find("delivery.credentials_file"), std::string::npos);
  EXPECT_NE(error_of("[delivery.source_addresses]\n\"bad domain\" = \"192.0.2.1\"\n").find("invalid domain name"),
            std::string::npos);
  EXPECT_NE(error_of("[delivery.rate.\"gmail.com\"]\nmessages_per_second = 5\n")
                .find("delivery.rate.\"gmail.com\".messages_per_second: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("[delivery.rate.\"gmail.com\"]\nmessages_per_minute = 0\n").find("a positive integer"),
            std::string::npos);
  EXPECT_NE(error_of("[delivery.rate.\"**.example\"]\nmessages_per_minute = 1\n").find("invalid domain or host pattern"),
            std::string::npos);
  EXPECT_NE(error_of("[delivery]\nrate = 5\n").find("delivery.rate"), std::string::npos);
  // Postfix's names point to ours.
  EXPECT_NE(error_of("[delivery]\nsmtp_sasl_password_maps = \"x\"\n").find("delivery.credentials_file"),
            std::string::npos);
}

}  // namespace
}  // namespace ringmta::config
