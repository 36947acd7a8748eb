// config/config.h — the daemon's configuration: TOML file (or the embedded
// default) parsed and validated into plain structs.
//
// Errors name the file, line and key ("ringmta.toml:12: limits.max_recipients:
// expected a positive integer"); the daemon prints them and exits 2.
// Every key, its meaning, default and valid values: deploy/ringmta.toml.
// A failed ConfigResult's error() holds every problem found, one per line, in file order.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/cidr.h"
#include "engine/address.h"

namespace ringmta::config {

enum class ListenerKind { Smtp, Submission, Submissions, Pop3, Pop3s, Imap, Imaps };
std::string_view to_string(ListenerKind kind);

struct ListenerConfig {
  engine::SocketAddress address;
  std::string address_text;       // as written, for logs
  ListenerKind kind = ListenerKind::Smtp;
  bool allow_plaintext_auth = false;  // offer AUTH without TLS (loopback development only)
  bool proxy_protocol = false;        // PROXY v1/v2 header required first (behind a load balancer)
};

enum class Durability { Fsync, Wal };

// Outbound TLS (delivery.tls, [delivery.tls_policy]); Postfix's
// smtp_tls_security_level of the same names.
enum class OutboundTls {
  None,     // never STARTTLS
  May,      // STARTTLS when offered, certificate not checked; plaintext otherwise
  Encrypt,  // TLS required (else defer), certificate not checked
  Verify,   // TLS required, chain trusted and name = MX host / route host
};
std::string_view to_string(OutboundTls level);

// Where mail for a route goes instead of the recipient domain's MX hosts
// (Postfix relayhost / transport semantics):
//   "[host]:port", "[192.0.2.1]:port", "192.0.2.1:port", "[::1]:port"
//       -> that host's A/AAAA (or the literal address), no MX lookup;
//   "host:port" with a DNS name -> the MX hosts of `host`, at `port`.
// The port may be omitted (then delivery.port applies).
struct RouteTarget {
  std::string host;       // name or IP, without brackets, lower case
  uint16_t port = 0;      // 0 = delivery.port
  bool mx_lookup = false; // true only for an unbracketed DNS name
  std::string text;       // as written, for logs
};

struct Config {
  std::string source;  // file path, or "<embedded default>"

  struct Server {
    std::string hostname;                       // default: the system host name
    std::string data_dir = "./ringmta-data";
    unsigned threads = 0;                       // 0 = one per core
    std::chrono::seconds shutdown_timeout{30};  // SIGTERM: time open transactions get to finish
  } server;

  std::vector<ListenerConfig> listeners;         // default: one smtp listener on 127.0.0.1:2525

  struct Relay {
    std::vector<Cidr> trusted_networks;          // default 127.0.0.0/8, ::1/128
    std::vector<std::string> local_domains;      // lower-case
    // Local recipients (mail/aliases.h): "NAME: target, target" lines, re-read
    // when the file changes; "" = no aliases (users only).
    std::string aliases_file;
    // user+tag@local.domain reaches user; "" = no sub-addressing.
    std::string recipient_delimiter = "+";
  } relay;

  // The mail store of local users (mailbox/).
  struct Mailbox {
    // Local delivery: mail for relay.local_domains goes into the mailboxes of
    // the users file's users (aliases, sub-addressing; unknown recipients get
    // 550 5.1.1). false: local domains are relayed (routes, relayhost) as
    // before mailboxes existed. Needs auth.users_file.
    bool enabled = false;
    // Bytes a user's mailboxes may hold before RCPT answers 452 4.2.2; the
    // users file's "quota=SIZE" field overrides it per user. 0 = no limit.
    uint64_t quota = 1ull << 30;
  } mailbox;

  struct Limits {
    uint64_t max_message_size = 50ull << 20;
    unsigned max_recipients = 1000;
    size_t max_line_length = 4096;
    unsigned max_errors = 20;
    unsigned max_hops = 50;                  // Received: fields a message may arrive with; more -> 554 5.4.6
    std::chrono::seconds command_timeout{300};
    // A message body (DATA, or BDAT from the first chunk to LAST) must
    // arrive within data_timeout plus one second per min_data_rate bytes
    // received, each data_timeout of it must bring data_timeout x
    // min_data_rate bytes, and no read may be further apart than data_timeout.
    std::chrono::seconds data_timeout{600};
    uint64_t min_data_rate = 500;            // bytes per second; 0 = only the inactivity timeout
    // Message bodies held in memory before their queue commit, all sessions
    // together; past it sessions wait (limits/inflight_budget.h).
    uint64_t inflight_memory = 256ull << 20;
    // TLS handshakes that may start (STARTTLS or implicit TLS), per second in
    // total and per minute from one client (trusted networks exempt); 0 = no limit.
    unsigned tls_handshake_rate = 1000;
    unsigned tls_handshake_rate_per_ip = 120;
    unsigned max_connections = 10000;        // inbound SMTP connections in total; 0 = no limit
    unsigned max_connections_per_ip = 100;   // from one client address (IPv6: one /64); 0 = no limit
  } limits;

