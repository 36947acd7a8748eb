// tests/fuzz/smtp_session_fuzz.cpp — libFuzzer target for ServerSession.
//
// Input layout: byte 0 = flags (config variant, commit failures, shutdown,
// differential check), then repeated [chunk length byte][chunk bytes]. Each
// chunk is fed separately, commits are answered at once. Invariants checked:
//  * every output block ends in CRLF; every line is "DDD " or "DDD-" + text
//    without CR/LF inside (no reply injection);
//  * nothing is produced after Close, and Close is sticky;
//  * a committed transaction has recipients and starts with our Received:;
//  * outside AwaitCommit the session buffers less than one command line;
//  * (flag) the chunked run produces exactly the same output and
//    transactions as feeding everything at once — splits must not matter;
//  * STARTTLS is offered: after Action::StartTls (the output ends with the
//    220) the next chunk stands for the handshake bytes — fed to the session,
//    it must produce nothing — then tls_started() and the session must not
//    offer STARTTLS again; runs with a STARTTLS skip the split comparison
//    (where the handshake happens depends on the chunking);
//  * AUTH is enabled: PLAIN/LOGIN with password "pw" succeeds, "tf" is a
//    temporary failure, "x" too many failures, anything else invalid; a
//    committed transaction's auth identity is the authenticated user.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "proto/smtp/server_session.h"

using namespace ringmta::smtp;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

void check_output(const std::string& out) {
  if (out.empty()) return;
  check(out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0, "output ends in CRLF");
  size_t pos = 0;
  while (pos < out.size()) {
    size_t e = out.find("\r\n", pos);
    check(e != std::string::npos, "line has CRLF");
    std::string_view line(out.data() + pos, e - pos);
    check(line.size() >= 4, "reply line long enough");
    for (int i = 0; i < 3; ++i) check(line[i] >= '0' && line[i] <= '9', "3 digits");
    check(line[0] >= '2' && line[0] <= '5', "reply class 2..5");
    check(line[3] == ' ' || line[3] == '-', "separator");
    check(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos,
          "no CR/LF inside a reply line");
    pos = e + 2;
  }
}

struct Run {
  std::string output;
  std::string txns;
  bool starttls = false;  // a StartTls happened (the split comparison does not apply)
};

