// tests/unit/config/config_tls_test.cpp — the [tls] table, [[tls.sni]] and
// the submission/submissions listener kinds: values and error messages.
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "config/config.h"

namespace ringmta::config {
namespace {

using testing::error_of;
using testing::parse_ok;

TEST(ConfigTls, EveryKey) {
  config::Config c = parse_ok(R"([tls]
certificate = "/etc/ringmta/fullchain.pem"
private_key = "/etc/ringmta/privkey.pem"
resumption = false

[[tls.sni]]
names = ["Smtp.Example.ORG", "*.mail.example.org", "smtp.example.org"]
certificate = "/etc/ringmta/org.pem"
private_key = "/etc/ringmta/org.key"

[[tls.sni]]
names = ["mx.example.net"]
certificate = "net.pem"
private_key = "net.key"
)");
  EXPECT_EQ(c.tls.certificate, "/etc/ringmta/fullchain.pem");
  EXPECT_EQ(c.tls.private_key, "/etc/ringmta/privkey.pem");
  EXPECT_FALSE(c.tls.resumption);
  ASSERT_EQ(c.tls.sni.size(), 2u);
  EXPECT_EQ(c.tls.sni[0].names, (std::vector<std::string>{"smtp.example.org", "*.mail.example.org"}));
  EXPECT_EQ(c.tls.sni[0].certificate, "/etc/ringmta/org.pem");
  EXPECT_EQ(c.tls.sni[0].private_key, "/etc/ringmta/org.key");
  EXPECT_EQ(c.tls.sni[1].names, (std::vector<std::string>{"mx.example.net"}));
}

TEST(ConfigTls, SubmissionListenerKinds) {
  config::Config c = parse_ok(R"([[listener]]
address = "127.0.0.1:25"
kind = "smtp"
[[listener]]
address = "127.0.0.1:587"
kind = "submission"
[[listener]]
address = "127.0.0.1:465"
kind = "submissions"
)");
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[1].kind, config::ListenerKind::Submission);
  EXPECT_EQ(c.listeners[2].kind, config::ListenerKind::Submissions);
}

TEST(ConfigTls, Errors) {
  EXPECT_EQ(error_of("[tls]\ncertificate = \"a.pem\"\n"),
            "ringmta.toml:2: tls.private_key: required with tls.certificate");
  EXPECT_EQ(error_of("[tls]\nprivate_key = \"a.key\"\n"),
            "ringmta.toml:2: tls.certificate: required with tls.private_key");
  EXPECT_EQ(error_of("[tls]\ncertificate = \"\"\nprivate_key = \"k\"\n"),
            "ringmta.toml:2: tls.certificate: expected a file path, got \"\"");
  EXPECT_EQ(error_of("[tls]\nresumption = \"yes\"\n"),
            "ringmta.toml:2: tls.resumption: expected true or false, got \"yes\"");
  EXPECT_EQ(error_of("[tls]\ncertifcate = \"a.pem\"\n"),
            "ringmta.toml:2: unknown key 'tls.certifcate'; did you mean 'tls.certificate'?");
  EXPECT_EQ(error_of("smtpd_tls_cert_file = \"a.pem\"\n"),
            "ringmta.toml:1: unknown key 'smtpd_tls_cert_file'; did you mean 'tls.certificate'?");
  EXPECT_EQ(error_of("[tls]\nsni = 1\n"),
            "ringmta.toml:2: tls.sni: expected an array of tables ([[tls.sni]] sections), got 1");
  EXPECT_EQ(error_of("[[tls.sni]]\ncertificate = \"c\"\nprivate_key = \"k\"\n"),
            "ringmta.toml:1: tls.sni[0].names: required key is missing (e.g. names = [\"mail.example.org\"])");
  EXPECT_EQ(error_of("[[tls.sni]]\nnames = [\"a.example\"]\n"),
            "ringmta.toml:1: tls.sni[0].certificate: required key is missing (with private_key)");
  EXPECT_EQ(error_of("[[tls.sni]]\nnames = []\ncertificate = \"c\"\nprivate_key = \"k\"\n"),
            "ringmta.toml:2: tls.sni[0].names: at least one host name is needed");
  std::string e = error_of("[[tls.sni]]\nnames = [\"bad name\"]\ncertificate = \"c\"\nprivate_key = \"k\"\n");
  EXPECT_EQ(e.rfind("ringmta.toml:2: tls.sni[0].names[0]: invalid host name \"bad name\": ", 0), 0u) << e;
  EXPECT_EQ(error_of("[[tls.sni]]\nnames = [\"a.example\"]\ncertificate = \"c\"\nprivate_key = \"k\"\nname = 1\n"),
            "ringmta.toml:5: unknown key 'tls.sni[0].name'; did you mean 'tls.sni[0].names'?");
}

}  // namespace
}  // namespace ringmta::config
