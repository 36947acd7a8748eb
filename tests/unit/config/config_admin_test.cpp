// tests/unit/config/config_admin_test.cpp — the [admin] table: where the
// admin API listens, its token, and the rules that keep it from being an
// open door (TCP only on loopback, and only with a token).
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigAdmin, Values) {
  EXPECT_EQ(parse_ok("[admin]\nlisten = \"/run/ringmta/admin.sock\"\n").admin.listen, "/run/ringmta/admin.sock");
  EXPECT_EQ(parse_ok("[admin]\nlisten = \"off\"\n").admin.listen, "off");
  config::Config tcp = parse_ok("[admin]\nlisten = \"127.0.0.1:9588\"\ntoken = \"0123456789abcdef0123\"\n");
  EXPECT_EQ(tcp.admin.listen, "127.0.0.1:9588");
  EXPECT_EQ(tcp.admin.token, "0123456789abcdef0123");
  EXPECT_EQ(parse_ok("[admin]\nlisten = \"[::1]:9588\"\ntoken = \"0123456789abcdef0123\"\n").admin.listen,
            "[::1]:9588");
  // A token on the Unix socket is an extra check, allowed.
  EXPECT_EQ(parse_ok("[admin]\ntoken = \"0123456789abcdef0123\"\n").admin.token, "0123456789abcdef0123");
}

TEST(ConfigAdmin, Errors) {
  EXPECT_EQ(error_of("[admin]\nlisten = \"127.0.0.1:9588\"\n"),
            "ringmta.toml:2: admin.listen: a TCP admin endpoint needs admin.token (anyone on this host could connect)");
  EXPECT_NE(error_of("[admin]\nlisten = \"0.0.0.0:9588\"\ntoken = \"0123456789abcdef0123\"\n")
                .find("ringmta.toml:2: admin.listen: '0.0.0.0:9588' is not a loopback address"),
            std::string::npos);
  EXPECT_EQ(error_of("[admin]\nlisten = \"localhost:9588\"\n"),
            "ringmta.toml:2: admin.listen: expected \"\" (admin.sock in data_dir), an absolute socket path, "
            "\"127.0.0.1:PORT\" or \"off\", got \"localhost:9588\"");
  EXPECT_EQ(error_of("[admin]\ntoken = \"short\"\n"),
            "ringmta.toml:2: admin.token: expected at least 16 printable ASCII characters without spaces "
            "(or \"\" for none), got \"short\"");
  EXPECT_EQ(error_of("[admin]\nlistn = \"off\"\n"), "ringmta.toml:2: unknown key 'admin.listn'; did you mean 'admin.listen'?");
  EXPECT_EQ(error_of("[admin]\nlisten = 9588\n"), "ringmta.toml:2: admin.listen: expected a string, got 9588");
}

}  // namespace
}  // namespace ringmta::config