  // SMTP AUTH (auth/auth.h). No users_file: AUTH is not offered.
  struct Auth {
    std::string users_file;                      // "user:crypt-hash[:senders]" lines
    bool sender_login_match = false;             // MAIL FROM must be one of the user's addresses
    unsigned max_failures = 5;                   // per client address / user, then 421 and close
    std::chrono::seconds failure_delay{1};       // the n-th recent failure waits n x this before 535
    std::chrono::seconds failure_window{900};    // failures older than this are forgotten
  } auth;

  struct Queue {
    Durability durability = Durability::Fsync;
    // Delay before retry n (1-based) is retry_schedule[min(n, size) - 1],
    // with +-10% jitter; the last entry repeats.
    std::vector<std::chrono::seconds> retry_schedule{
        std::chrono::minutes(5),  std::chrono::minutes(10), std::chrono::minutes(20), std::chrono::minutes(40),
        std::chrono::hours(1),    std::chrono::hours(2),    std::chrono::hours(4)};
    std::chrono::seconds max_lifetime{48 * 3600};  // then bounce (RFC 5321 4.5.4.1: 4-5 days max)
    std::chrono::seconds delay_warning{4 * 3600};  // 0 = no delay DSNs
    // Group-commit gathering in fsync mode (queue::RocksDbOptions::commit_wait).
    std::chrono::microseconds commit_wait{1000};
    unsigned commit_wait_batches = 16;
    // Below this many free bytes in data_dir new mail gets 452 4.3.1 while
    // deliveries, bounces and removals go on (limits/disk_guard.h). 0 = off.
    uint64_t min_free_space = 100ull << 20;
  } queue;

  struct Dns {
    std::vector<std::string> servers;            // "ip:port" / "[v6]:port" / "ip"; empty = resolv.conf
    std::chrono::seconds timeout{10};
  } dns;

  struct Delivery {
    uint16_t port = 25;                          // port of MX hosts
    std::optional<RouteTarget> relayhost;        // everything goes here when set
    std::map<std::string, RouteTarget> routes;   // lower-case domain -> target (before relayhost)
    unsigned max_connections_per_domain = 20;
    unsigned max_messages_per_connection = 100;
    unsigned max_recipients_per_transaction = 100;
    std::chrono::seconds connection_idle_timeout{5};  // reused connection kept this long
    std::chrono::seconds connect_timeout{30};
    std::chrono::seconds command_timeout{300};   // greeting, EHLO, MAIL, RCPT, RSET, QUIT
    std::chrono::seconds data_timeout{600};      // DATA, each body write, end of data
    bool chunking = true;                        // BDAT (RFC 3030) when the server offers CHUNKING
    std::vector<std::string> no_chunking_hosts;  // lower-case host names / IPs that get DATA anyway
    bool tls_resumption = true;                  // resume TLS sessions per host (see Core::tickets)
    // A destination whose every host failed at the connection level (refused,
    // timeout, 4xx greeting) is not tried again for this long: its next jobs
    // fail at once ("delivery temporarily suspended: ..."). 0 = always try.
    std::chrono::seconds destination_down_time{60};
    OutboundTls tls = OutboundTls::May;          // default level
    std::map<std::string, OutboundTls> tls_policy;  // lower-case recipient domain -> level
    std::string tls_ca_file;                     // CAs trusted besides the system store ("verify")
    // MTA-STS (RFC 8461) and DANE (RFC 7672) beside the static levels
    // above (config_tls_policy.cpp, relay/tls_policy.h).
    bool mta_sts = false;                        // look up and apply the recipient domain's MTA-STS policy
    uint16_t mta_sts_port = 443;                 // HTTPS port policies are fetched from (RFC 8461: 443)
    bool dane = false;                           // TLSA records for MX hosts when DNSSEC-validated
    std::string dnssec_resolver;                 // "ip:port" validating resolver for TLSA; "" = [dns] servers
    // Issue 18 (config_outbound.cpp): upstream AUTH, source addresses, rates.
    std::string credentials_file;                // relay/credentials.h format; "" = never AUTH
    struct Source {
      std::optional<engine::SocketAddress> v4, v6;  // port 0; bound before connect
    };
    Source source_address;                       // delivery.source_address
    std::map<std::string, Source> source_addresses;  // lower-case recipient domain -> source
    struct Rate {
      std::string pattern;                       // lower case: "gmail.com" or "*.google.com"
      unsigned messages_per_minute = 0;          // 0 = no limit
      unsigned messages_per_hour = 0;
      unsigned connections_per_minute = 0;
    };
    std::vector<Rate> rates;                     // [delivery.rate."pattern"], file order
  } delivery;

  // Inbound TLS: STARTTLS on smtp/submission listeners, implicit TLS on
  // submissions. Without certificate/private_key the daemon creates a
  // self-signed pair for server.hostname in data_dir (and warns).
  struct Tls {
    std::string certificate;                     // PEM chain file; "" = self-signed
    std::string private_key;                     // PEM key file; set together with certificate
    struct Sni {
      std::vector<std::string> names;            // lower-case; "*.example.com" = one label
      std::string certificate;
      std::string private_key;
    };
    std::vector<Sni> sni;                        // [[tls.sni]]: extra certificates chosen by SNI
    bool resumption = true;                      // session tickets / session-id cache
  } tls;

