// proto/pop3/server_session.cpp — the POP3 server state machine (see
// server_session.h for the contract with the host): command parsing, the
// input loop, the dispatch by state and the public calls that drive them.
//
// The command handlers live with their topic: server_session_auth.cpp
// (AUTHORIZATION: CAPA, USER/PASS, AUTH, STLS) and
// server_session_maildrop.cpp (TRANSACTION and UPDATE).
//
// Documented choices:
//  * Input: lines end in CRLF or, leniently, a bare LF. A line longer than
//    max_line_length (with its CRLF) is discarded up to its LF and answered
//    "-ERR Line too long" — never executed in part.
//  * Error counting (max_errors, then "-ERR" and Close): unknown commands,
//    bad syntax, commands in the wrong state, over-long lines, refused
//    credentials. Not counted: "no such message" / "already deleted"
//    (a client may race with its own view), our own temporary failures, and
//    a SASL exchange the client cancels with "*".
//  * Pipelining (RFC 2449 PIPELINING): every complete command is run in
//    order; while the host is asked something, the rest waits in `in`;
//    while output_limit bytes of responses wait to be taken, too.
//  * Client text is never echoed in a response (no response injection);
//    host text (UIDLs) is validated before it is used.
#include "proto/pop3/server_session.h"

#include <cstring>
#include <utility>

#include "proto/pop3/server_session_impl.h"

