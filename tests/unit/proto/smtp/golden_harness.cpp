// tests/unit/proto/smtp/golden_harness.cpp — see golden_harness.h.
#include "tests/unit/proto/smtp/golden_harness.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace ringmta::smtp::testing {
namespace {

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t c = s.find(',');
    std::string_view item = s.substr(0, c);
    if (!item.empty()) out.emplace_back(item);
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

const char* body_name(BodyType b) {
  switch (b) {
    case BodyType::Unspecified: return "-";
    case BodyType::SevenBit: return "7BIT";
    case BodyType::EightBitMime: return "8BITMIME";
    case BodyType::BinaryMime: return "BINARYMIME";
  }
  return "?";
}

const char* ret_name(Ret r) {
  switch (r) {
    case Ret::Unspecified: return "-";
    case Ret::Full: return "FULL";
    case Ret::Headers: return "HDRS";
  }
  return "?";
}

std::string notify_text(uint8_t n) {
  if (n == 0) return "-";
  std::string s;
  auto add = [&](uint8_t bit, const char* name) {
    if (!(n & bit)) return;
    if (!s.empty()) s += ',';
    s += name;
  };
  add(kNotifyNever, "NEVER");
  add(kNotifySuccess, "SUCCESS");
  add(kNotifyFailure, "FAILURE");
  add(kNotifyDelay, "DELAY");
  return s;
}

}  // namespace

GoldenConfig golden_config(std::string_view overrides) {
  GoldenConfig g;
  g.server = std::make_shared<ServerConfig>();
  ServerConfig& c = *g.server;
  c.hostname = "mx.example.net";
  c.max_message_size = 10240;
  c.max_recipients = 10;
  c.max_line_length = 512;
  c.max_errors = 50;
  c.local_domains = {"example.net", "example.org"};
  g.client.address = "127.0.0.1";
  while (!overrides.empty()) {
    size_t nl = overrides.find('\n');
    std::string_view line = overrides.substr(0, nl);
    overrides.remove_prefix(nl == std::string_view::npos ? overrides.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) throw std::runtime_error("bad conf line");
    std::string key(line.substr(0, eq)), value(line.substr(eq + 1));
    if (key == "hostname") c.hostname = value;
    else if (key == "max_message_size") c.max_message_size = std::stoull(value);
    else if (key == "max_recipients") c.max_recipients = static_cast<unsigned>(std::stoul(value));
    else if (key == "max_line_length") c.max_line_length = std::stoull(value);
    else if (key == "max_errors") c.max_errors = static_cast<unsigned>(std::stoul(value));
    else if (key == "max_hops") c.max_hops = static_cast<unsigned>(std::stoul(value));
    else if (key == "local_domains") c.local_domains = split_list(value);
    else if (key == "client") g.client.address = value;
    else if (key == "trusted") g.client.trusted = value == "1";
    else if (key == "auth") c.auth_enabled = value == "1";
    else if (key == "tls") g.client.tls_active = value == "1";
    else if (key == "plaintext_auth") g.client.allow_plaintext_auth = value == "1";
    else if (key == "auth_required") g.client.auth_required = value == "1";
    else if (key == "starttls") g.client.starttls_available = value == "1";
    else if (key == "sender_login_match") c.sender_login_match = value == "1";
    else if (key.rfind("user.", 0) == 0) g.users[key.substr(5)] = split_list(value);
    else throw std::runtime_error("unknown conf key " + key);
  }
  return g;
}

