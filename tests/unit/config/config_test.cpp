// tests/unit/config/config_test.cpp — config::Config happy paths: defaults when
// a key is absent, every key set to a valid value, the embedded default, the
// reference configuration deploy/ringmta.toml (values and "Default:" lines),
// route targets and [delivery.routes].
#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>

#include "config/config.h"

namespace ringmta::config {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

config::Config parse_ok(std::string_view text) {
  auto r = parse_config(text, "ringmta.toml");
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r.error().empty()) << r.error();
  return r.value_or(config::Config{});
}

std::vector<std::string> cidr_strings(const std::vector<config::Cidr>& nets) {
  std::vector<std::string> out;
  for (const auto& n : nets) out.push_back(n.to_string());
  return out;
}

void expect_defaults(const config::Config& c) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(c.server.hostname, host[0] ? std::string(host) : "localhost");
  EXPECT_EQ(c.server.data_dir, "./ringmta-data");
  EXPECT_EQ(c.server.threads, 0u);
  EXPECT_EQ(c.server.shutdown_timeout, seconds(30));
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address.to_string(), "127.0.0.1:2525");
  EXPECT_EQ(c.listeners[0].address_text, "127.0.0.1:2525");
  EXPECT_EQ(c.listeners[0].kind, config::ListenerKind::Smtp);
  EXPECT_EQ(cidr_strings(c.relay.trusted_networks), (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
  EXPECT_TRUE(c.relay.local_domains.empty());
  EXPECT_EQ(c.limits.max_message_size, 52428800u);
  EXPECT_EQ(c.limits.max_recipients, 1000u);
  EXPECT_EQ(c.limits.max_line_length, 4096u);
  EXPECT_EQ(c.limits.max_errors, 20u);
  EXPECT_EQ(c.limits.max_hops, 50u);
  EXPECT_EQ(c.limits.command_timeout, seconds(300));
  EXPECT_EQ(c.limits.data_timeout, seconds(600));
  EXPECT_EQ(c.queue.durability, Durability::Fsync);
  EXPECT_EQ(c.queue.retry_schedule, (std::vector<seconds>{minutes(5), minutes(10), minutes(20), minutes(40),
                                                           hours(1), hours(2), hours(4)}));
  EXPECT_EQ(c.queue.max_lifetime, hours(48));
  EXPECT_EQ(c.queue.delay_warning, hours(4));
  EXPECT_EQ(c.queue.commit_wait, std::chrono::microseconds(1000));
  EXPECT_EQ(c.queue.commit_wait_batches, 16u);
  EXPECT_EQ(c.queue.min_free_space, 100u << 20);
  EXPECT_TRUE(c.dns.servers.empty());
  EXPECT_EQ(c.dns.timeout, seconds(10));
  EXPECT_EQ(c.delivery.port, 25);
  EXPECT_FALSE(c.delivery.relayhost.has_value());
  EXPECT_TRUE(c.delivery.routes.empty());
  EXPECT_EQ(c.delivery.max_connections_per_domain, 20u);
  EXPECT_EQ(c.delivery.max_messages_per_connection, 100u);
  EXPECT_EQ(c.delivery.max_recipients_per_transaction, 100u);
  EXPECT_EQ(c.delivery.connection_idle_timeout, seconds(5));
  EXPECT_EQ(c.delivery.connect_timeout, seconds(30));
  EXPECT_EQ(c.delivery.command_timeout, seconds(300));
  EXPECT_EQ(c.delivery.data_timeout, seconds(600));
  EXPECT_TRUE(c.delivery.chunking);
  EXPECT_TRUE(c.delivery.no_chunking_hosts.empty());
  EXPECT_TRUE(c.delivery.tls_resumption);
  EXPECT_EQ(c.delivery.destination_down_time, seconds(60));
  EXPECT_EQ(c.delivery.tls, config::OutboundTls::May);
  EXPECT_TRUE(c.delivery.tls_policy.empty());
  EXPECT_EQ(c.delivery.tls_ca_file, "");
  EXPECT_EQ(c.tls.certificate, "");
  EXPECT_EQ(c.tls.private_key, "");
  EXPECT_TRUE(c.tls.sni.empty());
  EXPECT_TRUE(c.tls.resumption);
  EXPECT_EQ(c.limits.max_connections, 10000u);
  EXPECT_EQ(c.limits.max_connections_per_ip, 100u);
  EXPECT_EQ(c.auth.users_file, "");
  EXPECT_FALSE(c.auth.sender_login_match);
  EXPECT_EQ(c.auth.max_failures, 5u);
  EXPECT_EQ(c.auth.failure_delay, seconds(1));
  EXPECT_EQ(c.auth.failure_window, seconds(900));
  for (const auto& l : c.listeners) EXPECT_FALSE(l.allow_plaintext_auth);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_TRUE(c.log.buffered);
  for (const auto& l : c.listeners) EXPECT_FALSE(l.proxy_protocol);
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9587");
  EXPECT_EQ(c.metrics.top_destinations, 10u);
  EXPECT_EQ(c.admin.listen, "");
  EXPECT_EQ(c.admin.token, "");
  EXPECT_FALSE(c.pop3.allow_plaintext_auth);
  EXPECT_EQ(c.pop3.autologout, std::chrono::seconds(600));
  EXPECT_EQ(c.pop3.max_errors, 10u);
}

std::string read_reference() {
  std::string text;
  FILE* f = std::fopen(RINGMTA_DEPLOY_DIR "/ringmta.toml", "rb");
  EXPECT_NE(f, nullptr);
  if (!f) return text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

TEST(Config, EmptyDocumentGivesDefaults) {
  config::Config c = parse_ok("");
  EXPECT_EQ(c.source, "ringmta.toml");
  expect_defaults(c);
}

TEST(Config, EmptyTablesGiveDefaults) {
  expect_defaults(parse_ok("[server]\n[relay]\n[limits]\n[queue]\n[dns]\n[delivery]\n[delivery.routes]\n[log]\n"));
}

TEST(Config, EmbeddedDefaultParses) {
  auto r = default_config();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->source, "<embedded default>");
  expect_defaults(*r);
  EXPECT_NE(default_config_text().find("127.0.0.1:2525"), std::string_view::npos);
  EXPECT_NE(default_config_text().find("./ringmta-data"), std::string_view::npos);
  EXPECT_NE(default_config_text().find("threads = 0"), std::string_view::npos);
}

TEST(Config, ReferenceConfigurationParses) {
  auto r = load_config_file(RINGMTA_DEPLOY_DIR "/ringmta.toml");
  ASSERT_TRUE(r.ok()) << r.error();
  // The reference file writes every key out with its default value (hostname
  // commented out), so loading it must give exactly the defaults; this keeps
  // its "Default:" lines honest.
  expect_defaults(*r);
}

TEST(Config, ReferenceConfigurationDocumentsEveryKey) {
  const std::string text = read_reference();
  // Each key written out (or commented out, "#key = ") inside its own section.
  const std::pair<const char*, std::vector<const char*>> sections[] = {
      {"\n[server]\n", {"#hostname = ", "data_dir = ", "threads = ", "shutdown_timeout = "}},
      {"\n[[listener]]\n", {"address = ", "kind = ", "allow_plaintext_auth = ", "proxy_protocol = "}},
      {"\n[auth]\n", {"users_file = ", "sender_login_match = ", "max_failures = ", "failure_delay = ",
                       "failure_window = "}},
      {"\n[tls]\n", {"#certificate = ", "#private_key = ", "resumption = ", "# [[tls.sni]]\n# names = "}},
      {"\n[relay]\n", {"trusted_networks = ", "local_domains = "}},
      {"\n[limits]\n", {"max_message_size = ", "max_recipients = ", "max_line_length = ", "max_errors = ",
                         "max_hops = ", "command_timeout = ", "data_timeout = ", "min_data_rate = ",
                         "inflight_memory = ", "tls_handshake_rate = ", "tls_handshake_rate_per_ip = ",
                         "max_connections = ",
                         "max_connections_per_ip = "}},
      {"\n[queue]\n", {"durability = ", "retry_schedule = ", "max_lifetime = ", "delay_warning = ",
                        "commit_wait_us = ", "commit_wait_batches = ", "min_free_space = "}},
      {"\n[dns]\n", {"servers = ", "timeout = "}},
      {"\n[delivery]\n", {"port = ", "#relayhost = ", "max_connections_per_domain = ",
                           "max_messages_per_connection = ", "max_recipients_per_transaction = ",
                           "connection_idle_timeout = ", "connect_timeout = ", "command_timeout = ",
                           "data_timeout = ", "chunking = ", "no_chunking_hosts = ",
                           "destination_down_time = ", "tls = ", "#tls_ca_file = ", "tls_resumption = ",
                           "mta_sts = ", "mta_sts_port = ", "dane = ", "dnssec_resolver = ",
                           "credentials_file = ", "source_address = "}},
      {"\n[delivery.routes]\n", {}},
      {"\n[delivery.tls_policy]\n", {}},
      {"\n[log]\n", {"level = ", "format = ", "buffered = "}},
      {"\n[metrics]\n", {"listen = ", "top_destinations = "}},
      {"\n[admin]\n", {"listen = ", "token = "}},
      {"\n[pop3]\n", {"allow_plaintext_auth = ", "autologout = ", "max_errors = "}},
      {"\n[imap]\n", {"allow_plaintext_auth = ", "autologout = ", "max_bad_commands = ", "append_limit = "}},
  };
  for (const auto& [header, keys] : sections) {
    size_t begin = text.find(header);
    ASSERT_NE(begin, std::string::npos) << header;
    size_t end = text.find("\n[", begin + 1);
    std::string section = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    for (const char* key : keys)
      EXPECT_NE(section.find(std::string("\n") + key), std::string::npos) << header << key;
  }
}

// Every "key = value" line of the reference file is preceded by a comment
// block that says "Default: value" — and ReferenceConfigurationParses checks
// that value against the built-in default, so the prose cannot drift.
TEST(Config, ReferenceDefaultLinesMatchWrittenValues) {
  std::istringstream in(read_reference());
  std::string line, comments, section;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty()) {
      comments.clear();
    } else if (line[0] == '#') {
      comments += line + "\n";
    } else if (line[0] == '[') {
      section = line;
      comments.clear();
    } else if (size_t eq = line.find(" = "); eq != std::string::npos && section != "[[listener]]") {
      std::string value = line.substr(eq + 3);
      EXPECT_NE(comments.find("Default: " + value), std::string::npos)
          << section << " " << line << ": no \"Default: " << value << "\" in\n" << comments;
      comments.clear();
      ++checked;
    }
  }
  // Every key except those commented out (hostname, relayhost, tls files,
  // tls_ca_file) and the listener's.
  EXPECT_EQ(checked, 70);
}

