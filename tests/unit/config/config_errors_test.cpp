// tests/unit/config/config_errors_test.cpp — every kind of configuration error,
// checked as the full message an operator sees: file, line, full key, what was
// expected and what was found, plus "did you mean" suggestions. The outbound
// tables ([queue] retry policy, [dns], [delivery], [delivery.routes]) at the end.
#include <gtest/gtest.h>

#include "config/config.h"

namespace ringmta::config {
namespace {

std::string error_of(std::string_view text) {
  auto r = parse_config(text, "ringmta.toml");
  EXPECT_FALSE(r.ok()) << text;
  return r.error();
}

TEST(ConfigErrors, TomlSyntaxHasLineAndColumn) {
  std::string e = error_of("[server]\nthreads = 4\nhostname = \"unterminated\n");
  EXPECT_EQ(e.rfind("ringmta.toml:3:", 0), 0u) << e;
  // FILE:LINE:COL: description
  EXPECT_EQ(std::count(e.begin(), e.begin() + e.find(' '), ':'), 3) << e;

  e = error_of("[server]\nthreads = 4\nthreads = 5\n");
  EXPECT_EQ(e.rfind("ringmta.toml:3:", 0), 0u) << e;

  e = error_of("a = \n");
  EXPECT_EQ(e.rfind("ringmta.toml:1:", 0), 0u) << e;
}

TEST(ConfigErrors, UnknownKeyAtTopLevel) {
  EXPECT_EQ(error_of("\n\nfoo = 1\n"), "ringmta.toml:3: unknown key 'foo'");
  EXPECT_EQ(error_of("[limit]\nmax_recipients = 5\n"),
            "ringmta.toml:1: unknown table 'limit'; did you mean 'limits'?");
  EXPECT_EQ(error_of("threads = 4\n"), "ringmta.toml:1: unknown key 'threads'; did you mean 'server.threads'?");
  EXPECT_EQ(error_of("[listeners]\naddress = \"127.0.0.1:25\"\n"),
            "ringmta.toml:1: unknown table 'listeners'; did you mean '[[listener]]'?");
}

TEST(ConfigErrors, UnknownKeyInTable) {
  EXPECT_EQ(error_of("[server]\nthreads = 2\nhostnme = \"mx.example.com\"\n"),
            "ringmta.toml:3: unknown key 'server.hostnme'; did you mean 'server.hostname'?");
  EXPECT_EQ(error_of("[limits]\nmax_recipient = 5\n"),
            "ringmta.toml:2: unknown key 'limits.max_recipient'; did you mean 'limits.max_recipients'?");
  EXPECT_EQ(error_of("[log]\nlevle = \"info\"\n"), "ringmta.toml:2: unknown key 'log.levle'; did you mean 'log.level'?");
  EXPECT_EQ(error_of("[queue]\nengine = \"rocksdb\"\n"), "ringmta.toml:2: unknown key 'queue.engine'");
  // Well-known Postfix names point at ours.
  EXPECT_EQ(error_of("[relay]\nmynetworks = [\"10.0.0.0/8\"]\n"),
            "ringmta.toml:2: unknown key 'relay.mynetworks'; did you mean 'relay.trusted_networks'?");
  EXPECT_EQ(error_of("message_size_limit = 10240000\n"),
            "ringmta.toml:1: unknown key 'message_size_limit'; did you mean 'limits.max_message_size'?");
  // A known key in the wrong table.
  EXPECT_EQ(error_of("[server]\nmax_recipients = 5\n"),
            "ringmta.toml:2: unknown key 'server.max_recipients'; did you mean 'limits.max_recipients'?");
  // Nested tables are unknown too.
  EXPECT_EQ(error_of("[server]\n[server.tls]\ncert = \"x\"\n"), "ringmta.toml:2: unknown table 'server.tls'");
}

TEST(ConfigErrors, UnknownKeyInListener) {
  EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"smtp\"\n"
                     "[[listener]]\nadress = \"127.0.0.2:25\"\nkind = \"smtp\"\n"),
            "ringmta.toml:4: listener[1].address: required key is missing\n"
            "ringmta.toml:5: unknown key 'listener[1].adress'; did you mean 'listener[1].address'?");
  EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"smtp\"\ntls = true\n"),
            "ringmta.toml:4: unknown key 'listener[0].tls'");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(error_of("[limits]\n\nmax_recipients = \"abc\"\n"),
            "ringmta.toml:3: limits.max_recipients: expected a positive integer (at most 1000000), got \"abc\"");
  EXPECT_EQ(error_of("server.threads = \"4\""),
            "ringmta.toml:1: server.threads: expected an integer from 0 (one per core) to 1024, got \"4\"");
  EXPECT_EQ(error_of("server.threads = 2.5"),
            "ringmta.toml:1: server.threads: expected an integer from 0 (one per core) to 1024, got 2.5");
  EXPECT_EQ(error_of("server.hostname = 5"), "ringmta.toml:1: server.hostname: expected a string, got 5");
  EXPECT_EQ(error_of("server.data_dir = true"), "ringmta.toml:1: server.data_dir: expected a string, got true");
  EXPECT_EQ(error_of("server = 5"), "ringmta.toml:1: server: expected a table, got 5");
  EXPECT_EQ(error_of("log.level = [\"info\"]"), "ringmta.toml:1: log.level: expected a string, got an array");
  EXPECT_EQ(error_of("log.buffered = \"yes\""), "ringmta.toml:1: log.buffered: expected true or false, got \"yes\"");
  EXPECT_EQ(error_of("relay.trusted_networks = \"10.0.0.0/8\""),
            "ringmta.toml:1: relay.trusted_networks: expected an array of strings, got \"10.0.0.0/8\"");
  EXPECT_EQ(error_of("[relay]\ntrusted_networks = [\n  \"10.0.0.0/8\",\n  5,\n]\n"),
            "ringmta.toml:4: relay.trusted_networks[1]: expected a string, got 5");
  EXPECT_EQ(error_of("relay.local_domains = [{ name = \"x\" }]"),
            "ringmta.toml:1: relay.local_domains[0]: expected a string, got a table");
  EXPECT_EQ(error_of("[listener]\naddress = \"127.0.0.1:25\"\n"),
            "ringmta.toml:1: listener: expected an array of tables ([[listener]] sections), got a table");
  EXPECT_EQ(error_of("listener = [\"127.0.0.1:25\"]"),
            "ringmta.toml:1: listener: expected an array of tables ([[listener]] sections), got an array");
  EXPECT_EQ(error_of("limits.command_timeout = 1.5"),
            "ringmta.toml:1: limits.command_timeout: expected a positive duration such as \"30s\", \"5m\", "
            "\"1h30m\" (units s, m, h, d, w; at most 3650d), got 1.5");
  EXPECT_EQ(error_of("limits.max_message_size = 1e6"),
            "ringmta.toml:1: limits.max_message_size: expected a positive size in bytes (52428800) or with a "
            "binary unit (\"50M\", \"50MiB\"), at most 1 TiB, got 1000000.0");
}

