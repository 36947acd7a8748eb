// tests/unit/proto/smtp/golden_harness.h — runs a ServerSession over a byte
// script with deterministic hooks and records everything it produced.
//
// Shared by the golden test (tests/golden/smtp/NAME.in → NAME.ref/.txn) and
// the unit tests. Queue ids are TEST0001, TEST0002, ...; the clock is fixed
// at 1795384618 (Sun, 22 Nov 2026 21:56:58 +0000); every commit succeeds.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/smtp/server_session.h"

namespace ringmta::smtp::testing {

inline constexpr int64_t kFixedNow = 1795384618;

struct GoldenConfig {
  std::shared_ptr<ServerConfig> server;
  ClientInfo client;
  // AUTH checks are answered at once from this table: user -> {password,
  // allowed senders...}. Password "!tempfail" answers TempFail, "!toomany"
  // TooManyFailures; an unknown user or another password is Invalid.
  std::map<std::string, std::vector<std::string>> users;
};

// The golden defaults (hostname mx.example.net, local domains example.net
// and example.org, 10240-byte messages, 10 recipients, 512-byte lines, 50
// errors, client 127.0.0.1 untrusted), overridden by "key=value" lines.
// AUTH keys: auth (0/1: users file configured), tls (0/1), plaintext_auth
// (0/1), auth_required (0/1), sender_login_match (0/1) and
// user.NAME=PASSWORD[,SENDER...] (see GoldenConfig::users).
GoldenConfig golden_config(std::string_view overrides);

// In a .in file this line marks where the TLS handshake completes (after a
// STARTTLS answered 220); it is not sent to the session, which gets
// tls_started("TLS1.3 TLS_AES_256_GCM_SHA384") there. The .ref shows the
// same line at that point. Conf key starttls=1 lets EHLO offer STARTTLS.
inline constexpr std::string_view kTlsMarker = "=== TLS handshake ===\r\n";

struct RunResult {
  std::string output;        // every server byte, greeting first
  std::string transactions;  // one text block per committed message
};

// Feed `pieces` in order (commits auto-succeed) and collect the results.
RunResult run_session(const GoldenConfig& cfg, const std::vector<std::string_view>& pieces);

// Text form of a committed transaction (envelope fields + message bytes).
std::string describe(const Transaction& t);

}  // namespace ringmta::smtp::testing