std::string describe(const Transaction& t) {
  std::string s;
  s += "=== transaction " + t.queue_id + "\n";
  s += "helo: " + t.helo + (t.esmtp ? " (EHLO)" : " (HELO)") + "\n";
  s += "sender: <" + t.sender + ">\n";
  s += "declared_size: " + std::to_string(t.declared_size) + "\n";
  s += std::string("body: ") + body_name(t.body) + "\n";
  s += std::string("smtputf8: ") + (t.smtputf8 ? "yes" : "no") + "\n";
  s += std::string("ret: ") + ret_name(t.ret) + "\n";
  s += "envid: " + (t.envid.empty() ? std::string("-") : t.envid) + "\n";
  if (!t.auth_identity.empty()) s += "auth: " + t.auth_identity + "\n";  // absent: keeps older .txn files valid
  for (const auto& r : t.recipients) {
    s += "rcpt: <" + r.address + "> notify=" + notify_text(r.notify) +
         " orcpt=" + (r.orcpt.empty() ? std::string("-") : r.orcpt) + "\n";
  }
  s += "message: " + std::to_string(t.message.size()) + " bytes follow\n";
  s += t.message;
  s += "\n=== end\n";
  return s;
}

RunResult run_session(const GoldenConfig& cfg, const std::vector<std::string_view>& pieces) {
  RunResult res;
  unsigned next_id = 0;
  Hooks hooks;
  hooks.new_queue_id = [&next_id] {
    char buf[16];
    std::snprintf(buf, sizeof buf, "TEST%04u", ++next_id);
    return std::string(buf);
  };
  hooks.now_unix = [] { return kFixedNow; };
  ServerSession s(cfg.server, cfg.client, hooks);
  s.start();
  res.output += s.take_output();
  auto check = [&cfg](const AuthRequest& req, std::vector<std::string>& senders) {
    auto it = cfg.users.find(req.user);
    if (it == cfg.users.end() || it->second.empty()) return AuthResult::Invalid;
    const std::string& want = it->second.front();
    if (want == "!tempfail") return AuthResult::TempFail;
    if (want == "!toomany") return AuthResult::TooManyFailures;
    if (want != req.password) return AuthResult::Invalid;
    senders.assign(it->second.begin() + 1, it->second.end());
    return AuthResult::Ok;
  };
  auto settle = [&](Action a) {
    for (int guard = 0; (a == Action::Commit || a == Action::AuthCheck) && guard < 100000; ++guard) {
      res.output += s.take_output();  // the glue writes before it persists
      if (a == Action::AuthCheck) {
        std::vector<std::string> senders;
        AuthResult r = check(s.auth_request(), senders);
        a = s.auth_done(r, std::move(senders));
        continue;
      }
      res.transactions += describe(s.transaction());
      a = s.commit_done(true);
    }
    res.output += s.take_output();
  };
  // kTlsMarker lines in the input are not sent: each stands for "the TLS
  // handshake completes here". The pieces are cut around them (so every
  // split still reaches the session as it came), and bytes before a marker
  // that follow STARTTLS reach the session, which must drop them.
  std::string all;
  for (std::string_view p : pieces) all += p;
  std::vector<size_t> marks;
  for (size_t m = all.find(kTlsMarker); m != std::string::npos; m = all.find(kTlsMarker, m + kTlsMarker.size()))
    marks.push_back(m);
  size_t off = 0;
  for (std::string_view p : pieces) {
    size_t cur = off;
    const size_t end = off + p.size();
    off = end;
    while (cur < end) {
      auto it = std::find_if(marks.begin(), marks.end(), [&](size_t m) { return m + kTlsMarker.size() > cur; });
      if (it == marks.end() || cur < *it) {
        const size_t stop = it == marks.end() ? end : std::min(end, *it);
        settle(s.feed(std::string_view(all).substr(cur, stop - cur)));
        cur = stop;
        continue;
      }
      const size_t mark_end = *it + kTlsMarker.size();
      cur = std::min(end, mark_end);
      if (cur < mark_end) continue;  // the marker continues in the next piece
      if (s.phase() == Phase::TlsHandshake) {
        res.output += kTlsMarker;
        settle(s.tls_started("TLS1.3 TLS_AES_256_GCM_SHA384"));
      } else {
        res.output += "=== no TLS handshake: STARTTLS was not accepted ===\r\n";
      }
    }
  }
  return res;
}

}  // namespace ringmta::smtp::testing