TEST(ConfigErrors, OutOfRange) {
  EXPECT_EQ(error_of("server.threads = 1025"),
            "ringmta.toml:1: server.threads: expected an integer from 0 (one per core) to 1024, got 1025");
  EXPECT_EQ(error_of("server.threads = -1"),
            "ringmta.toml:1: server.threads: expected an integer from 0 (one per core) to 1024, got -1");
  EXPECT_EQ(error_of("limits.max_recipients = 0"),
            "ringmta.toml:1: limits.max_recipients: expected a positive integer (at most 1000000), got 0");
  EXPECT_EQ(error_of("limits.max_errors = -3"),
            "ringmta.toml:1: limits.max_errors: expected a positive integer (at most 1000000), got -3");
  EXPECT_EQ(error_of("limits.max_hops = 0"),
            "ringmta.toml:1: limits.max_hops: expected an integer from 1 to 1000, got 0");
  EXPECT_EQ(error_of("limits.max_hops = 1001"),
            "ringmta.toml:1: limits.max_hops: expected an integer from 1 to 1000, got 1001");
  EXPECT_EQ(error_of("hopcount_limit = 50"),
            "ringmta.toml:1: unknown key 'hopcount_limit'; did you mean 'limits.max_hops'?");
  EXPECT_EQ(error_of("limits.max_line_length = 511"),
            "ringmta.toml:1: limits.max_line_length: expected an integer from 512 (the RFC 5321 minimum) to "
            "1048576, got 511");
  std::string e = error_of("limits.max_message_size = 0");
  EXPECT_EQ(e.rfind("ringmta.toml:1: limits.max_message_size: expected a positive size", 0), 0u) << e;
  e = error_of("limits.max_message_size = \"2T\"");
  EXPECT_NE(e.find("got \"2T\""), std::string::npos) << e;
  e = error_of("limits.max_message_size = \"50MB\"");
  EXPECT_NE(e.find("ambiguous"), std::string::npos) << e;
  e = error_of("limits.max_message_size = -5");
  EXPECT_NE(e.find("got -5"), std::string::npos) << e;
  EXPECT_EQ(error_of("limits.inflight_memory = \"10MB\""),
            "ringmta.toml:1: limits.inflight_memory: expected a positive size in bytes (268435456) or with a "
            "binary unit (\"50M\", \"50MiB\"), at most 1 TiB; \"KB\"/\"MB\"/\"GB\" are ambiguous, write "
            "\"M\" or \"MiB\" (2^20 bytes), got \"10MB\"");
  EXPECT_EQ(error_of("limits.min_data_rate = -1"),
            "ringmta.toml:1: limits.min_data_rate: expected an integer number of bytes per second from 0 (no "
            "minimum) to 1073741824, got -1");
}

