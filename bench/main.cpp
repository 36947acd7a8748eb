// bench/main.cpp — the `ringmta-bench` command line: `send` (load generator),
// `sink` (counting SMTP sink) and `imap` (IMAP load client, imap.h). Options are checked here so that a bad
// value is a clear message and exit code 2, never a half-started run.
//
// Exit codes: 0 ok; 1 the run failed (connection failures beyond
// --max-failures, hard time limit, cannot listen); 2 bad command line.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <sstream>

#include "bench/imap.h"
#include "bench/send.h"
#include "bench/sink.h"

namespace {

using ringmta::engine::SocketAddress;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// "HOST:PORT" where HOST is an IP literal ("[::1]:25" for IPv6) or localhost.
bool parse_endpoint(const std::string& text, SocketAddress& out, std::string& host) {
  std::string t = text;
  if (t.rfind("localhost:", 0) == 0) t = "127.0.0.1:" + t.substr(10);
  auto a = SocketAddress::parse(t);
  if (!a) return false;
  out = *a;
  host = a->ip();
  return true;
}

bool percent_ok(double v) { return v >= 0 && v <= 100; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ringmta-bench: SMTP load generator and sink (loopback benchmarks)", "ringmta-bench"};
  app.require_subcommand(1);

  // ------------------------------------------------------------ send
  ringmta::bench::SendConfig sc;
  std::string target, domains = "example.com", pipelining = "on", auth;
  bool starttls = false, implicit_tls = false;
  auto* send = app.add_subcommand("send", "Send SMTP load to a server and report rates and latencies");
  send->add_option("--target", target, "Server as IP:PORT (or localhost:PORT)")->required();
  send->add_option("--sessions", sc.sessions, "Concurrent SMTP sessions (default 50)");
  send->add_option("--messages", sc.messages, "Messages to send in total (0: until --duration)");
  send->add_option("--duration", sc.duration, "Seconds to send for (instead of, or besides, --messages)");
  send->add_option("--time-limit", sc.time_limit,
                   "Hard limit in seconds (default: duration + 60, or 600); reaching it is a failure");
  send->add_option("--size", sc.size, "Size of the generated messages in bytes (default 4096)");
  send->add_option("--message-file", sc.message_path, "Send these messages instead: a file or a directory of files");
  send->add_option("--rcpts", sc.rcpts, "Recipients per message (default 1)");
  send->add_option("--domains", domains, "Recipient domains, comma-separated, used in turn (default example.com)");
  send->add_option("--from", sc.sender, "Envelope sender (default bench@ringmta-bench.test)");
  send->add_option("--helo", sc.helo, "EHLO name");
  send->add_option("--pipelining", pipelining, "on|off: RFC 2920 command groups (default on)");
  send->add_flag("--starttls", starttls, "Use STARTTLS (the server must offer it)");
  send->add_flag("--tls", implicit_tls, "Implicit TLS from the first byte (RFC 8314, port 465 style)");
  send->add_option("--tls-sni", sc.tls_server_name, "Server name to send as SNI");
  send->add_option("--auth", auth, "USER:PASS for AUTH PLAIN after EHLO (and after TLS, if any)");
  send->add_option("--rate", sc.rate, "Limit to this many messages per second over all sessions");
  send->add_option("--threads", sc.threads, "Reactor threads (default 1)");
  send->add_option("--per-connection", sc.per_connection,
                   "Messages per connection, then QUIT and reconnect (default 0: no limit)");
  send->add_option("--max-failures", sc.max_failures,
                   "Connection failures tolerated; one more stops the run with exit code 1 (default 0)");
  send->add_option("--connect-timeout", sc.connect_timeout, "Seconds (default 10)");
  send->add_option("--reply-timeout", sc.reply_timeout, "Seconds to wait for a reply (default 60)");
  send->add_flag("--json", sc.json, "Print the report as one JSON object");
  bool no_progress = false;
  send->add_flag("--no-progress", no_progress, "No live progress line (it is drawn only on a terminal anyway)");

  // ------------------------------------------------------------ sink
  ringmta::bench::SinkConfig kc;
  std::string listen, tls_pair;
  auto* sink = app.add_subcommand("sink", "Accept SMTP mail, count it, discard it; inject faults on request");
  sink->add_option("--listen", listen, "Address as IP:PORT")->required();
  sink->add_option("--rcpt-temp-fail", kc.rcpt_temp_fail, "Percent of RCPTs answered 451 4.3.0");
  sink->add_option("--rcpt-perm-fail", kc.rcpt_perm_fail, "Percent of RCPTs answered 550 5.1.1");
  sink->add_option("--data-temp-fail", kc.data_temp_fail, "Percent of messages answered 451 4.3.0 at end of DATA");
  sink->add_option("--data-perm-fail", kc.data_perm_fail, "Percent of messages answered 554 5.3.0 at end of DATA");
  sink->add_option("--reply-delay", kc.reply_delay_ms, "Delay every batch of replies by this many ms");
  sink->add_option("--greeting-delay", kc.greeting_delay_ms, "Delay the 220 greeting by this many ms");
  sink->add_option("--refuse", kc.refuse, "Percent of connections closed at once, without a greeting");
  sink->add_option("--tls", tls_pair, "CERT,KEY (PEM files): offer STARTTLS");
  sink->add_flag("--implicit-tls", kc.implicit_tls, "With --tls: TLS from the first byte instead of STARTTLS");
  bool no_chunking = false;
  sink->add_flag("--no-chunking", no_chunking, "Do not offer CHUNKING (BDAT); clients then use DATA");
  sink->add_option("--threads", kc.threads, "Reactor threads (default 1)");
  sink->add_option("--duration", kc.duration, "Seconds to run (default: until SIGINT/SIGTERM)");
  sink->add_option("--report-interval", kc.report_interval, "Seconds between progress lines on stderr (0: none)");
  sink->add_option("--record", kc.record_path, "Write one JSON line per message (end of DATA) to this file");
  sink->add_option("--seed", kc.seed, "Seed for the injected-fault dice (default: from the clock)");
  sink->add_option("--hostname", kc.hostname, "Name in the greeting and EHLO reply");
  sink->add_flag("--json", kc.json, "Print the final report as one JSON object");

  // ------------------------------------------------------------ imap
  ringmta::bench::ImapConfig ic;
  std::string imap_target, imap_mode = "idle", imap_login;
  auto* imap = app.add_subcommand("imap", "IMAP load: idle connections, FETCH, APPEND, IDLE notification latency");
  imap->add_option("--target", imap_target, "Server as IP:PORT (or localhost:PORT)")->required();
  imap->add_option("--mode", imap_mode, "idle | fetch | append | idle-latency (default idle)");
  imap->add_option("--login", imap_login, "USER:PASS; \"%d\" in USER is replaced by session % --users")->required();
  imap->add_option("--users", ic.users, "Distinct users for \"%d\" (default 1)");
  imap->add_option("--sessions", ic.sessions, "Concurrent sessions (default 1)");
  imap->add_option("--mailbox", ic.mailbox, "Mailbox to select / append to (default INBOX)");
  imap->add_flag("--tls", ic.tls, "Implicit TLS (imaps)");
  imap->add_option("--tls-sni", ic.tls_server_name, "Server name to send as SNI");
  imap->add_option("--connect-concurrency", ic.connect_concurrency, "Sessions logging in at once (default 200)");
  imap->add_option("--hold", ic.hold, "idle: seconds in IDLE once every session is there (default 10; SIGTERM ends it)");
  imap->add_option("--batch", ic.batch, "fetch: messages per BODY.PEEK[] command (default 100)");
  imap->add_flag("--no-body", ic.no_body, "fetch: the metadata pass only, no BODY.PEEK[] pass");
  imap->add_option("--messages", ic.messages, "append: total APPENDs; idle-latency: deliveries (default 100)");
  imap->add_option("--size", ic.size, "append: message size in bytes (default 4096)");
  imap->add_flag("--no-literal-plus", ic.no_literal_plus, "append: synchronising literals even if LITERAL+ is offered");
  imap->add_option("--smtp", ic.smtp, "idle-latency: deliver by SMTP to IP:PORT");
  imap->add_option("--lmtp", ic.lmtp, "idle-latency: deliver by LMTP to IP:PORT");
  imap->add_option("--deliver-cmd", ic.deliver_cmd, "idle-latency: run this (sh -c; %u = recipient) with the message on stdin");
  imap->add_option("--rcpt-domain", ic.rcpt_domain, "idle-latency: domain for users without '@'");
  imap->add_option("--interval", ic.interval, "idle-latency: seconds between deliveries (default 0.05)");
  imap->add_option("--notify-timeout", ic.notify_timeout, "idle-latency: seconds to wait for each EXISTS (default 5)");
  imap->add_option("--max-failures", ic.max_failures, "Failed sessions tolerated (default 0)");
  imap->add_option("--reply-timeout", ic.reply_timeout, "Seconds to wait for a reply (default 120)");
  imap->add_option("--time-limit", ic.time_limit, "Hard limit for the run in seconds (default 300)");
  imap->add_flag("--json", ic.json, "Print the report as one JSON object");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  auto usage = [](const char* cmd, const std::string& why) {
    std::fprintf(stderr, "ringmta-bench %s: %s\n", cmd, why.c_str());
    return 2;
  };

  if (send->parsed()) {
    std::string host;
    if (!parse_endpoint(target, sc.target, host)) return usage("send", "--target: expected IP:PORT, got '" + target + "'");
    sc.target_text = target;
    if (sc.sessions == 0 || sc.sessions > 100000) return usage("send", "--sessions must be 1..100000");
    if (sc.messages == 0 && sc.duration <= 0) return usage("send", "give --messages N and/or --duration SECONDS");
    if (sc.duration < 0 || sc.time_limit < 0 || sc.rate < 0) return usage("send", "negative duration/limit/rate");
    if (sc.rcpts == 0 || sc.rcpts > 10000) return usage("send", "--rcpts must be 1..10000");
    if (sc.size > (1ull << 30)) return usage("send", "--size at most 1 GiB");
    if (sc.threads == 0 || sc.threads > 256) return usage("send", "--threads must be 1..256");
    if (sc.connect_timeout <= 0 || sc.reply_timeout <= 0) return usage("send", "timeouts must be positive");
    sc.domains = split_list(domains);
    if (sc.domains.empty()) return usage("send", "--domains: empty list");
    if (pipelining == "on")
      sc.pipelining = true;
    else if (pipelining == "off")
      sc.pipelining = false;
    else
      return usage("send", "--pipelining must be on or off");
    if (starttls && implicit_tls) return usage("send", "--starttls and --tls exclude each other");
    sc.tls = starttls ? ringmta::bench::TlsMode::StartTls
                      : implicit_tls ? ringmta::bench::TlsMode::Implicit : ringmta::bench::TlsMode::None;
    if (!auth.empty()) {
      const size_t colon = auth.find(':');
      if (colon == std::string::npos || colon == 0) return usage("send", "--auth: expected USER:PASS");
      sc.auth_user = auth.substr(0, colon);
      sc.auth_password = auth.substr(colon + 1);
    }
    for (const std::string* s : {&sc.sender, &sc.helo})
      if (s->find_first_of("\r\n<> ") != std::string::npos) return usage("send", "--from/--helo: no spaces, <>, CR or LF");
    for (const auto& d : sc.domains)
      if (d.find_first_of("\r\n<> @") != std::string::npos) return usage("send", "--domains: bad domain '" + d + "'");
    sc.progress = !no_progress;
    return ringmta::bench::run_send(sc);
  }

  if (imap->parsed()) {
    using ringmta::bench::ImapMode;
    std::string host;
    if (!parse_endpoint(imap_target, ic.target, host))
      return usage("imap", "--target: expected IP:PORT, got '" + imap_target + "'");
    ic.target_text = imap_target;
    if (imap_mode == "idle") ic.mode = ImapMode::Idle;
    else if (imap_mode == "fetch") ic.mode = ImapMode::Fetch;
    else if (imap_mode == "append") ic.mode = ImapMode::Append;
    else if (imap_mode == "idle-latency") ic.mode = ImapMode::IdleLatency;
    else return usage("imap", "--mode must be idle, fetch, append or idle-latency");
    const size_t colon = imap_login.find(':');
    if (colon == std::string::npos || colon == 0) return usage("imap", "--login: expected USER:PASS");
    ic.user = imap_login.substr(0, colon);
    ic.password = imap_login.substr(colon + 1);
    for (const std::string* s : {&ic.user, &ic.password, &ic.mailbox})
      if (s->find_first_of("\r\n") != std::string::npos) return usage("imap", "no CR or LF in --login / --mailbox");
    if (ic.sessions == 0 || ic.sessions > 200000) return usage("imap", "--sessions must be 1..200000");
    if (ic.users > 1 && ic.user.find("%d") == std::string::npos)
      return usage("imap", "--users N needs \"%d\" in the --login user");
    if (ic.users == 0 || ic.connect_concurrency == 0 || ic.batch == 0 || ic.batch > 100000)
      return usage("imap", "--users, --connect-concurrency and --batch (<= 100000) must be positive");
    if (ic.hold < 0 || ic.interval < 0 || ic.notify_timeout <= 0 || ic.time_limit <= 0 || ic.reply_timeout <= 0)
      return usage("imap", "negative or zero duration");
    if (ic.size < 200 || ic.size > (256u << 20)) return usage("imap", "--size must be 200 .. 256 MiB");
    if (ic.mode == ImapMode::Append && ic.messages == 0) return usage("imap", "--messages must be positive");
    if (ic.mode == ImapMode::IdleLatency) {
      const int ways = !ic.smtp.empty() + !ic.lmtp.empty() + !ic.deliver_cmd.empty();
      if (ways != 1) return usage("imap", "idle-latency needs exactly one of --smtp, --lmtp, --deliver-cmd");
      if (ic.messages == 0 || ic.messages > 1000000) return usage("imap", "--messages must be 1..1000000");
      for (const std::string* s : {&ic.smtp, &ic.lmtp})
        if (!s->empty() && !ringmta::engine::SocketAddress::parse(*s))
          return usage("imap", "--smtp/--lmtp: expected IP:PORT, got '" + *s + "'");
      if (ic.user.find_first_of("<> \"'$`\\;|&") != std::string::npos)
        return usage("imap", "idle-latency: the user name must be a plain address (it goes into RCPT TO and a command)");
    }
    return ringmta::bench::run_imap(ic);
  }

  std::string host;
  if (!parse_endpoint(listen, kc.listen, host)) return usage("sink", "--listen: expected IP:PORT, got '" + listen + "'");
  kc.listen_text = listen;
  for (double p : {kc.rcpt_temp_fail, kc.rcpt_perm_fail, kc.data_temp_fail, kc.data_perm_fail, kc.refuse})
    if (!percent_ok(p)) return usage("sink", "percentages must be 0..100");
  if (kc.rcpt_temp_fail + kc.rcpt_perm_fail > 100 || kc.data_temp_fail + kc.data_perm_fail > 100)
    return usage("sink", "temp + perm failure percentages exceed 100");
  if (kc.threads == 0 || kc.threads > 256) return usage("sink", "--threads must be 1..256");
  if (kc.duration < 0 || kc.report_interval < 0) return usage("sink", "negative duration/interval");
  if (!tls_pair.empty()) {
    const size_t comma = tls_pair.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == tls_pair.size())
      return usage("sink", "--tls: expected CERT,KEY");
    kc.tls_cert = tls_pair.substr(0, comma);
    kc.tls_key = tls_pair.substr(comma + 1);
  }
  if (kc.implicit_tls && kc.tls_cert.empty()) return usage("sink", "--implicit-tls needs --tls CERT,KEY");
  kc.chunking = !no_chunking;
  if (kc.hostname.find_first_of("\r\n ") != std::string::npos) return usage("sink", "--hostname: no spaces, CR or LF");
  return ringmta::bench::run_sink(kc);
}