namespace ringmta::pop3 {

bool valid_uidl(std::string_view uidl) {
  if (uidl.empty() || uidl.size() > 70) return false;
  for (char ch : uidl) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

Command parse_command(std::string_view line) {
  Command c;
  const size_t sp = line.find(' ');
  const std::string_view verb = line.substr(0, sp);
  if (verb.empty()) {
    c.bad_verb = !line.empty();  // a line starting with a space
    return c;
  }
  if (verb.size() > 8) c.bad_verb = true;
  for (size_t i = 0; i < verb.size() && !c.bad_verb; ++i) {
    char ch = verb[i];
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    if (ch < 'A' || ch > 'Z') c.bad_verb = true;
    c.verb.push_back(ch);
  }
  if (c.bad_verb) {
    c.verb = "?";
    return c;
  }
  if (sp != std::string_view::npos) {
    c.raw_arg = line.substr(sp + 1);
    std::string_view a = c.raw_arg;
    while (!a.empty() && (a.front() == ' ' || a.front() == '\t')) a.remove_prefix(1);
    while (!a.empty() && (a.back() == ' ' || a.back() == '\t')) a.remove_suffix(1);
    c.arg = a;
  }
  return c;
}

void ServerSession::Impl::dispatch(std::string_view line) {
  // RFC 1939 §7: PASS only immediately after USER.
  std::string pending_user = std::exchange(user_arg, std::string());
  const Command c = parse_command(line);
  if (c.verb.empty() && !c.bad_verb) return error("-ERR Empty command");
  if (c.bad_verb) return error("-ERR Unknown command");
  const std::string& v = c.verb;
  if (v == "CAPA") return cmd_capa(c);
  if (v == "QUIT") return cmd_quit(c);
  const bool auth_cmd = v == "USER" || v == "PASS" || v == "AUTH" || v == "STLS";
  const bool txn_cmd = v == "STAT" || v == "LIST" || v == "RETR" || v == "TOP" || v == "UIDL" ||
                       v == "DELE" || v == "RSET" || v == "NOOP";
  if (!auth_cmd && !txn_cmd) return error("-ERR Unknown command");
  if (!transaction) {
    if (txn_cmd) return error("-ERR Command not valid before login");
    if (v == "USER") return cmd_user(c);
    if (v == "PASS") return cmd_pass(c, std::move(pending_user));
    if (v == "AUTH") return cmd_auth(c);
    return cmd_stls(c);
  }
  if (auth_cmd) return error("-ERR Already logged in");
  if (v == "STAT") return cmd_stat(c);
  if (v == "LIST") return cmd_list(c, false);
  if (v == "UIDL") return cmd_list(c, true);
  if (v == "RETR") return cmd_retr(c, false);
  if (v == "TOP") return cmd_retr(c, true);
  if (v == "DELE") return cmd_dele(c);
  if (v == "RSET") return cmd_rset(c);
  if (!c.raw_arg.empty()) return error("-ERR Syntax: NOOP");
  reply("+OK");
}

void ServerSession::Impl::line_too_long() {
  if (phase == Phase::SaslResponse) {  // RFC 5034 §4: the exchange ends
    phase = Phase::Command;
    sasl.respond("*");
    return error("-ERR Authentication response too long");
  }
  user_arg.clear();
  error("-ERR Line too long");
}

// Consume as much of `data` as the current phase allows; returns bytes used.
// Handlers never touch `in` (this may be reading it).
size_t ServerSession::Impl::process(std::string_view data) {
  size_t pos = 0;
  // Each turn consumes one line (or all that is left); bounded by data.size().
  while (pos < data.size()) {
    if (phase == Phase::Closed || phase == Phase::TlsHandshake) {
      // After STLS's +OK: plaintext sent before the handshake is never
      // executed (the STARTTLS command-injection class, CVE-2011-0411).
      return data.size();
    }
    if (phase != Phase::Command && phase != Phase::SaslResponse) return pos;
    if (output_full()) return pos;
    const char* base = data.data() + pos;
    const size_t avail = data.size() - pos;
    const char* lf = static_cast<const char*>(std::memchr(base, '\n', avail));
    if (discarding) {
      if (!lf) return data.size();
      pos += static_cast<size_t>(lf - base) + 1;
      discarding = false;
      line_too_long();
      check_shutdown();
      continue;
    }
    if (!lf) {
      if (avail >= cfg->max_line_length) {  // cannot fit with its LF any more
        discarding = true;
        return data.size();
      }
      return pos;  // partial line: wait for more
    }
    const size_t len = static_cast<size_t>(lf - base) + 1;
    pos += len;
    if (len > cfg->max_line_length) {
      line_too_long();
      check_shutdown();
      continue;
    }
    std::string_view line(base, len - 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (phase == Phase::SaslResponse) sasl_line(line);
    else dispatch(line);
    check_shutdown();
  }
  return pos;
}

void ServerSession::Impl::run_buffered() {
  if (phase == Phase::Closed) {
    std::string().swap(in);
    return;
  }
  if (in.empty()) return;
  const size_t used = process(in);
  if (phase == Phase::Closed || phase == Phase::TlsHandshake) {
    std::string().swap(in);
    return;
  }
  in.erase(0, used);
  if (in.empty()) std::string().swap(in);  // idle sessions keep no buffer
  else if (in.capacity() > 4 * in.size() + 256) in.shrink_to_fit();
}

Action ServerSession::Impl::result() {
  Action a = Action::NeedInput;
  switch (phase) {
    case Phase::Closed: return Action::Close;
    case Phase::AwaitAuth: a = Action::AuthCheck; break;
    case Phase::AwaitMaildrop: a = Action::LoadMaildrop; break;
    case Phase::AwaitMessage: a = Action::Fetch; break;
    case Phase::AwaitCommit: a = Action::Commit; break;
    case Phase::TlsHandshake: a = Action::StartTls; break;
    default: return Action::NeedInput;
  }
  if (announced) return Action::NeedInput;
  announced = true;
  return a;
}

// The host answered: a pending shutdown may close now, and pipelined
// commands buffered meanwhile run.
Action ServerSession::Impl::after_host() {
  check_shutdown();
  run_buffered();
  return result();
}

ServerSession::ServerSession(std::shared_ptr<const ServerConfig> config, ClientInfo client,
                             Hooks hooks)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(client), std::move(hooks))) {}

ServerSession::~ServerSession() { impl_->forget_password(); }

void ServerSession::start() { impl_->reply("+OK " + impl_->cfg->hostname + " POP3 server ready"); }

Action ServerSession::feed(std::string_view bytes) {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  if (s.phase == Phase::TlsHandshake) return s.result();  // dropped, see process()
  if (bytes.empty()) return s.result();
  if (!s.in.empty() || s.awaiting() || s.output_full()) {
    s.in.append(bytes);
    if (s.phase == Phase::Command || s.phase == Phase::SaslResponse) s.run_buffered();
    return s.result();
  }
  // Nothing buffered: work on the caller's bytes in place, keep the rest.
  const size_t used = s.process(bytes);
  if (s.phase != Phase::Closed && s.phase != Phase::TlsHandshake && used < bytes.size())
    s.in.assign(bytes.substr(used));
  return s.result();
}

Action ServerSession::resume() {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  if (s.phase == Phase::OutputFull && !s.output_full()) s.produce();
  if (s.phase == Phase::Command || s.phase == Phase::SaslResponse) {
    s.check_shutdown();
    s.run_buffered();
  }
  return s.result();
}

Action ServerSession::on_timeout() {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  // Inside a multi-line response a status line would be read as message
  // text: just close then.
  if (s.phase == Phase::Command || s.phase == Phase::SaslResponse)
    s.reply("-ERR Autologout; idle for too long");
  s.close();
  std::string().swap(s.in);
  return Action::Close;
}

Action ServerSession::on_shutdown() {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  s.shutdown_pending = true;
  s.check_shutdown();
  if (s.phase == Phase::Closed) std::string().swap(s.in);
  return s.result();
}

std::string ServerSession::take_output() { return std::exchange(impl_->out, std::string()); }
bool ServerSession::has_output() const { return !impl_->out.empty(); }

bool ServerSession::wants_input() const {
  const Impl& s = *impl_;
  return (s.phase == Phase::Command || s.phase == Phase::SaslResponse) && !s.output_full() &&
         s.in.size() < s.cfg->input_limit;
}

State ServerSession::state() const {
  const Impl& s = *impl_;
  if (s.phase == Phase::Closed) return State::Closed;
  if (s.phase == Phase::AwaitCommit) return State::Update;
  return s.transaction ? State::Transaction : State::Authorization;
}

Phase ServerSession::phase() const { return impl_->phase; }
size_t ServerSession::buffered_input() const { return impl_->in.size(); }
size_t ServerSession::message_count() const { return impl_->messages.size(); }
size_t ServerSession::live_count() const { return impl_->live; }
bool ServerSession::tls_active() const { return impl_->client.tls_active; }
const AuthRequest& ServerSession::auth_request() const { return impl_->auth_req; }
const std::string& ServerSession::user() const { return impl_->owner; }
const FetchRequest& ServerSession::fetch_request() const { return impl_->fetch; }

}  // namespace ringmta::pop3
