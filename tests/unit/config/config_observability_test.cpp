// tests/unit/config/config_observability_test.cpp — the operating keys:
// [metrics] (listen, top_destinations), log.format and the per-listener
// proxy_protocol switch: values, defaults, and the error an operator sees.
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigObservability, Defaults) {
  config::Config c = parse_ok("");
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9587");
  EXPECT_EQ(c.metrics.top_destinations, 10u);
  EXPECT_EQ(c.log.format, "text");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_FALSE(c.listeners[0].proxy_protocol);
}

TEST(ConfigObservability, EveryKeySet) {
  config::Config c = parse_ok(R"(
[[listener]]
address = "0.0.0.0:25"
kind = "smtp"
proxy_protocol = true

[[listener]]
address = "0.0.0.0:587"
kind = "submission"

[log]
format = "json"

[metrics]
listen = "[::1]:9100"
top_destinations = 0
)");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_TRUE(c.listeners[0].proxy_protocol);
  EXPECT_FALSE(c.listeners[1].proxy_protocol);
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.metrics.listen, "[::1]:9100");
  EXPECT_EQ(c.metrics.top_destinations, 0u);
}

TEST(ConfigObservability, EmptyListenTurnsMetricsOff) {
  EXPECT_EQ(parse_ok("[metrics]\nlisten = \"\"\n").metrics.listen, "");
}

TEST(ConfigObservability, Errors) {
  EXPECT_EQ(error_of("[metrics]\nlisten = \"localhost:9587\"\n"),
            "ringmta.toml:2: metrics.listen: expected \"ip:port\" or \"[ipv6]:port\" with a numeric IP address, "
            "or \"\" (off), got \"localhost:9587\"");
  EXPECT_EQ(error_of("[metrics]\nlisten = \"127.0.0.1:0\"\n").rfind("ringmta.toml:2: metrics.listen: expected", 0), 0u);
  EXPECT_EQ(error_of("[metrics]\ntop_destinations = 5000\n"),
            "ringmta.toml:2: metrics.top_destinations: expected an integer from 0 to 1000, got 5000");
  EXPECT_EQ(error_of("[log]\nformat = \"JSON\"\n"),
            "ringmta.toml:2: log.format: expected \"text\" or \"json\", got \"JSON\"");
  EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"smtp\"\nproxy_protocol = \"yes\"\n"),
            "ringmta.toml:4: listener[0].proxy_protocol: expected true or false, got \"yes\"");
  EXPECT_EQ(error_of("[metrics]\nlisten_on = \"\"\n"),
            "ringmta.toml:2: unknown key 'metrics.listen_on'");
}

}  // namespace
}  // namespace ringmta::config