// queue.min_free_space (limits/disk_guard.h): the size syntax of
// max_message_size, and 0 = no guard.
TEST(ConfigErrors, MinFreeSpace) {
  auto parsed = [](const std::string& text) {
    auto r = parse_config("[queue]\nmin_free_space = " + text + "\n", "ringmta.toml");
    EXPECT_TRUE(r.ok()) << text << ": " << r.error();
    return r.ok() ? r->queue.min_free_space : ~uint64_t{0};
  };
  EXPECT_EQ(parsed("0"), 0u);
  EXPECT_EQ(parsed("104857600"), 104857600u);
  EXPECT_EQ(parsed("\"2G\""), uint64_t{2} << 30);
  EXPECT_EQ(parsed("\"512MiB\""), uint64_t{512} << 20);
  const std::string what =
      "ringmta.toml:1: queue.min_free_space: expected a size in bytes (104857600) or with a binary unit (\"100M\", "
      "\"1GiB\"), 0 for no guard, at most 1 PiB";
  EXPECT_EQ(error_of("queue.min_free_space = -1"), what + ", got -1");
  EXPECT_EQ(error_of("queue.min_free_space = \"100MB\""),
            what + "; \"KB\"/\"MB\"/\"GB\" are ambiguous, write \"M\" or \"MiB\" (2^20 bytes), got \"100MB\"");
  EXPECT_EQ(error_of("queue.min_free_space = \"2048T\""), what + ", got \"2048T\"");
  EXPECT_EQ(error_of("queue.min_free_space = true"), what + ", got true");
  EXPECT_EQ(error_of("queue_minfree = 1"),
            "ringmta.toml:1: unknown key 'queue_minfree'; did you mean 'queue.min_free_space'?");
}

TEST(ConfigErrors, BadDurations) {
  const std::string tail = " (units s, m, h, d, w; at most 3650d), got ";
  EXPECT_EQ(error_of("limits.data_timeout = \"10 minutes\""),
            "ringmta.toml:1: limits.data_timeout: expected a positive duration such as \"30s\", \"5m\", \"1h30m\"" +
                tail + "\"10 minutes\"");
  EXPECT_EQ(error_of("[limits]\ncommand_timeout = \"0\"\n"),
            "ringmta.toml:2: limits.command_timeout: expected a positive duration such as \"30s\", \"5m\", \"1h30m\"" +
                tail + "\"0\"");
  EXPECT_EQ(error_of("server.shutdown_timeout = \"-5s\""),
            "ringmta.toml:1: server.shutdown_timeout: expected a duration such as \"30s\", \"5m\", \"1h30m\"" +
                tail + "\"-5s\"");
  EXPECT_EQ(error_of("server.shutdown_timeout = -5"),
            "ringmta.toml:1: server.shutdown_timeout: expected a duration such as \"30s\", \"5m\", \"1h30m\"" +
                tail + "-5");
  EXPECT_NE(error_of("limits.data_timeout = \"99999999999999999999s\"").find("got \"99999999999999999999s\""),
            std::string::npos);
  EXPECT_NE(error_of("limits.data_timeout = 9223372036854775807").find("got 9223372036854775807"),
            std::string::npos);
}

TEST(ConfigErrors, BadCidrs) {
  EXPECT_EQ(error_of("[relay]\ntrusted_networks = [\"10.1.2.3/8\"]\n"),
            "ringmta.toml:2: relay.trusted_networks[0]: invalid network \"10.1.2.3/8\": host bits are set after "
            "the prefix (did you mean '10.0.0.0/8'?)");
  EXPECT_EQ(error_of("relay.trusted_networks = [\"::1\", \"localhost\"]"),
            "ringmta.toml:1: relay.trusted_networks[1]: invalid network \"localhost\": not an IP address");
  EXPECT_EQ(error_of("relay.trusted_networks = [\"10.0.0.0/33\"]"),
            "ringmta.toml:1: relay.trusted_networks[0]: invalid network \"10.0.0.0/33\": prefix length /33 is "
            "longer than 32 bits");
  EXPECT_EQ(error_of("relay.trusted_networks = [\"10.0.0.0/x\"]"),
            "ringmta.toml:1: relay.trusted_networks[0]: invalid network \"10.0.0.0/x\": bad prefix length '/x'");
}

TEST(ConfigErrors, BadDomainsAndHostname) {
  EXPECT_EQ(error_of("relay.local_domains = [\"ex ample.com\"]"),
            "ringmta.toml:1: relay.local_domains[0]: invalid domain name \"ex ample.com\": it contains ' '");
  EXPECT_EQ(error_of("relay.local_domains = [\"example.com.\"]"),
            "ringmta.toml:1: relay.local_domains[0]: invalid domain name \"example.com.\": write it without the "
            "trailing dot");
  EXPECT_EQ(error_of("relay.local_domains = [\"\"]"),
            "ringmta.toml:1: relay.local_domains[0]: invalid domain name \"\": it is empty");
  EXPECT_EQ(error_of("relay.local_domains = [\"a..b\"]"),
            "ringmta.toml:1: relay.local_domains[0]: invalid domain name \"a..b\": it has an empty label");
  EXPECT_EQ(error_of("relay.local_domains = [\"-a.com\"]"),
            "ringmta.toml:1: relay.local_domains[0]: invalid domain name \"-a.com\": a label starts or ends with '-'");
  EXPECT_EQ(error_of("relay.local_domains = [\"10.0.0.1\"]"),
            "ringmta.toml:1: relay.local_domains[0]: invalid domain name \"10.0.0.1\": it looks like an IP "
            "address, not a domain name");
  EXPECT_EQ(error_of("relay.local_domains = [\"bücher.de\"]"),
            "ringmta.toml:1: relay.local_domains[0]: invalid domain name \"bücher.de\": it has non-ASCII "
            "characters (write it in its xn-- form)");
  EXPECT_EQ(error_of("relay.local_domains = [\"" + std::string(64, 'a') + ".com\"]").find("longer than 63"),
            error_of("relay.local_domains = [\"" + std::string(64, 'a') + ".com\"]").find("longer than 63"));
  EXPECT_NE(error_of("relay.local_domains = [\"" + std::string(64, 'a') + ".com\"]").find("longer than 63"),
            std::string::npos);
  EXPECT_EQ(error_of("server.hostname = \"mx_1.example.com\""),
            "ringmta.toml:1: server.hostname: invalid host name \"mx_1.example.com\": it contains '_'");
  EXPECT_EQ(error_of("server.data_dir = \"\""), "ringmta.toml:1: server.data_dir: expected a directory path, got \"\"");
}

