// proto/pop3/server_session_auth.cpp — the AUTHORIZATION state: CAPA
// (RFC 2449), USER/PASS (RFC 1939 §7), AUTH PLAIN (RFC 5034 with the SASL
// exchange of proto/sasl), STLS (RFC 2595 §4), and the host's answers:
// auth_done, maildrop_loaded / maildrop_refused, tls_started.
//
// Its own file because this is the security state of the session (the
// plaintext/TLS boundary, credentials) with rules of its own.
//
// Response codes (RFC 2449 §8, RFC 3206): [AUTH] for refused credentials
// and for plaintext logins refused outside TLS (what Dovecot sends, so
// clients show it as a login problem), [IN-USE] when the host's maildrop
// lock is held, [SYS/TEMP] for our temporary failures (throttling included:
// the client should come back later, not ask for a new password),
// [SYS/PERM] for a maildrop that cannot be opened at all.
#include <algorithm>
#include <string>
#include <utility>

#include "base/text.h"
#include "proto/pop3/server_session_impl.h"

namespace ringmta::pop3 {
namespace {

constexpr std::string_view kPlaintextRefused =
    "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections";

}  // namespace

void ServerSession::Impl::cmd_capa(const Command& c) {
  if (!c.raw_arg.empty()) return error("-ERR Syntax: CAPA");
  reply("+OK Capability list follows");
  reply("TOP");
  reply("UIDL");
  reply("RESP-CODES");
  reply("AUTH-RESP-CODE");
  reply("PIPELINING");
  reply("EXPIRE NEVER");
  if (!transaction) {
    // RFC 2449 §6.4/§6.3: USER and SASL are AUTHORIZATION-state capabilities;
    // not offered where plaintext logins would be refused.
    if (auth_allowed()) {
      reply("USER");
      reply("SASL PLAIN");
    }
    if (client.stls_available && !client.tls_active) reply("STLS");
  }
  reply("IMPLEMENTATION ringmta");
  reply(".");
}

void ServerSession::Impl::cmd_user(const Command& c) {
  if (!auth_allowed()) return error(kPlaintextRefused);
  if (c.arg.empty()) return error("-ERR Syntax: USER name");
  user_arg.assign(c.arg);
  // The same answer for every name: no account enumeration.
  reply("+OK Send PASS");
}

void ServerSession::Impl::cmd_pass(const Command& c, std::string user) {
  if (!auth_allowed()) return error(kPlaintextRefused);
  if (user.empty()) return error("-ERR Send USER first");
  // RFC 1939 §7: the argument is the whole rest of the line, spaces included.
  if (c.raw_arg.empty()) return error("-ERR Syntax: PASS password");
  begin_auth_check(std::move(user), std::string(c.raw_arg));
}

void ServerSession::Impl::cmd_auth(const Command& c) {
  if (!auth_allowed()) return error(kPlaintextRefused);
  if (c.arg.empty()) {
    // RFC 1734's listing form, which clients still probe before CAPA.
    reply("+OK Supported mechanisms follow");
    reply("PLAIN");
    reply(".");
    return;
  }
  const size_t sp = c.arg.find_first_of(" \t");
  const std::string mech = base::to_upper_ascii(c.arg.substr(0, sp));
  std::string_view initial;
  if (sp != std::string_view::npos) {
    initial = c.arg.substr(sp + 1);
    while (!initial.empty() && (initial.front() == ' ' || initial.front() == '\t')) initial.remove_prefix(1);
  }
  if (mech != "PLAIN") return error("-ERR Unsupported authentication mechanism");
  sasl_step(sasl.start("PLAIN", initial));
}

// A client line after our "+ " (RFC 5034 §4).
void ServerSession::Impl::sasl_line(std::string_view line) {
  if (line == "*") {
    sasl.respond("*");
    phase = Phase::Command;
    return reply("-ERR Authentication cancelled");
  }
  sasl_step(sasl.respond(line));
}

// proto/sasl speaks SMTP (334 / 5xx); translate into POP3.
void ServerSession::Impl::sasl_step(sasl::SaslExchange::Step step) {
  switch (step.kind) {
    case sasl::SaslExchange::Kind::Challenge:
      phase = Phase::SaslResponse;
      reply("+ " + step.reply.substr(std::min<size_t>(4, step.reply.size())));
      return;
    case sasl::SaslExchange::Kind::Failed:
      phase = Phase::Command;
      if (step.reply.rfind("535", 0) == 0) return error("-ERR [AUTH] Authentication failed");
      if (step.reply.rfind("501", 0) == 0) return error("-ERR Cannot decode the authentication response");
      return error("-ERR Authentication failed");
    case sasl::SaslExchange::Kind::Credentials:
      begin_auth_check(std::move(step.credentials.user), std::move(step.credentials.password));
      return;
  }
}

void ServerSession::Impl::begin_auth_check(std::string user, std::string password) {
  forget_password();
  auth_req.user = std::move(user);
  auth_req.password = std::move(password);
  await(Phase::AwaitAuth);
}

void ServerSession::Impl::cmd_stls(const Command& c) {
  if (!c.raw_arg.empty()) return error("-ERR Syntax: STLS");
  if (client.tls_active) return error("-ERR Command not permitted when TLS active");
  if (!client.stls_available) return error("-ERR TLS not available");
  // Our limit, not the client's error: not counted.
  if (hooks.admit_tls && !hooks.admit_tls()) return reply("-ERR [SYS/TEMP] TLS not available right now");
  reply("+OK Begin TLS negotiation");
  await(Phase::TlsHandshake);
}

// Overwrite the password before its buffer goes back to the allocator.
void ServerSession::Impl::forget_password() {
  std::fill(auth_req.password.begin(), auth_req.password.end(), '\0');
  auth_req.password.clear();
}

Action ServerSession::auth_done(AuthResult result, std::string mailbox) {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitAuth) return s.result();
  s.forget_password();
  s.phase = Phase::Command;
  switch (result) {
    case AuthResult::Ok:
      s.owner = mailbox.empty() ? s.auth_req.user : std::move(mailbox);
      s.await(Phase::AwaitMaildrop);
      return s.result();
    case AuthResult::Invalid:
      s.error("-ERR [AUTH] Authentication failed");
      break;
    case AuthResult::Throttled:
      s.reply("-ERR [SYS/TEMP] Too many failed login attempts, try again later");
      s.close();
      break;
    case AuthResult::TempFail:
      s.reply("-ERR [SYS/TEMP] Temporary authentication failure, try again later");
      break;
  }
  return s.after_host();
}

