// tests/unit/config/config_pop3_test.cpp — the pop3/pop3s listener kinds and
// the [pop3] table: defaults, every key, and the RFC 1939 autologout floor.
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigPop3, Defaults) {
  config::Config c = parse_ok("");
  EXPECT_FALSE(c.pop3.allow_plaintext_auth);
  EXPECT_EQ(c.pop3.autologout, std::chrono::seconds(600));
  EXPECT_EQ(c.pop3.max_errors, 10u);
}

TEST(ConfigPop3, EveryKeyAndListenerKinds) {
  config::Config c = parse_ok(R"([pop3]
allow_plaintext_auth = true
autologout = "30m"
max_errors = 3

[mailbox]
enabled = true

[auth]
users_file = "/etc/ringmta/users"

[[listener]]
address = "127.0.0.1:1110"
kind = "pop3"

[[listener]]
address = "127.0.0.1:1995"
kind = "pop3s"
proxy_protocol = true
)");
  EXPECT_TRUE(c.pop3.allow_plaintext_auth);
  EXPECT_EQ(c.pop3.autologout, std::chrono::seconds(1800));
  EXPECT_EQ(c.pop3.max_errors, 3u);
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::Pop3);
  EXPECT_EQ(c.listeners[1].kind, ListenerKind::Pop3s);
  EXPECT_TRUE(c.listeners[1].proxy_protocol);
}

TEST(ConfigPop3, ListenersNeedMailboxes) {
  // A pop3 listener without [mailbox] enabled would serve nothing.
  const std::string error = error_of(R"([[listener]]
address = "127.0.0.1:1110"
kind = "pop3"
)");
  EXPECT_NE(error.find("listener.kind: a pop3/pop3s/imap/imaps listener needs [mailbox] enabled = true"), std::string::npos)
      << error;
}

TEST(ConfigPop3, Errors) {
  EXPECT_EQ(error_of("[pop3]\nautologout = \"9m\"\n"),
            "ringmta.toml:2: pop3.autologout: at least 10m (RFC 1939 section 3)");
  EXPECT_EQ(error_of("[pop3]\nautologout = \"599\"\n"),
            "ringmta.toml:2: pop3.autologout: at least 10m (RFC 1939 section 3)");
  EXPECT_EQ(error_of("[pop3]\nallow_plaintext_auth = 1\n"),
            "ringmta.toml:2: pop3.allow_plaintext_auth: expected true or false, got 1");
  EXPECT_EQ(error_of("[pop3]\nmax_errors = 0\n"),
            "ringmta.toml:2: pop3.max_errors: expected a positive integer (at most 1000000), got 0");
  EXPECT_NE(error_of("[pop3]\nautologut = \"10m\"\n").find("unknown key 'pop3.autologut'"), std::string::npos);
}

}  // namespace
}  // namespace ringmta::config