TEST(ConfigErrors, EnumValues) {
  EXPECT_EQ(error_of("queue.durability = \"none\""),
            "ringmta.toml:1: queue.durability: expected one of \"fsync\", \"wal\", got \"none\"");
  EXPECT_EQ(error_of("log.level = \"verbose\""),
            "ringmta.toml:1: log.level: expected one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", got "
            "\"verbose\"");
  EXPECT_EQ(error_of("log.level = \"INFO\""),
            "ringmta.toml:1: log.level: expected one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", got "
            "\"INFO\"");
}

TEST(ConfigErrors, ListenerKinds) {
  // IMAP serves the mail store: without [mailbox] enabled it has nothing to serve.
  for (auto kind : {"imap", "imaps"}) {
    std::string e = error_of(std::string("[[listener]]\naddress = \"127.0.0.1:1\"\nkind = \"") + kind + "\"\n");
    EXPECT_EQ(e, "ringmta.toml:1: listener.kind: a pop3/pop3s/imap/imaps listener needs [mailbox] enabled = true "
                 "(the users' mailboxes)");
  }
  EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"lmtp\"\n"),
            "ringmta.toml:3: listener[0].kind: unknown listener kind \"lmtp\" (expected one of smtp, submission, "
            "submissions, pop3, pop3s, imap, imaps)");
  EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:25\"\n"),
            "ringmta.toml:1: listener[0].kind: required key is missing (e.g. kind = \"smtp\")");
}

TEST(ConfigErrors, ListenerAddresses) {
  EXPECT_EQ(error_of("[[listener]]\naddress = \"localhost:25\"\nkind = \"smtp\"\n"),
            "ringmta.toml:2: listener[0].address: expected \"ip:port\" or \"[ipv6]:port\" with a numeric IP "
            "address, got \"localhost:25\"");
  for (auto bad : {"127.0.0.1", "::1:25", "127.0.0.1:70000", "[::1]", "", "127.0.0.1:-1"}) {
    std::string e = error_of(std::string("[[listener]]\naddress = \"") + bad + "\"\nkind = \"smtp\"\n");
    EXPECT_EQ(e.rfind("ringmta.toml:2: listener[0].address: expected \"ip:port\"", 0), 0u) << bad << ": " << e;
  }
  EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:0\"\nkind = \"smtp\"\n"),
            "ringmta.toml:2: listener[0].address: port 0 is not allowed");
  EXPECT_EQ(error_of("[[listener]]\nkind = \"smtp\"\n"), "ringmta.toml:1: listener[0].address: required key is missing");
  EXPECT_EQ(error_of("listener = []"),
            "ringmta.toml:1: listener: at least one listener is needed (remove the key to get the default smtp "
            "listener on 127.0.0.1:2525)");
}

TEST(ConfigErrors, DuplicateAndOverlappingListeners) {
  EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"smtp\"\n\n"
                     "[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"smtp\"\n"),
            "ringmta.toml:6: listener[1].address: duplicate listener address '127.0.0.1:25' (the listener on line 2)");
  // Same address spelled differently is still a duplicate.
  EXPECT_EQ(error_of("[[listener]]\naddress = \"[::1]:25\"\nkind = \"smtp\"\n"
                     "[[listener]]\naddress = \"[0:0::1]:25\"\nkind = \"smtp\"\n"),
            "ringmta.toml:5: listener[1].address: duplicate listener address '[0:0::1]:25' (the listener on line 2)");
  EXPECT_EQ(error_of("[[listener]]\naddress = \"0.0.0.0:25\"\nkind = \"smtp\"\n"
                     "[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"smtp\"\n"),
            "ringmta.toml:5: listener[1].address: listener address '127.0.0.1:25' overlaps '0.0.0.0:25' (the "
            "listener on line 2)");
  // Different ports or families do not clash.
  auto ok = parse_config("[[listener]]\naddress = \"0.0.0.0:25\"\nkind = \"smtp\"\n"
                         "[[listener]]\naddress = \"127.0.0.1:2525\"\nkind = \"smtp\"\n"
                         "[[listener]]\naddress = \"[::]:25\"\nkind = \"smtp\"\n",
                         "ringmta.toml");
  EXPECT_TRUE(ok.ok()) << ok.error();
}

