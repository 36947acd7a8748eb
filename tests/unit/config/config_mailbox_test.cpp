// tests/unit/config/config_mailbox_test.cpp — local delivery keys: the
// [mailbox] table and relay.aliases_file / relay.recipient_delimiter.
#include <gtest/gtest.h>

#include "config/config.h"
#include "config_test_util.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigMailbox, Defaults) {
  config::Config c = parse_ok("");
  EXPECT_FALSE(c.mailbox.enabled);
  EXPECT_EQ(c.mailbox.quota, 1ull << 30);
  EXPECT_EQ(c.relay.aliases_file, "");
  EXPECT_EQ(c.relay.recipient_delimiter, "+");
}

TEST(ConfigMailbox, EveryKey) {
  config::Config c = parse_ok(R"([relay]
local_domains = ["example.org"]
aliases_file = "/etc/ringmta/aliases"
recipient_delimiter = "-"

[mailbox]
enabled = true
quota = "500M"

[auth]
users_file = "/etc/ringmta/users"
)");
  EXPECT_TRUE(c.mailbox.enabled);
  EXPECT_EQ(c.mailbox.quota, 500ull << 20);
  EXPECT_EQ(c.relay.aliases_file, "/etc/ringmta/aliases");
  EXPECT_EQ(c.relay.recipient_delimiter, "-");
}

TEST(ConfigMailbox, ZeroQuotaAndNoDelimiter) {
  config::Config c = parse_ok("[mailbox]\nquota = 0\n[relay]\nrecipient_delimiter = \"\"\n");
  EXPECT_EQ(c.mailbox.quota, 0u);
  EXPECT_EQ(c.relay.recipient_delimiter, "");
}

TEST(ConfigMailbox, Errors) {
  EXPECT_EQ(error_of("[mailbox]\nenabled = true\n"),
            "ringmta.toml:1: mailbox.enabled: local delivery needs auth.users_file (the users with mailboxes)");
  EXPECT_EQ(error_of("[mailbox]\nquota = \"lots\"\n"),
            "ringmta.toml:2: mailbox.quota: expected a size in bytes (0 = no limit) or with a binary unit "
            "(\"1G\", \"500MiB\"), got \"lots\"");
  EXPECT_EQ(error_of("[relay]\nrecipient_delimiter = \"++\"\n"),
            "ringmta.toml:2: relay.recipient_delimiter: expected one printable ASCII character other than '@' "
            "and '\"' (\"+\"), or \"\" for none, got \"++\"");
  EXPECT_EQ(error_of("[relay]\nrecipient_delimiter = \"@\"\n"),
            "ringmta.toml:2: relay.recipient_delimiter: expected one printable ASCII character other than '@' "
            "and '\"' (\"+\"), or \"\" for none, got \"@\"");
  EXPECT_EQ(error_of("[mailbox]\nquotas = 1\n").rfind("ringmta.toml:2: unknown key 'mailbox.quotas'", 0), 0u);
}

}  // namespace
}  // namespace ringmta::config
