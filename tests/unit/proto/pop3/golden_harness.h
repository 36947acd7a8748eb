// tests/unit/proto/pop3/golden_harness.h — runs a pop3::ServerSession over a byte
// script with a deterministic host and records everything it produced.
//
// Shared by the golden test (tests/golden/pop3/NAME.in → NAME.ref/.host)
// and the unit tests. The host answers at once from a GoldenConfig: users
// and passwords, one maildrop (the same for every user) made of message
// files, lock/fetch/commit failures on request. It drains the output after
// every call and calls resume() as the real glue does once the socket has
// written everything, so back-pressure pauses show up only as extra calls,
// never as different bytes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/pop3/server_session.h"

namespace ringmta::pop3::testing {

struct GoldenUser {
  std::string password;  // "!tempfail" → TempFail, "!throttle" → Throttled
  std::string mailbox;   // what auth_done() names; "" = the login name
};

struct GoldenMessage {
  std::string uidl;
  std::string bytes;
};

struct GoldenConfig {
  std::shared_ptr<ServerConfig> server;
  ClientInfo client;
  bool admit_tls = true;
  std::map<std::string, GoldenUser> users;
  std::string lock = "ok";  // ok | in-use | tempfail | permfail | bad-uidl
  std::vector<GoldenMessage> messages;
  unsigned fetch_fail = 0;      // message number whose first fetch fails
  unsigned fetch_fail_mid = 0;  // message number whose second fetch fails
  bool commit_ok = true;
};

// Defaults: hostname pop.example.net, max_line_length 255, max_errors 50,
// output_limit 16384, fetch_chunk 64 (so messages come in several chunks),
// input_limit 65536, plaintext logins allowed, no TLS, no STLS, no users, an
// empty maildrop. "key=value" lines override: hostname, max_line_length,
// max_errors, output_limit, fetch_chunk, input_limit, tls, stls,
// plaintext_auth, admit_tls (0/1), user.NAME=PASSWORD[,MAILBOX],
// lock=..., message=UIDL FILE (FILE under tests/golden/pop3/messages/,
// appended in order), fetch_fail=N, fetch_fail_mid=N, commit=ok|fail.
GoldenConfig golden_config(std::string_view overrides);

// Marker lines in a .in file are events, not client bytes; the .ref shows
// each one where it happened:
//   "=== TLS handshake ===" — the handshake after STLS completes
//   "=== timeout ==="       — the autologout timer fires
//   "=== shutdown ==="      — the server is stopping
//   "=== drop ==="          — the connection drops; the rest is not sent
struct RunResult {
  std::string output;  // every server byte, greeting first, with the markers
  std::string host;    // the host's log: auth checks, maildrop loads, commits
};

// Feed `input` cut at the sorted byte offsets `cuts` (markers are atomic).
RunResult run_session(const GoldenConfig& cfg, std::string_view input,
                      const std::vector<size_t>& cuts = {});

}  // namespace ringmta::pop3::testing