TEST(ConfigErrors, AllErrorsReportedInFileOrder) {
  EXPECT_EQ(error_of("[server]\nthreads = -1\nhostnme = \"x\"\n[limits]\nmax_errors = 0\n"),
            "ringmta.toml:2: server.threads: expected an integer from 0 (one per core) to 1024, got -1\n"
            "ringmta.toml:3: unknown key 'server.hostnme'; did you mean 'server.hostname'?\n"
            "ringmta.toml:5: limits.max_errors: expected a positive integer (at most 1000000), got 0");
  std::string many;
  for (int i = 0; i < 30; ++i) many += "k" + std::to_string(i) + " = 1\n";
  std::string e = error_of(many);
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 20) << e;
  EXPECT_NE(e.find("(10 more errors)"), std::string::npos) << e;
}

TEST(ConfigErrors, LongAndControlStringsAreQuotedSafely) {
  std::string e = error_of("log.level = \"" + std::string(200, 'x') + "\"");
  EXPECT_LT(e.size(), 250u) << e;
  EXPECT_NE(e.find("...\""), std::string::npos) << e;
  e = error_of("log.level = \"a\\u0007b\\\"c\"");
  EXPECT_NE(e.find("got \"a\\x07b\\\"c\""), std::string::npos) << e;
}

const std::string kDuration = " such as \"30s\", \"5m\", \"1h30m\" (units s, m, h, d, w; at most 3650d), got ";
const std::string kForms = " (forms: \"[host]:port\", \"host:port\", \"ip:port\", \"[ipv6]:port\"; the port is optional)";

TEST(ConfigErrors, QueueRetryPolicy) {
  EXPECT_EQ(error_of("[queue]\nretry_schedule = []\n"),
            "ringmta.toml:2: queue.retry_schedule: at least one retry delay is needed, e.g. [\"5m\", \"30m\", \"2h\"]");
  EXPECT_EQ(error_of("queue.retry_schedule = \"5m\""),
            "ringmta.toml:1: queue.retry_schedule: expected an array of durations such as [\"5m\", \"30m\", \"2h\"], "
            "got \"5m\"");
  // Each bad entry on its own line, with its index.
  EXPECT_EQ(error_of("[queue]\nretry_schedule = [\n  \"5m\",\n  \"0\",\n  \"1.5h\",\n  -3,\n]\n"),
            "ringmta.toml:4: queue.retry_schedule[1]: expected a positive duration" + kDuration + "\"0\"\n" +
                "ringmta.toml:5: queue.retry_schedule[2]: expected a positive duration" + kDuration + "\"1.5h\"\n" +
                "ringmta.toml:6: queue.retry_schedule[3]: expected a positive duration" + kDuration + "-3");
  EXPECT_EQ(error_of("queue.retry_schedule = [[\"5m\"]]"),
            "ringmta.toml:1: queue.retry_schedule[0]: expected a positive duration" + kDuration + "an array");
  EXPECT_EQ(error_of("\nqueue.max_lifetime = \"0\""),
            "ringmta.toml:2: queue.max_lifetime: expected a positive duration" + kDuration + "\"0\"");
  EXPECT_EQ(error_of("queue.max_lifetime = \"3651d\""),
            "ringmta.toml:1: queue.max_lifetime: expected a positive duration" + kDuration + "\"3651d\"");
  EXPECT_EQ(error_of("queue.delay_warning = \"-1h\""),
            "ringmta.toml:1: queue.delay_warning: expected a duration" + kDuration + "\"-1h\"");
  EXPECT_EQ(error_of("queue.delay_warning = false"),
            "ringmta.toml:1: queue.delay_warning: expected a duration" + kDuration + "false");
  EXPECT_EQ(error_of("queue.commit_wait_us = 100001"),
            "ringmta.toml:1: queue.commit_wait_us: expected an integer from 0 (no wait) to 100000, got 100001");
  EXPECT_EQ(error_of("queue.commit_wait_us = \"500us\""),
            "ringmta.toml:1: queue.commit_wait_us: expected an integer from 0 (no wait) to 100000, got \"500us\"");
  EXPECT_EQ(error_of("queue.commit_wait_batches = 1"),
            "ringmta.toml:1: queue.commit_wait_batches: expected an integer from 2 to 100000, got 1");
}

TEST(ConfigErrors, Dns) {
  const std::string forms = "expected \"ip\", \"ip:port\" or \"[ipv6]:port\" with a numeric IP address";
  EXPECT_EQ(error_of("[dns]\nservers = [\n  \"127.0.0.1\",\n  \"localhost\",\n]\n"),
            "ringmta.toml:4: dns.servers[1]: invalid DNS server \"localhost\": " + forms);
  for (auto bad : {"ns.example.net:53", "[::1]", "127.0.0.1:", "127.0.0.1:70000", "", "1.2.3.4.5", "[1.2.3.4]:53"})
    EXPECT_EQ(error_of(std::string("dns.servers = [\"") + bad + "\"]"),
              std::string("ringmta.toml:1: dns.servers[0]: invalid DNS server \"") + bad + "\": " + forms)
        << bad;
  EXPECT_EQ(error_of("dns.servers = [\"127.0.0.1:0\"]"),
            "ringmta.toml:1: dns.servers[0]: invalid DNS server \"127.0.0.1:0\": port 0 is not allowed");
  EXPECT_EQ(error_of("dns.servers = [\"127.0.0.1\\u0000x\"]"),
            "ringmta.toml:1: dns.servers[0]: invalid DNS server \"127.0.0.1\\x00x\": it contains a control character");
  EXPECT_EQ(error_of("dns.servers = \"127.0.0.1\""),
            "ringmta.toml:1: dns.servers: expected an array of strings, got \"127.0.0.1\"");
  EXPECT_EQ(error_of("dns.servers = [53]"), "ringmta.toml:1: dns.servers[0]: expected a string, got 53");
  EXPECT_EQ(error_of("dns.timeout = 0"), "ringmta.toml:1: dns.timeout: expected a positive duration" + kDuration + "0");
  EXPECT_EQ(error_of("dns = [1]"), "ringmta.toml:1: dns: expected a table, got an array");
}

