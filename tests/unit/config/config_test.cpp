// tests/unit/config/config_test.cpp — relay::Config happy paths: defaults when
// a key is absent, every key set to a valid value, the embedded default and
// the reference configuration deploy/ringmta.toml.
#include <gtest/gtest.h>
#include <unistd.h>

#include "relay/config.h"

namespace ringmta::relay {
namespace {

using std::chrono::seconds;

Config parse_ok(std::string_view text) {
  auto r = parse_config(text, "ringmta.toml");
  EXPECT_TRUE(r.config.has_value()) << r.error;
  EXPECT_TRUE(r.error.empty()) << r.error;
  return r.config.value_or(Config{});
}

std::vector<std::string> cidr_strings(const std::vector<Cidr>& nets) {
  std::vector<std::string> out;
  for (const auto& n : nets) out.push_back(n.to_string());
  return out;
}

void expect_defaults(const Config& c) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(c.server.hostname, host[0] ? std::string(host) : "localhost");
  EXPECT_EQ(c.server.data_dir, "./ringmta-data");
  EXPECT_EQ(c.server.threads, 0u);
  EXPECT_EQ(c.server.shutdown_timeout, seconds(30));
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address.to_string(), "127.0.0.1:2525");
  EXPECT_EQ(c.listeners[0].address_text, "127.0.0.1:2525");
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::Smtp);
  EXPECT_EQ(cidr_strings(c.relay.trusted_networks), (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
  EXPECT_TRUE(c.relay.local_domains.empty());
  EXPECT_EQ(c.limits.max_message_size, 52428800u);
  EXPECT_EQ(c.limits.max_recipients, 1000u);
  EXPECT_EQ(c.limits.max_line_length, 4096u);
  EXPECT_EQ(c.limits.max_errors, 20u);
  EXPECT_EQ(c.limits.command_timeout, seconds(300));
  EXPECT_EQ(c.limits.data_timeout, seconds(600));
  EXPECT_EQ(c.queue.durability, Durability::Fsync);
  EXPECT_EQ(c.log.level, "info");
}

TEST(Config, EmptyDocumentGivesDefaults) {
  Config c = parse_ok("");
  EXPECT_EQ(c.source, "ringmta.toml");
  expect_defaults(c);
}

TEST(Config, EmptyTablesGiveDefaults) {
  expect_defaults(parse_ok("[server]\n[relay]\n[limits]\n[queue]\n[log]\n"));
}

TEST(Config, EmbeddedDefaultParses) {
  auto r = default_config();
  ASSERT_TRUE(r.config.has_value()) << r.error;
  EXPECT_EQ(r.config->source, "<embedded default>");
  expect_defaults(*r.config);
  EXPECT_NE(default_config_text().find("127.0.0.1:2525"), std::string_view::npos);
  EXPECT_NE(default_config_text().find("./ringmta-data"), std::string_view::npos);
  EXPECT_NE(default_config_text().find("threads = 0"), std::string_view::npos);
}

TEST(Config, ReferenceConfigurationParses) {
  auto r = load_config_file(RINGMTA_DEPLOY_DIR "/ringmta.toml");
  ASSERT_TRUE(r.config.has_value()) << r.error;
  // The reference file writes every key out with its default value (hostname
  // commented out), so loading it must give exactly the defaults; this keeps
  // its "Default:" lines honest.
  expect_defaults(*r.config);
}

TEST(Config, ReferenceConfigurationDocumentsEveryKey) {
  FILE* f = std::fopen(RINGMTA_DEPLOY_DIR "/ringmta.toml", "rb");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  const char* keys[] = {"[server]", "#hostname = ", "\ndata_dir = ", "\nthreads = ", "\nshutdown_timeout = ",
                        "[[listener]]", "\naddress = ", "\nkind = ", "[relay]", "\ntrusted_networks = ",
                        "\nlocal_domains = ", "[limits]", "\nmax_message_size = ", "\nmax_recipients = ",
                        "\nmax_line_length = ", "\nmax_errors = ", "\ncommand_timeout = ", "\ndata_timeout = ",
                        "[queue]", "\ndurability = ", "[log]", "\nlevel = "};
  for (const char* key : keys) EXPECT_NE(text.find(key), std::string::npos) << key;
}

TEST(Config, EveryKeySet) {
  Config c = parse_ok(R"(
[server]
hostname = "mx1.Example.net"
data_dir = "/var/lib/ringmta"
threads = 8
shutdown_timeout = "1m"

[[listener]]
address = "0.0.0.0:25"
kind = "smtp"

[[listener]]
address = "[::1]:2525"
kind = "smtp"

[relay]
trusted_networks = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1"]
local_domains = ["Example.NET", "mail.example.org", "example.net"]

[limits]
max_message_size = 10485760
max_recipients = 50
max_line_length = 512
max_errors = 5
command_timeout = "2m"
data_timeout = "1h30m"

[queue]
durability = "wal"

[log]
level = "debug"
)");
  EXPECT_EQ(c.server.hostname, "mx1.Example.net");
  EXPECT_EQ(c.server.data_dir, "/var/lib/ringmta");
  EXPECT_EQ(c.server.threads, 8u);
  EXPECT_EQ(c.server.shutdown_timeout, seconds(60));
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].address.to_string(), "0.0.0.0:25");
  EXPECT_EQ(c.listeners[1].address.to_string(), "[::1]:2525");
  EXPECT_EQ(c.listeners[1].address_text, "[::1]:2525");
  EXPECT_EQ(cidr_strings(c.relay.trusted_networks),
            (std::vector<std::string>{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::1/128"}));
  // Lower-cased, duplicates dropped, order kept.
  EXPECT_EQ(c.relay.local_domains, (std::vector<std::string>{"example.net", "mail.example.org"}));
  EXPECT_EQ(c.limits.max_message_size, 10485760u);
  EXPECT_EQ(c.limits.max_recipients, 50u);
  EXPECT_EQ(c.limits.max_line_length, 512u);
  EXPECT_EQ(c.limits.max_errors, 5u);
  EXPECT_EQ(c.limits.command_timeout, seconds(120));
  EXPECT_EQ(c.limits.data_timeout, seconds(5400));
  EXPECT_EQ(c.queue.durability, Durability::Wal);
  EXPECT_EQ(c.log.level, "debug");
}

TEST(Config, DottedKeysAndInlineListeners) {
  Config c = parse_ok(
      "server.threads = 2\n"
      "limits = { max_recipients = 7 }\n"
      "listener = [ { address = \"127.0.0.2:25\", kind = \"smtp\" } ]\n");
  EXPECT_EQ(c.server.threads, 2u);
  EXPECT_EQ(c.limits.max_recipients, 7u);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address.to_string(), "127.0.0.2:25");
}

TEST(Config, ValueForms) {
  // Sizes with binary units.
  EXPECT_EQ(parse_ok("limits.max_message_size = \"50M\"").limits.max_message_size, 50ull << 20);
  EXPECT_EQ(parse_ok("limits.max_message_size = \"50MiB\"").limits.max_message_size, 50ull << 20);
  EXPECT_EQ(parse_ok("limits.max_message_size = \"1T\"").limits.max_message_size, 1ull << 40);
  // Durations as strings, bare-number strings (seconds) or integers (seconds).
  EXPECT_EQ(parse_ok("limits.command_timeout = 90").limits.command_timeout, seconds(90));
  EXPECT_EQ(parse_ok("limits.command_timeout = \"90\"").limits.command_timeout, seconds(90));
  EXPECT_EQ(parse_ok("server.shutdown_timeout = \"0\"").server.shutdown_timeout, seconds(0));
  EXPECT_EQ(parse_ok("server.shutdown_timeout = 0").server.shutdown_timeout, seconds(0));
  // Bounds that are valid.
  EXPECT_EQ(parse_ok("server.threads = 1024").server.threads, 1024u);
  EXPECT_EQ(parse_ok("limits.max_line_length = 1048576").limits.max_line_length, 1048576u);
  EXPECT_EQ(parse_ok("limits.max_recipients = 1").limits.max_recipients, 1u);
  // An explicitly empty trust list replaces the default: nobody relays unauthenticated.
  EXPECT_TRUE(parse_ok("relay.trusted_networks = []").relay.trusted_networks.empty());
  EXPECT_EQ(parse_ok("server.hostname = \"localhost\"").server.hostname, "localhost");
  for (auto level : {"trace", "debug", "info", "warn", "error"})
    EXPECT_EQ(parse_ok(std::string("log.level = \"") + level + "\"").log.level, level);
  EXPECT_EQ(parse_ok("queue.durability = \"fsync\"").queue.durability, Durability::Fsync);
}

TEST(Config, ListenerKindNames) {
  EXPECT_EQ(to_string(ListenerKind::Smtp), "smtp");
  EXPECT_EQ(to_string(ListenerKind::Submission), "submission");
  EXPECT_EQ(to_string(ListenerKind::Submissions), "submissions");
  EXPECT_EQ(to_string(ListenerKind::Pop3), "pop3");
  EXPECT_EQ(to_string(ListenerKind::Pop3s), "pop3s");
  EXPECT_EQ(to_string(ListenerKind::Imap), "imap");
  EXPECT_EQ(to_string(ListenerKind::Imaps), "imaps");
}

TEST(Config, LoadFileMissing) {
  auto r = load_config_file("/nonexistent/ringmta.toml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.error.rfind("/nonexistent/ringmta.toml: cannot read", 0), 0u) << r.error;
}

TEST(Config, LoadFileUsesPathInMessages) {
  char path[] = "/tmp/ringmta-config-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const char text[] = "[server]\nthreads = -1\n";
  ASSERT_EQ(write(fd, text, sizeof text - 1), static_cast<ssize_t>(sizeof text - 1));
  close(fd);
  auto r = load_config_file(path);
  unlink(path);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.error, std::string(path) +
                         ":2: server.threads: expected an integer from 0 (one per core) to 1024, got -1");
}

}  // namespace
}  // namespace ringmta::relay
