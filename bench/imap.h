// bench/imap.h — `ringmta-bench imap`: an IMAP load client for comparing
// ringmta's IMAP server with Dovecot (bench/imap_compare.py drives it).
//
// One thread runs an epoll loop over N connections (plain or implicit TLS
// through OpenSSL); each session logs in with LOGIN and runs one mode:
//   idle          SELECT INBOX, IDLE, hold, DONE, LOGOUT (server memory per
//                 idling connection is measured from outside, through /proc);
//   fetch         EXAMINE INBOX, UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE),
//                 then BODY.PEEK[] of every message in UID batches; every
//                 response and literal is counted and checked;
//   append        APPEND of --size byte messages (LITERAL+ when advertised);
//   idle-latency  sessions IDLE while a delivery thread (imap_deliver.cpp)
//                 hands messages to the server by SMTP, LMTP or a command,
//                 and the time from the delivery's final reply to each
//                 session's "* n EXISTS" is recorded.
// Every phase is bounded by its counts and by --time-limit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/address.h"

namespace ringmta::bench {

enum class ImapMode { Idle, Fetch, Append, IdleLatency };

struct ImapConfig {
  engine::SocketAddress target;
  std::string target_text;
  ImapMode mode = ImapMode::Idle;
  bool tls = false;                  // implicit TLS (imaps)
  std::string tls_server_name;       // SNI; empty: none
  unsigned sessions = 1;
  // Logins: session i logs in as user with "%d" replaced by i % users
  // (a user without "%d" is the same for every session).
  std::string user;
  unsigned users = 1;
  std::string password;
  std::string mailbox = "INBOX";     // fetch/append/idle target
  unsigned connect_concurrency = 200;  // sessions between connect and their first mode step at once
  double hold = 10;                  // idle: seconds in IDLE once all sessions got there
  unsigned batch = 100;              // fetch: messages per BODY.PEEK[] command
  bool no_body = false;              // fetch: the metadata pass only (its server CPU apart)
  uint64_t messages = 100;           // append: total; idle-latency: deliveries
  uint64_t size = 4096;              // append: message size
  bool no_literal_plus = false;      // append: synchronising literals even if LITERAL+ is offered
  // idle-latency delivery (exactly one of smtp/lmtp/deliver_cmd).
  std::string smtp, lmtp;            // "IP:PORT"
  std::string deliver_cmd;           // run with sh -c, "%u" = recipient, message on stdin
  std::string rcpt_domain;           // appended as "@domain" to users that have no '@'
  double interval = 0.05;            // idle-latency: seconds between deliveries
  double notify_timeout = 5;         // idle-latency: seconds to wait for every session's EXISTS
  double time_limit = 300;           // hard limit for the whole run
  uint64_t max_failures = 0;         // failed sessions tolerated (exit code 1 beyond)
  double reply_timeout = 120;        // seconds without progress on an awaited reply
  bool json = false;
};

int run_imap(const ImapConfig& config);

// --- idle-latency delivery (imap_deliver.cpp) ---
// Delivers one message to every recipient in one transaction (SMTP/LMTP) or
// one command run per recipient. Returns "" or the error.
struct Deliverer {
  std::string smtp, lmtp, cmd;
  std::vector<std::string> recipients;
  std::string deliver(uint64_t n, double timeout_s);
};

}  // namespace ringmta::bench