TEST(ConfigErrors, DeliveryNumbersAndTimeouts) {
  for (auto bad : {"0", "65536", "-25", "\"25\"", "25.0"})
    EXPECT_EQ(error_of(std::string("[delivery]\nport = ") + bad + "\n"),
              std::string("ringmta.toml:2: delivery.port: expected an integer from 1 to 65535, got ") + bad)
        << bad;
  for (auto key : {"max_connections_per_domain", "max_messages_per_connection", "max_recipients_per_transaction"}) {
    for (auto bad : {"0", "-1", "1000001", "\"10\""})
      EXPECT_EQ(error_of(std::string("[delivery]\n") + key + " = " + bad + "\n"),
                std::string("ringmta.toml:2: delivery.") + key + ": expected a positive integer (at most 1000000), got " +
                    bad);
  }
  for (auto key : {"connection_idle_timeout", "connect_timeout", "command_timeout", "data_timeout"}) {
    for (auto bad : {"\"0\"", "0", "\"5 s\"", "1.5"})
      EXPECT_EQ(error_of(std::string("[delivery]\n") + key + " = " + bad + "\n"),
                std::string("ringmta.toml:2: delivery.") + key + ": expected a positive duration" + kDuration + bad);
  }
  // destination_down_time may be 0 (off), but not negative or malformed.
  for (auto bad : {"-1", "\"5 s\"", "1.5", "\"300ms\""})
    EXPECT_EQ(error_of(std::string("[delivery]\ndestination_down_time = ") + bad + "\n"),
              std::string("ringmta.toml:2: delivery.destination_down_time: expected a duration") + kDuration + bad)
        << bad;
  EXPECT_EQ(error_of("[delivery]\nchunking = \"yes\"\n"),
            "ringmta.toml:2: delivery.chunking: expected true or false, got \"yes\"");
  EXPECT_EQ(error_of("[delivery]\nno_chunking_hosts = [\"mx.example\", \"bad host\"]\n"),
            "ringmta.toml:2: delivery.no_chunking_hosts[1]: expected a host name or an IP address, got \"bad host\": "
            "it contains ' '");
  EXPECT_EQ(error_of("[delivery]\ntls_resumption = 1\n"),
            "ringmta.toml:2: delivery.tls_resumption: expected true or false, got 1");
}

TEST(ConfigErrors, DestinationDownTimeZeroTurnsItOff) {
  auto r = parse_config("[delivery]\ndestination_down_time = \"0s\"\n", "ringmta.toml");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->delivery.destination_down_time, std::chrono::seconds(0));
}

TEST(ConfigErrors, RelayhostSyntax) {
  auto relayhost = [](const std::string& text) { return error_of("[delivery]\nrelayhost = \"" + text + "\"\n"); };
  auto message = [](const std::string& shown, const std::string& why) {
    return "ringmta.toml:2: delivery.relayhost: invalid route target \"" + shown + "\": " + why;
  };
  EXPECT_EQ(relayhost(""),
            "ringmta.toml:2: delivery.relayhost: expected a route target such as \"[smtp.example.net]:587\", got \"\" "
            "(remove the key to deliver to each domain's MX hosts)");
  EXPECT_EQ(error_of("delivery.relayhost = 25"),
            "ringmta.toml:1: delivery.relayhost: expected a route target string such as \"[smtp.example.net]:587\", "
            "got 25");
  EXPECT_EQ(relayhost("[smtp.example.net"), message("[smtp.example.net", "'[' has no matching ']'" + kForms));
  EXPECT_EQ(relayhost("[smtp.example.net]587"), message("[smtp.example.net]587", "only ':port' may follow ']'" + kForms));
  EXPECT_EQ(relayhost("[]:25"), message("[]:25", "the host between '[' and ']' is empty" + kForms));
  EXPECT_EQ(relayhost(":25"), message(":25", "the host is empty" + kForms));
  EXPECT_EQ(relayhost("2001:db8::1"),
            message("2001:db8::1", "an IPv6 address must be in brackets, e.g. \"[2001:db8::1]:25\""));
  EXPECT_EQ(relayhost("::1:25"), message("::1:25", "an IPv6 address must be in brackets, e.g. \"[2001:db8::1]:25\""));
  EXPECT_EQ(relayhost("[2001:db8::zz]:25"), message("[2001:db8::zz]:25", "'2001:db8::zz' is not a valid IPv6 address"));
  EXPECT_EQ(relayhost("[ipv6:::1]:25"), message("[ipv6:::1]:25", "'ipv6:::1' is not a valid IPv6 address"));
  EXPECT_EQ(relayhost("192.0.2:25"), message("192.0.2:25", "'192.0.2' is not a valid IPv4 address"));
  EXPECT_EQ(relayhost("[300.0.2.1]"), message("[300.0.2.1]", "'300.0.2.1' is not a valid IPv4 address"));
  EXPECT_EQ(relayhost("smtp_relay.example.net:25"),
            message("smtp_relay.example.net:25", "host name 'smtp_relay.example.net': it contains '_'"));
  EXPECT_EQ(relayhost("smtp.example.net.:25"),
            message("smtp.example.net.:25", "host name 'smtp.example.net.': write it without the trailing dot"));
  EXPECT_EQ(relayhost("smtp .example.net"), message("smtp .example.net", "host name 'smtp .example.net': it contains ' '"));
  EXPECT_EQ(relayhost("[a..b]"), message("[a..b]", "host name 'a..b': it has an empty label"));
  EXPECT_EQ(relayhost("bücher.example"),
            message("bücher.example",
                    "host name 'b\\xc3\\xbccher.example': it has non-ASCII characters (write it in its xn-- form)"));
  EXPECT_EQ(relayhost("192.0.2.1\\u0000x:25"), message("192.0.2.1\\x00x:25", "it contains a control character"));
  EXPECT_EQ(relayhost("smtp.example.net:"), message("smtp.example.net:", "the port after ':' is empty"));
  for (auto port : {"0", "65536", "99999999999999999999", "2x", "-1", "25:26", " 25"})
    EXPECT_EQ(relayhost(std::string("[smtp.example.net]:") + port),
              message(std::string("[smtp.example.net]:") + port,
                      std::string("the port '") + port + "' is not a number from 1 to 65535"));
}

