// tests/unit/config/config_auth_test.cpp — the [auth] table, the listener's
// allow_plaintext_auth and the connection limits: values and error messages.
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigAuth, EveryKey) {
  config::Config c = parse_ok(R"([auth]
users_file = "/etc/ringmta/users"
sender_login_match = true
max_failures = 3
failure_delay = "2s"
failure_window = "1h"

[[listener]]
address = "127.0.0.1:2525"
kind = "smtp"
allow_plaintext_auth = true

[[listener]]
address = "127.0.0.1:2587"
kind = "submission"

[limits]
max_connections = 0
max_connections_per_ip = 7
)");
  EXPECT_EQ(c.auth.users_file, "/etc/ringmta/users");
  EXPECT_TRUE(c.auth.sender_login_match);
  EXPECT_EQ(c.auth.max_failures, 3u);
  EXPECT_EQ(c.auth.failure_delay, std::chrono::seconds(2));
  EXPECT_EQ(c.auth.failure_window, std::chrono::seconds(3600));
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_TRUE(c.listeners[0].allow_plaintext_auth);
  EXPECT_FALSE(c.listeners[1].allow_plaintext_auth);
  EXPECT_EQ(c.limits.max_connections, 0u);
  EXPECT_EQ(c.limits.max_connections_per_ip, 7u);
}

TEST(ConfigAuth, Errors) {
  EXPECT_EQ(error_of("[auth]\nsender_login_match = \"yes\"\n"),
            "ringmta.toml:2: auth.sender_login_match: expected true or false, got \"yes\"");
  EXPECT_EQ(error_of("[auth]\nmax_failures = 0\n"),
            "ringmta.toml:2: auth.max_failures: expected a positive integer (at most 1000000), got 0");
  EXPECT_EQ(error_of("[auth]\nfailure_delay = \"2m\"\n"),
            "ringmta.toml:2: auth.failure_delay: at most 60s (a longer delay only ties up the client)");
  EXPECT_EQ(error_of("[auth]\nusers_file = 5\n"), "ringmta.toml:2: auth.users_file: expected a string, got 5");
  EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"smtp\"\nallow_plaintext_auth = 1\n"),
            "ringmta.toml:4: listener[0].allow_plaintext_auth: expected true or false, got 1");
  EXPECT_EQ(error_of("[limits]\nmax_connections_per_ip = -1\n"),
            "ringmta.toml:2: limits.max_connections_per_ip: expected an integer from 0 (no limit) to 1000000, got -1");
  EXPECT_NE(error_of("[auth]\nuser_file = \"x\"\n").find("did you mean 'auth.users_file'"), std::string::npos);
}

}  // namespace
}  // namespace ringmta::config