Action ServerSession::maildrop_loaded(std::vector<MessageInfo> messages) {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitMaildrop) return s.result();
  // UIDLs go into responses and clients delete by them: each must be valid
  // and unique (RFC 1939 §7), or the maildrop is not offered at all.
  std::vector<std::string_view> ids;
  ids.reserve(messages.size());
  bool ok = true;
  for (const auto& m : messages) {
    if (!valid_uidl(m.uidl)) ok = false;
    ids.push_back(m.uidl);
  }
  std::sort(ids.begin(), ids.end());
  if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) ok = false;
  if (!ok) {
    s.reply("-ERR [SYS/PERM] Maildrop has invalid unique ids");
    s.close();
    return s.after_host();
  }
  s.messages = std::move(messages);
  s.deleted.assign(s.messages.size(), false);
  s.live = s.messages.size();
  s.live_octets = 0;
  for (const auto& m : s.messages) s.live_octets += m.size;
  s.transaction = true;
  s.phase = Phase::Command;
  s.reply("+OK Logged in, " + s.maildrop_size());
  return s.after_host();
}

Action ServerSession::maildrop_refused(MaildropError error) {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitMaildrop) return s.result();
  s.owner.clear();
  s.phase = Phase::Command;
  switch (error) {
    case MaildropError::InUse: s.reply("-ERR [IN-USE] Maildrop is locked by another session"); break;
    case MaildropError::TempFail: s.reply("-ERR [SYS/TEMP] Unable to open the maildrop, try again later"); break;
    case MaildropError::PermFail: s.reply("-ERR [SYS/PERM] Unable to open the maildrop"); break;
  }
  return s.after_host();
}

Action ServerSession::tls_started() {
  Impl& s = *impl_;
  if (s.phase != Phase::TlsHandshake) return s.result();
  s.client.tls_active = true;
  // RFC 2595 §4: forget everything learnt from the client in plaintext.
  s.user_arg.clear();
  s.discarding = false;
  std::string().swap(s.in);
  s.phase = Phase::Command;
  s.check_shutdown();
  return s.result();
}

}  // namespace ringmta::pop3