TEST(ConfigErrors, Routes) {
  // The TOML trap: an unquoted domain is a dotted key, i.e. nested tables.
  EXPECT_EQ(error_of("[delivery.routes]\nexample.com = \"[relay.example.net]\"\n"),
            "ringmta.toml:2: delivery.routes.\"example\": expected a route target string, got a table (a domain "
            "with dots must be quoted: \"example.com\" = \"[smtp.example.net]:587\")");
  EXPECT_EQ(error_of("[delivery.routes]\n\"ex_ample.com\" = \"[relay.example.net]\"\n"),
            "ringmta.toml:2: delivery.routes.\"ex_ample.com\": invalid domain name \"ex_ample.com\": it contains '_'");
  EXPECT_EQ(error_of("[delivery.routes]\n\"example.com.\" = \"[relay.example.net]\"\n"),
            "ringmta.toml:2: delivery.routes.\"example.com.\": invalid domain name \"example.com.\": write it "
            "without the trailing dot");
  EXPECT_EQ(error_of("[delivery.routes]\n\"192.0.2.1\" = \"[relay.example.net]\"\n"),
            "ringmta.toml:2: delivery.routes.\"192.0.2.1\": invalid domain name \"192.0.2.1\": it looks like an IP "
            "address, not a domain name");
  EXPECT_EQ(error_of("[delivery.routes]\n\"a\\u0007b\" = \"x.example\"\n"),
            "ringmta.toml:2: delivery.routes.\"a\\x07b\": invalid domain name \"a\\x07b\": it contains '\\x07'");
  // Keys that differ only in case are the same domain.
  EXPECT_EQ(error_of("[delivery.routes]\n\"Example.com\" = \"a.example\"\n\n\"example.COM\" = \"b.example\"\n"),
            "ringmta.toml:4: delivery.routes.\"example.COM\": duplicate route for domain 'example.com' (also on "
            "line 2)");
  EXPECT_EQ(error_of("[delivery.routes]\n\"a.example\" = 25\n"),
            "ringmta.toml:2: delivery.routes.\"a.example\": expected a route target string such as "
            "\"[smtp.example.net]:587\", got 25");
  EXPECT_EQ(error_of("[delivery.routes]\n\"a.example\" = \"\"\n"),
            "ringmta.toml:2: delivery.routes.\"a.example\": invalid route target \"\": it is empty");
  EXPECT_EQ(error_of("[delivery.routes]\n\"a.example\" = \"[b.example]:0\"\n"),
            "ringmta.toml:2: delivery.routes.\"a.example\": invalid route target \"[b.example]:0\": the port '0' is "
            "not a number from 1 to 65535");
  EXPECT_EQ(error_of("delivery.routes = [\"a.example\"]"),
            "ringmta.toml:1: delivery.routes: expected a table of \"domain\" = \"target\" entries "
            "([delivery.routes]), got an array");
  // Several bad routes: each reported, in file order.
  EXPECT_EQ(error_of("[delivery.routes]\n\"ok.example\" = \"x.example\"\n\"b_ad.example\" = \"x.example\"\n"
                     "\"c.example\" = \"[x\"\n"),
            "ringmta.toml:3: delivery.routes.\"b_ad.example\": invalid domain name \"b_ad.example\": it contains '_'\n"
            "ringmta.toml:4: delivery.routes.\"c.example\": invalid route target \"[x\": '[' has no matching ']'" +
                kForms);
}

