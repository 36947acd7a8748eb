// tests/unit/proto/pop3/golden_harness.cpp — see golden_harness.h.
#include "tests/unit/proto/pop3/golden_harness.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ringmta::pop3::testing {
namespace {

std::string read_message(const std::string& name) {
  const std::string path = std::string(RINGMTA_GOLDEN_DIR) + "/pop3/messages/" + name;
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const char* auth_name(AuthResult r) {
  switch (r) {
    case AuthResult::Ok: return "ok";
    case AuthResult::Invalid: return "invalid";
    case AuthResult::Throttled: return "throttled";
    case AuthResult::TempFail: return "tempfail";
  }
  return "?";
}

struct Segment {
  size_t begin = 0, end = 0;  // client bytes [begin, end) ...
  std::string marker;         // ... or a marker event (begin == end)
};

// Split the script into client bytes and marker lines ("=== NAME ===").
std::vector<Segment> segments(std::string_view in) {
  std::vector<Segment> out;
  size_t start = 0;  // of the current byte segment
  size_t line = 0;
  while (line < in.size()) {
    size_t nl = in.find('\n', line);
    const size_t next = nl == std::string_view::npos ? in.size() : nl + 1;
    std::string_view text = in.substr(line, next - line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    if (text.size() > 8 && text.substr(0, 4) == "=== " && text.substr(text.size() - 4) == " ===") {
      if (line > start) out.push_back({start, line, {}});
      out.push_back({line, line, std::string(text.substr(4, text.size() - 8))});
      start = next;
    }
    line = next;
  }
  if (start < in.size()) out.push_back({start, in.size(), {}});
  return out;
}

class Host {
 public:
  Host(const GoldenConfig& cfg, ServerSession& s, RunResult& res) : cfg_(cfg), s_(s), res_(res) {}

  // Answer every request until the session needs the client again.
  Action settle(Action a) {
    for (int guard = 0; guard < 1000000; ++guard) {
      res_.output += s_.take_output();
      switch (a) {
        case Action::AuthCheck: a = auth(); break;
        case Action::LoadMaildrop: a = load(); break;
        case Action::Fetch: a = fetch(); break;
        case Action::Commit: a = commit(); break;
        case Action::NeedInput: {
          // The socket wrote everything: let a paused response or buffered
          // pipelined commands go on.
          a = s_.resume();
          if (a == Action::NeedInput && !s_.has_output()) return a;
          break;
        }
        case Action::StartTls:
        case Action::Close:
          res_.output += s_.take_output();
          return a;
      }
    }
    throw std::runtime_error("host loop did not settle");
  }

 private:
  Action auth() {
    const AuthRequest& req = s_.auth_request();
    AuthResult r = AuthResult::Invalid;
    std::string mailbox;
    auto it = cfg_.users.find(req.user);
    if (it != cfg_.users.end()) {
      if (it->second.password == "!tempfail") r = AuthResult::TempFail;
      else if (it->second.password == "!throttle") r = AuthResult::Throttled;
      else if (it->second.password == req.password) r = AuthResult::Ok, mailbox = it->second.mailbox;
    }
    res_.host += "auth " + req.user + " -> " + auth_name(r) + "\n";
    return s_.auth_done(r, mailbox);
  }

  Action load() {
    res_.host += "load " + s_.user() + " -> " + cfg_.lock + "\n";
    if (cfg_.lock == "in-use") return s_.maildrop_refused(MaildropError::InUse);
    if (cfg_.lock == "tempfail") return s_.maildrop_refused(MaildropError::TempFail);
    if (cfg_.lock == "permfail") return s_.maildrop_refused(MaildropError::PermFail);
    std::vector<MessageInfo> list;
    for (const auto& m : cfg_.messages) list.push_back({m.bytes.size(), m.uidl});
    if (cfg_.lock == "bad-uidl") list.push_back({1, "bad uidl"});
    return s_.maildrop_loaded(std::move(list));
  }

  Action fetch() {
    const FetchRequest f = s_.fetch_request();
    const unsigned number = static_cast<unsigned>(f.index + 1);
    if ((number == cfg_.fetch_fail && f.offset == 0) || (number == cfg_.fetch_fail_mid && f.offset > 0)) {
      res_.host += "fetch " + std::to_string(number) + " at " + std::to_string(f.offset) + " -> failed\n";
      return s_.message_failed();
    }
    const std::string& m = cfg_.messages.at(f.index).bytes;
    const size_t off = static_cast<size_t>(std::min<uint64_t>(f.offset, m.size()));
    std::string_view bytes = std::string_view(m).substr(off, f.max_bytes);
    return s_.message_data(bytes, off + bytes.size() >= m.size());
  }

  Action commit() {
    res_.host += "commit " + s_.user() + " delete";
    for (size_t i : s_.deletions()) res_.host += " " + cfg_.messages.at(i).uidl;
    res_.host += cfg_.commit_ok ? " -> ok\n" : " -> failed\n";
    return s_.commit_done(cfg_.commit_ok);
  }

  const GoldenConfig& cfg_;
  ServerSession& s_;
  RunResult& res_;
};

}  // namespace

GoldenConfig golden_config(std::string_view overrides) {
  GoldenConfig g;
  g.server = std::make_shared<ServerConfig>();
  ServerConfig& c = *g.server;
  c.hostname = "pop.example.net";
  c.max_line_length = 255;
  c.max_errors = 50;
  c.output_limit = 16384;
  c.fetch_chunk = 64;
  c.input_limit = 65536;
  g.client.address = "127.0.0.1";
  g.client.allow_plaintext_auth = true;
  while (!overrides.empty()) {
    const size_t nl = overrides.find('\n');
    std::string_view line = overrides.substr(0, nl);
    overrides.remove_prefix(nl == std::string_view::npos ? overrides.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) throw std::runtime_error("bad conf line");
    const std::string key(line.substr(0, eq)), value(line.substr(eq + 1));
    if (key == "hostname") c.hostname = value;
    else if (key == "max_line_length") c.max_line_length = std::stoull(value);
    else if (key == "max_errors") c.max_errors = static_cast<unsigned>(std::stoul(value));
    else if (key == "output_limit") c.output_limit = std::stoull(value);
    else if (key == "fetch_chunk") c.fetch_chunk = std::stoull(value);
    else if (key == "input_limit") c.input_limit = std::stoull(value);
    else if (key == "tls") g.client.tls_active = value == "1";
    else if (key == "stls") g.client.stls_available = value == "1";
    else if (key == "plaintext_auth") g.client.allow_plaintext_auth = value == "1";
    else if (key == "admit_tls") g.admit_tls = value == "1";
    else if (key == "lock") g.lock = value;
    else if (key == "fetch_fail") g.fetch_fail = static_cast<unsigned>(std::stoul(value));
    else if (key == "fetch_fail_mid") g.fetch_fail_mid = static_cast<unsigned>(std::stoul(value));
    else if (key == "commit") g.commit_ok = value == "ok";
    else if (key == "message") {
      const size_t sp = value.find(' ');
      if (sp == std::string::npos) throw std::runtime_error("message=UIDL FILE");
      g.messages.push_back({value.substr(0, sp), read_message(value.substr(sp + 1))});
    } else if (key.rfind("user.", 0) == 0) {
      const size_t comma = value.find(',');
      GoldenUser u{value.substr(0, comma), comma == std::string::npos ? "" : value.substr(comma + 1)};
      g.users[key.substr(5)] = u;
    } else {
      throw std::runtime_error("unknown conf key " + key);
    }
  }
  return g;
}

RunResult run_session(const GoldenConfig& cfg, std::string_view input, const std::vector<size_t>& cuts) {
  RunResult res;
  Hooks hooks;
  hooks.admit_tls = [&cfg] { return cfg.admit_tls; };
  ServerSession s(cfg.server, cfg.client, hooks);
  Host host(cfg, s, res);
  s.start();
  res.output += s.take_output();
  for (const Segment& seg : segments(input)) {
    if (!seg.marker.empty()) {
      res.output += "=== " + seg.marker + " ===\r\n";
      if (seg.marker == "drop") break;
      if (seg.marker == "timeout") host.settle(s.on_timeout());
      else if (seg.marker == "shutdown") host.settle(s.on_shutdown());
      else if (seg.marker == "TLS handshake") {
        if (s.phase() == Phase::TlsHandshake) host.settle(s.tls_started());
        else res.output += "=== no TLS handshake: STLS was not accepted ===\r\n";
      } else {
        throw std::runtime_error("unknown marker " + seg.marker);
      }
      continue;
    }
    size_t pos = seg.begin;
    for (size_t cut : cuts) {
      if (cut <= pos || cut >= seg.end) continue;
      host.settle(s.feed(input.substr(pos, cut - pos)));
      pos = cut;
    }
    host.settle(s.feed(input.substr(pos, seg.end - pos)));
  }
  return res;
}

}  // namespace ringmta::pop3::testing