  struct Log {
    std::string level = "info";                  // trace, debug, info, warn, error
    std::string format = "text";                 // "text" (Postfix-like lines) or "json" (JSON lines)
    bool buffered = true;                        // batch lines (<= 100 ms late); false: each at once
  } log;

  // Prometheus /metrics (telemetry/metrics.h).
  struct Metrics {
    std::string listen = "127.0.0.1:9587";       // "ip:port"; "" = no metrics endpoint
    unsigned top_destinations = 10;              // domains with their own label; the rest are "other"
  } metrics;

  // POP3 (access/pop3_session.h): listener kinds "pop3" (STLS when TLS is
  // set up) and "pop3s" (implicit TLS). Logins use auth.users_file; a name
  // without a domain is a user of the first relay.local_domains entry.
  struct Pop3 {
    // USER/PASS and AUTH PLAIN before TLS (also per listener:
    // listener.allow_plaintext_auth). Loopback development only.
    bool allow_plaintext_auth = false;
    // RFC 1939 section 3: an idle session is closed after this; at least 10 minutes.
    std::chrono::seconds autologout{600};
    unsigned max_errors = 10;                    // bad commands, then -ERR and close
  } pop3;

  // IMAP (access/imap_session.h): listener kinds "imap" (STARTTLS; LOGIN
  // and AUTHENTICATE are refused before it, LOGINDISABLED) and "imaps"
  // (implicit TLS). Same users, login throttling and limits as POP3/SMTP.
  struct Imap {
    // LOGIN/AUTHENTICATE before TLS (also per listener:
    // listener.allow_plaintext_auth). Loopback development only.
    bool allow_plaintext_auth = false;
    // RFC 9051 section 5.4: an idle session is closed after this; at least 30 minutes.
    std::chrono::seconds autologout{1800};
    unsigned max_bad_commands = 10;              // BAD replies, then BYE and close
    // APPENDLIMIT (RFC 7889) and the largest literal a client may send; 0 =
    // limits.max_message_size.
    uint64_t append_limit = 0;
  } imap;
  // [[dkim]]: DKIM signing (dkim/signer.h) of mail from authenticated users
  // and relay.trusted_networks whose From: domain is one of these domains
  // (exactly). Only the shape is checked here; the daemon loads the keys at
  // start-up (a missing or unsafe file, or a key of the wrong type, stops it).
  struct Dkim {
    std::string domain;                          // lower case; at most one entry per domain
    std::string selector;
    std::string key_file;                        // PEM private key
    std::string algorithm = "rsa-sha256";        // or "ed25519-sha256"
    std::string header_canon = "relaxed";        // canonicalization = "HEADER/BODY"
    std::string body_canon = "relaxed";
    // Signed when present (lower case): RFC 6376 §5.4.1's list, as OpenDKIM
    // signs by default, plus message-id, sender and the MIME fields.
    std::vector<std::string> headers{
        "from", "reply-to", "subject", "date", "to", "cc", "resent-date", "resent-from", "resent-to",
        "resent-cc", "in-reply-to", "references", "list-id", "list-help", "list-unsubscribe",
        "list-subscribe", "list-post", "list-owner", "list-archive", "message-id", "sender",
        "mime-version", "content-type", "content-transfer-encoding"};
    std::vector<std::string> over_sign{"from", "to", "subject", "date"};
  };
  std::vector<Dkim> dkim;

  // The admin API ringmtactl talks to (admin/admin_server.h).
  struct Admin {
    std::string listen;                          // "" = admin.sock in data_dir; "/path"; "ip:port" (loopback); "off"
    std::string token;                           // required in every request when set (and for TCP)
  } admin;
};

// The configuration, or every problem found (one per line, in file order).
using ConfigResult = base::Result<Config>;

// Parse and validate a TOML document. `source_name` is used in messages.
ConfigResult parse_config(std::string_view toml_text, std::string_view source_name);
// Read and parse a file.
ConfigResult load_config_file(const std::string& path);
// The embedded default configuration (parsed through the same code path).
ConfigResult default_config();
std::string_view default_config_text();

// "30s", "5m", "2h", "1d", "1w", "1h30m", "0" -> seconds; nullopt on bad syntax.
// A bare number ("90") is seconds. Units (s, m, h, d, w) are lower-case and appear
// at most once each, largest first. No signs, fractions or spaces. At most 3650d.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// Byte sizes: "52428800", "50M", "50MiB", "512K", "1G" -> bytes. Suffixes are
// binary (K/KiB = 1024, M/MiB = 2^20, G/GiB = 2^30, T/TiB = 2^40; k/m/g/t also);
// decimal "KB"/"MB"/"GB" are refused as ambiguous. nullopt on bad syntax/overflow.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace ringmta::config