// A relayhost or route that is one of our own mail listeners is a mail loop
// (config/self_addresses.h): refused at start. The default listener is
// 127.0.0.1:2525; delivery.port applies when the target has no port.
TEST(ConfigErrors, TargetsThatAreOwnListeners) {
  EXPECT_EQ(error_of("[delivery]\nrelayhost = \"[127.0.0.1]:2525\"\n"),
            "ringmta.toml:2: delivery.relayhost: \"[127.0.0.1]:2525\" is this daemon's own listener 127.0.0.1:2525: "
            "mail sent there would loop back to ringmta itself");
  EXPECT_EQ(error_of("[delivery]\nport = 2525\nrelayhost = \"127.0.0.1\"\n"),
            "ringmta.toml:3: delivery.relayhost: \"127.0.0.1\" is this daemon's own listener 127.0.0.1:2525: "
            "mail sent there would loop back to ringmta itself");
  // A wildcard listener takes every local address (all of 127.0.0.0/8) on its port.
  const std::string wildcard = "[[listener]]\naddress = \"0.0.0.0:25\"\nkind = \"smtp\"\n";
  EXPECT_EQ(error_of(wildcard + "[delivery.routes]\n\"ok.example\" = \"[198.51.100.1]\"\n"
                                "\"Loop.example\" = \"[127.0.0.2]:25\"\n"),
            "ringmta.toml:6: delivery.routes.\"Loop.example\": \"[127.0.0.2]:25\" is this daemon's own listener "
            "0.0.0.0:25: mail sent there would loop back to ringmta itself");
  // Not loops: another port, an address the listener is not bound to, and
  // names (resolved, and checked, at delivery time).
  for (const char* ok : {"[delivery]\nrelayhost = \"[127.0.0.1]:2526\"\n",
                         "[delivery]\nrelayhost = \"[127.0.0.2]:2525\"\n",
                         "[delivery]\nrelayhost = \"[localhost]:2525\"\n"}) {
    auto r = parse_config(ok, "ringmta.toml");
    EXPECT_TRUE(r.ok()) << ok << "\n" << r.error();
  }
}

TEST(ConfigErrors, OutboundUnknownKeys) {
  EXPECT_EQ(error_of("[delivery]\nrelay_host = \"x\"\n"),
            "ringmta.toml:2: unknown key 'delivery.relay_host'; did you mean 'delivery.relayhost'?");
  EXPECT_EQ(error_of("relayhost = \"[x.example]\""),
            "ringmta.toml:1: unknown key 'relayhost'; did you mean 'delivery.relayhost'?");
  EXPECT_EQ(error_of("[delivery]\nmax_connection_per_domain = 5\n"),
            "ringmta.toml:2: unknown key 'delivery.max_connection_per_domain'; did you mean "
            "'delivery.max_connections_per_domain'?");
  EXPECT_EQ(error_of("[dns]\nserver = [\"127.0.0.1\"]\n"),
            "ringmta.toml:2: unknown key 'dns.server'; did you mean 'dns.servers'?");
  EXPECT_EQ(error_of("[delivery]\n[delivery.route]\n"),
            "ringmta.toml:2: unknown table 'delivery.route'; did you mean 'delivery.routes'?");
  EXPECT_EQ(error_of("[queue]\nretry_schedul = [\"5m\"]\n"),
            "ringmta.toml:2: unknown key 'queue.retry_schedul'; did you mean 'queue.retry_schedule'?");
  EXPECT_EQ(error_of("[deliver]\n"), "ringmta.toml:1: unknown table 'deliver'; did you mean 'delivery'?");
  // A key of [limits] under [delivery] and the other way round: siblings win.
  EXPECT_EQ(error_of("[delivery]\ncommand_timeot = \"5m\"\n"),
            "ringmta.toml:2: unknown key 'delivery.command_timeot'; did you mean 'delivery.command_timeout'?");
  EXPECT_EQ(error_of("[limits]\nconnect_timeout = \"5m\"\n"),
            "ringmta.toml:2: unknown key 'limits.connect_timeout'; did you mean 'delivery.connect_timeout'?");
  // Postfix names.
  EXPECT_EQ(error_of("maximal_queue_lifetime = \"5d\""),
            "ringmta.toml:1: unknown key 'maximal_queue_lifetime'; did you mean 'queue.max_lifetime'?");
  EXPECT_EQ(error_of("[queue]\ndelay_warning_time = \"4h\"\n"),
            "ringmta.toml:2: unknown key 'queue.delay_warning_time'; did you mean 'queue.delay_warning'?");
  EXPECT_EQ(error_of("transport_maps = \"hash:/etc/postfix/transport\""),
            "ringmta.toml:1: unknown key 'transport_maps'; did you mean 'delivery.routes'?");
  EXPECT_EQ(error_of("[delivery]\nsmtp_connect_timeout = \"30s\"\n"),
            "ringmta.toml:2: unknown key 'delivery.smtp_connect_timeout'; did you mean 'delivery.connect_timeout'?");
  EXPECT_EQ(error_of("[delivery]\ndefault_destination_concurrency_limit = 20\n"),
            "ringmta.toml:2: unknown key 'delivery.default_destination_concurrency_limit'; did you mean "
            "'delivery.max_connections_per_domain'?");
  EXPECT_EQ(error_of("[queue]\nminimal_backoff_time = \"5m\"\n"),
            "ringmta.toml:2: unknown key 'queue.minimal_backoff_time'; did you mean 'queue.retry_schedule'?");
}

}  // namespace
}  // namespace ringmta::config