TEST(Config, EveryKeySet) {
  config::Config c = parse_ok(R"(
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
max_hops = 30
command_timeout = "2m"
data_timeout = "1h30m"
min_data_rate = 2000
tls_handshake_rate = 50
tls_handshake_rate_per_ip = 0
inflight_memory = "1G"

[queue]
durability = "wal"
commit_wait_us = 0
commit_wait_batches = 64
retry_schedule = ["1m", 90, "1h30m"]
max_lifetime = "10s"
delay_warning = "0"

[dns]
servers = ["127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1"]
timeout = "3s"

[delivery]
port = 2525
relayhost = "[Smtp.Example.NET]:587"
max_connections_per_domain = 3
max_messages_per_connection = 1
max_recipients_per_transaction = 50
connection_idle_timeout = "1s"
connect_timeout = "10s"
command_timeout = "1m"
data_timeout = "2m"
chunking = false
no_chunking_hosts = ["MX1.Example.net", "192.0.2.25", "2001:db8::25", "mx1.example.net"]
tls_resumption = false
destination_down_time = "5m"

[delivery.routes]
"Example.COM" = "198.51.100.2:25"
"example.org" = "[::1]:2526"
"b.example" = "mx.example.net"

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
  EXPECT_EQ(c.limits.max_hops, 30u);
  EXPECT_EQ(c.limits.command_timeout, seconds(120));
  EXPECT_EQ(c.limits.data_timeout, seconds(5400));
  EXPECT_EQ(c.limits.min_data_rate, 2000u);
  EXPECT_EQ(c.limits.tls_handshake_rate, 50u);
  EXPECT_EQ(c.limits.tls_handshake_rate_per_ip, 0u);
  EXPECT_EQ(c.limits.inflight_memory, 1ull << 30);
  EXPECT_EQ(c.queue.durability, Durability::Wal);
  EXPECT_EQ(c.queue.retry_schedule, (std::vector<seconds>{seconds(60), seconds(90), seconds(5400)}));
  EXPECT_EQ(c.queue.max_lifetime, seconds(10));
  EXPECT_EQ(c.queue.delay_warning, seconds(0));
  EXPECT_EQ(c.queue.commit_wait, std::chrono::microseconds(0));
  EXPECT_EQ(c.queue.commit_wait_batches, 64u);
  EXPECT_EQ(c.dns.servers, (std::vector<std::string>{"127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1"}));
  EXPECT_EQ(c.dns.timeout, seconds(3));
  EXPECT_EQ(c.delivery.port, 2525);
  ASSERT_TRUE(c.delivery.relayhost.has_value());
  EXPECT_EQ(c.delivery.relayhost->host, "smtp.example.net");
  EXPECT_EQ(c.delivery.relayhost->port, 587);
  EXPECT_FALSE(c.delivery.relayhost->mx_lookup);
  EXPECT_EQ(c.delivery.relayhost->text, "[Smtp.Example.NET]:587");
  EXPECT_EQ(c.delivery.max_connections_per_domain, 3u);
  EXPECT_EQ(c.delivery.max_messages_per_connection, 1u);
  EXPECT_EQ(c.delivery.max_recipients_per_transaction, 50u);
  EXPECT_EQ(c.delivery.connection_idle_timeout, seconds(1));
  EXPECT_EQ(c.delivery.connect_timeout, seconds(10));
  EXPECT_EQ(c.delivery.command_timeout, seconds(60));
  EXPECT_EQ(c.delivery.data_timeout, seconds(120));
  EXPECT_FALSE(c.delivery.chunking);
  EXPECT_EQ(c.delivery.no_chunking_hosts, (std::vector<std::string>{"mx1.example.net", "192.0.2.25", "2001:db8::25"}));
  EXPECT_FALSE(c.delivery.tls_resumption);
  EXPECT_EQ(c.delivery.destination_down_time, seconds(300));
  ASSERT_EQ(c.delivery.routes.size(), 3u);
  EXPECT_EQ(c.delivery.routes.at("example.com").host, "198.51.100.2");  // key lower-cased (not 127.0.0.2: a loop with listener 0.0.0.0:25)
  EXPECT_EQ(c.delivery.routes.at("example.com").port, 25);
  EXPECT_EQ(c.delivery.routes.at("example.org").host, "::1");
  EXPECT_EQ(c.delivery.routes.at("example.org").port, 2526);
  EXPECT_TRUE(c.delivery.routes.at("b.example").mx_lookup);
  EXPECT_EQ(c.delivery.routes.at("b.example").port, 0);
  // The other tables' same-named keys are untouched.
  EXPECT_EQ(c.limits.command_timeout, seconds(120));
  EXPECT_EQ(c.log.level, "debug");
}

// relayhost = TEXT parsed into a config::RouteTarget (all forms of config.h).
config::RouteTarget target_of(const std::string& text) {
  config::Config c = parse_ok("delivery.relayhost = \"" + text + "\"");
  EXPECT_TRUE(c.delivery.relayhost.has_value()) << text;
  return c.delivery.relayhost.value_or(config::RouteTarget{});
}

TEST(Config, RouteTargetForms) {
  struct Case {
    std::string text, host;
    uint16_t port;
    bool mx_lookup;
  };
  const Case cases[] = {
      {"[smtp.example.net]:587", "smtp.example.net", 587, false},  // bracketed name: its A/AAAA
      {"[smtp.example.net]", "smtp.example.net", 0, false},        // port from delivery.port
      {"example.net:25", "example.net", 25, true},                 // unbracketed name: its MX hosts
      {"example.net", "example.net", 0, true},
      {"Mail.Example.NET:2525", "mail.example.net", 2525, true},   // lower-cased
      {"localhost:25", "localhost", 25, true},
      {"192.0.2.1:25", "192.0.2.1", 25, false},                    // IP literal: never MX
      {"192.0.2.1", "192.0.2.1", 0, false},
      {"[192.0.2.1]:25", "192.0.2.1", 25, false},
      {"[192.0.2.1]", "192.0.2.1", 0, false},
      {"[::1]:2525", "::1", 2525, false},
      {"[2001:DB8::1]", "2001:db8::1", 0, false},
      {"[::ffff:127.0.0.1]:25", "::ffff:127.0.0.1", 25, false},
      {"127.0.0.1:65535", "127.0.0.1", 65535, false},
      {"127.0.0.1:00025", "127.0.0.1", 25, false},
      {"xn--bcher-kva.example:25", "xn--bcher-kva.example", 25, true},
  };
  for (const auto& c : cases) {
    config::RouteTarget t = target_of(c.text);
    EXPECT_EQ(t.host, c.host) << c.text;
    EXPECT_EQ(t.port, c.port) << c.text;
    EXPECT_EQ(t.mx_lookup, c.mx_lookup) << c.text;
    EXPECT_EQ(t.text, c.text);
  }
}

TEST(Config, RoutesTable) {
  config::Config c = parse_ok(R"(
[delivery]
relayhost = "[relay.example.net]"

[delivery.routes]
"Internal.Example.COM" = "[10.0.0.5]:25"
"partner.example" = "partner-relay.example.net:2525"
single = "[::1]:25"
)");
  ASSERT_EQ(c.delivery.routes.size(), 3u);
  const config::RouteTarget& internal = c.delivery.routes.at("internal.example.com");
  EXPECT_EQ(internal.host, "10.0.0.5");
  EXPECT_EQ(internal.port, 25);
  EXPECT_FALSE(internal.mx_lookup);
  EXPECT_EQ(internal.text, "[10.0.0.5]:25");
  const config::RouteTarget& partner = c.delivery.routes.at("partner.example");
  EXPECT_EQ(partner.host, "partner-relay.example.net");
  EXPECT_EQ(partner.port, 2525);
  EXPECT_TRUE(partner.mx_lookup);
  EXPECT_EQ(c.delivery.routes.at("single").host, "::1");
  ASSERT_TRUE(c.delivery.relayhost.has_value());
  EXPECT_EQ(c.delivery.relayhost->host, "relay.example.net");

  // Inline table form, and an empty table.
  c = parse_ok("delivery.routes = { \"a.example\" = \"b.example:26\" }");
  ASSERT_EQ(c.delivery.routes.size(), 1u);
  EXPECT_EQ(c.delivery.routes.at("a.example").port, 26);
  EXPECT_TRUE(parse_ok("[delivery.routes]\n").delivery.routes.empty());
}

TEST(Config, OutboundValueForms) {
  // Durations as integers, zero where allowed, a one-entry schedule.
  EXPECT_EQ(parse_ok("queue.retry_schedule = [30]").queue.retry_schedule, (std::vector<seconds>{seconds(30)}));
  EXPECT_EQ(parse_ok("queue.delay_warning = 0").queue.delay_warning, seconds(0));
  EXPECT_EQ(parse_ok("queue.max_lifetime = 1").queue.max_lifetime, seconds(1));
  EXPECT_EQ(parse_ok("queue.max_lifetime = \"5d\"").queue.max_lifetime, hours(120));
  EXPECT_EQ(parse_ok("dns.timeout = 1").dns.timeout, seconds(1));
  EXPECT_EQ(parse_ok("delivery.port = 1").delivery.port, 1);
  EXPECT_EQ(parse_ok("delivery.port = 65535").delivery.port, 65535);
  EXPECT_EQ(parse_ok("delivery.max_connections_per_domain = 1000000").delivery.max_connections_per_domain,
            1000000u);
  EXPECT_TRUE(parse_ok("dns.servers = []").dns.servers.empty());
  EXPECT_EQ(parse_ok("dns.servers = [\"2001:db8::53\"]").dns.servers, (std::vector<std::string>{"2001:db8::53"}));
}

TEST(Config, DottedKeysAndInlineListeners) {
  config::Config c = parse_ok(
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
  EXPECT_FALSE(parse_ok("log.buffered = false").log.buffered);
}

TEST(Config, ListenerKindNames) {
  EXPECT_EQ(to_string(config::ListenerKind::Smtp), "smtp");
  EXPECT_EQ(to_string(config::ListenerKind::Submission), "submission");
  EXPECT_EQ(to_string(config::ListenerKind::Submissions), "submissions");
  EXPECT_EQ(to_string(config::ListenerKind::Pop3), "pop3");
  EXPECT_EQ(to_string(config::ListenerKind::Pop3s), "pop3s");
  EXPECT_EQ(to_string(config::ListenerKind::Imap), "imap");
  EXPECT_EQ(to_string(config::ListenerKind::Imaps), "imaps");
}

TEST(Config, LoadFileMissing) {
  auto r = load_config_file("/nonexistent/ringmta.toml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("/nonexistent/ringmta.toml: cannot read", 0), 0u) << r.error();
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
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), std::string(path) +
                         ":2: server.threads: expected an integer from 0 (one per core) to 1024, got -1");
}

}  // namespace
}  // namespace ringmta::config