Run run(const std::shared_ptr<ServerConfig>& cfg, const ClientInfo& client, uint8_t flags,
        const std::vector<std::string_view>& chunks) {
  Run r;
  unsigned ids = 0;
  Hooks hooks;
  hooks.new_queue_id = [&ids] { return "FZ" + std::to_string(++ids); };
  hooks.now_unix = [] { return int64_t{1795384618}; };
  ServerSession s(cfg, client, hooks);
  s.start();
  bool closed = false;
  bool handshake_pending = false;
  unsigned commits = 0;
  auto collect = [&] {
    std::string o = s.take_output();
    check_output(o);
    if (closed) check(o.empty(), "no output after close");
    r.output += o;
  };
  auto settle = [&](Action a) {
    for (int guard = 0; guard < 1000 && (a == Action::Commit || a == Action::AuthCheck); ++guard) {
      if (a == Action::AuthCheck) {
        collect();
        check(s.phase() == Phase::AwaitAuth, "AuthCheck means AwaitAuth");
        const AuthRequest& req = s.auth_request();
        check(!req.user.empty() && !req.password.empty(), "credentials present");
        AuthResult v = req.password == "pw"   ? AuthResult::Ok
                       : req.password == "tf" ? AuthResult::TempFail
                       : req.password == "x"  ? AuthResult::TooManyFailures
                                              : AuthResult::Invalid;
        a = s.auth_done(v, {"a@example.net", "@example.org"});
        // Buffered input may already have started the next AUTH.
        if (a != Action::AuthCheck) check(s.auth_request().password.empty(), "password cleared");
        continue;
      }
      collect();
      const Transaction& t = s.transaction();
      check(!t.recipients.empty(), "commit has recipients");
      check(t.message.rfind("Received: ", 0) == 0, "message starts with Received:");
      check(!t.queue_id.empty(), "queue id set");
      check(t.auth_identity == s.auth_identity(), "auth identity recorded");
      r.txns += t.queue_id + "|" + t.sender + "|" + std::to_string(t.recipients.size()) + "|" +
                t.message + "\n";
      ++commits;
      bool fail = (flags & 0x10) && (commits % 2 == 0);
      a = fail ? s.commit_done(false, "451 4.3.0 Queue write failed") : s.commit_done(true);
    }
    collect();
    if (a == Action::StartTls) {
      check(s.phase() == Phase::TlsHandshake, "StartTls means TlsHandshake");
      check(r.output.size() >= 30 && r.output.compare(r.output.size() - 30, 30, "220 2.0.0 Ready to start TLS\r\n") == 0,
            "StartTls follows the 220");
      check(s.buffered_input() == 0, "nothing buffered across STARTTLS");
      handshake_pending = true;
      r.starttls = true;
    }
    if (a == Action::Close) {
      check(s.phase() == Phase::Closed, "Close means Closed");
      closed = true;
    }
    if (s.phase() != Phase::AwaitCommit && s.phase() != Phase::AwaitAuth && s.phase() != Phase::Closed)
      check(s.buffered_input() < cfg->max_line_length, "buffer below one line");
  };
  collect();  // the greeting
  size_t n = 0;
  for (std::string_view c : chunks) {
    if (handshake_pending) {
      // This chunk is what arrived before the handshake: never executed.
      const std::string before = r.output;
      check(s.feed(c) == Action::NeedInput, "input during the handshake is ignored");
      collect();
      check(r.output == before, "no reply to plaintext after STARTTLS");
      handshake_pending = false;
      settle(s.tls_started("TLS1.3 TLS_AES_256_GCM_SHA384"));
      check(s.tls_active(), "TLS active after tls_started");
      continue;
    }
    Action a = s.feed(c);
    if (closed) check(a == Action::Close, "Close is sticky");
    settle(a);
    if ((flags & 0x20) && ++n == chunks.size() / 2) settle(s.on_shutdown());
  }
  if (flags & 0x40) settle(s.on_timeout());
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  auto cfg = std::make_shared<ServerConfig>();
  cfg->hostname = "mx.fuzz.example";
  cfg->local_domains = {"example.net", "example.org"};
  ClientInfo client;
  client.address = "127.0.0.1";
  client.trusted = (flags & 1) != 0;
  client.allow_plaintext_auth = true;
  client.starttls_available = true;
  client.auth_required = (flags & 3) == 3;
  cfg->auth_enabled = true;
  cfg->sender_login_match = true;
  if (flags & 2) {  // tiny limits reach the limit paths quickly
    cfg->max_message_size = 64;
    cfg->max_recipients = 2;
    cfg->max_line_length = 40;
    cfg->max_errors = 4;
  } else {
    cfg->max_message_size = 4096;
    cfg->max_recipients = 50;
    cfg->max_line_length = 512;
    cfg->max_errors = 1000;
  }
  std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string_view> chunks;
  size_t i = 0;
  if (flags & 4) {
    // Chunk lengths from the data: [len][bytes]...
    while (i < all.size()) {
      size_t len = static_cast<uint8_t>(all[i++]) % 65;
      if (len == 0) len = 1;
      chunks.push_back(all.substr(i, len));
      i += chunks.back().size();
    }
  } else {
    // The whole input is the stream; cut it every (flags >> 3 & 7) + 1 bytes.
    const size_t step = ((flags >> 3) & 7) + 1;
    for (; i < all.size(); i += step) chunks.push_back(all.substr(i, step));
  }
  Run chunked = run(cfg, client, flags, chunks);
  if ((flags & 0x80) && !(flags & 0x20)) {
    std::string joined;
    for (auto c : chunks) joined += c;
    Run whole = run(cfg, client, flags, {joined});
    if (!whole.starttls && !chunked.starttls) {
      check(whole.output == chunked.output, "output independent of splits");
      check(whole.txns == chunked.txns, "transactions independent of splits");
    }
  }
  return 0;
}
