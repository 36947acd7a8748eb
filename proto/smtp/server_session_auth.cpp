// proto/smtp/server_session_auth.cpp — SMTP AUTH (RFC 4954) and STARTTLS
// (RFC 3207) in the server session: the commands, the SASL exchange, the
// verdict from the glue (auth_done) and the reset after the TLS handshake
// (tls_started).
//
// Its own file because both are security state of the session (credentials,
// the plaintext/TLS boundary) with rules of their own, apart from mail flow.
// The SASL mechanisms themselves are decoded in sasl.cpp.
#include <algorithm>
#include <string>
#include <utility>

#include "mail/address.h"
#include "proto/smtp/server_session_impl.h"

namespace ringmta::smtp {

bool ServerSession::Impl::auth_offered() const {
  return cfg->auth_enabled && (client.tls_active || client.allow_plaintext_auth);
}

// sender_login_match: "a@b" entries match exactly (ASCII case-insensitive),
// "@b" entries any address in domain b.
bool ServerSession::Impl::sender_owned(std::string_view address) const {
  for (const auto& a : allowed_senders) {
    if (!a.empty() && a.front() == '@') {
      if (mail::domain_equal(mail::domain_of(address), std::string_view(a).substr(1))) return true;
    } else if (iequals(address, a)) {
      return true;
    }
  }
  return false;
}

void ServerSession::Impl::cmd_auth(const CommandLine& c) {
  if (!greeted || !esmtp) return error("503 5.5.1 Error: send EHLO first");
  if (!cfg->auth_enabled) return error("503 5.5.1 Error: authentication not enabled");
  if (!auth_offered())
    return error("538 5.7.11 Encryption required for requested authentication mechanism");
  if (!auth_user.empty()) return error("503 5.5.1 Error: already authenticated");
  if (mail_ok) return error("503 5.5.1 Error: MAIL transaction in progress");
  if (c.arg.empty()) return error("501 5.5.4 Syntax: AUTH mechanism [initial-response]");
  const size_t sp = c.arg.find_first_of(" \t");
  std::string_view mech = c.arg.substr(0, sp);
  std::string_view initial;
  if (sp != std::string_view::npos) {
    initial = c.arg.substr(sp + 1);
    while (!initial.empty() && (initial.front() == ' ' || initial.front() == '\t')) initial.remove_prefix(1);
  }
  sasl_step(sasl.start(mech, initial));
}

// A client line while phase == Auth (the answer to our 334).
void ServerSession::Impl::auth_line(std::string_view line) { sasl_step(sasl.respond(line)); }

void ServerSession::Impl::sasl_step(sasl::SaslExchange::Step step) {
  switch (step.kind) {
    case sasl::SaslExchange::Kind::Challenge:
      phase = Phase::Auth;
      reply(step.reply);
      return;
    case sasl::SaslExchange::Kind::Failed:
      phase = Phase::Command;
      error(step.reply);
      return;
    case sasl::SaslExchange::Kind::Credentials:
      auth_req.user = std::move(step.credentials.user);
      auth_req.password = std::move(step.credentials.password);
      auth_announced = false;
      phase = Phase::AwaitAuth;
      return;
  }
}

void ServerSession::Impl::cmd_starttls(const CommandLine& c) {
  if (!c.arg.empty()) return error("501 5.5.4 Syntax: STARTTLS (no parameters allowed)");
  if (client.tls_active) return error("503 5.5.1 Error: TLS already active");
  if (!client.starttls_available) return error("454 4.7.0 TLS not available due to temporary reason");
  if (mail_ok) return error("503 5.5.1 Error: MAIL transaction in progress");
  // Our limit, not the client's error: not counted toward max_errors.
  if (hooks.admit_tls && !hooks.admit_tls()) return reply("454 4.7.0 TLS not available due to temporary reason");
  reply("220 2.0.0 Ready to start TLS");
  phase = Phase::TlsHandshake;
  starttls_announced = false;
  // Whatever follows in the same read (or is still buffered) was sent in
  // plaintext before the handshake: it must never be executed under the
  // protection TLS will seem to give it. process() consumes and drops it
  // in this phase (`in` may be the very buffer process() is reading, so it
  // is not touched here).
}

// Overwrite the password before the buffer goes back to the allocator.
void ServerSession::Impl::forget_password() {
  std::fill(auth_req.password.begin(), auth_req.password.end(), '\0');
  auth_req.password.clear();
}

Action ServerSession::auth_done(AuthResult result, std::vector<std::string> allowed_senders) {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitAuth) return s.result();
  s.phase = Phase::Command;
  switch (result) {
    case AuthResult::Ok:
      s.auth_user = s.auth_req.user;
      s.allowed_senders = std::move(allowed_senders);
      s.txn.auth_identity = s.auth_user;
      s.reply("235 2.7.0 Authentication successful");
      break;
    case AuthResult::Invalid:
      s.error("535 5.7.8 Authentication credentials invalid");
      break;
    case AuthResult::TempFail:
      s.reply("454 4.7.0 Temporary authentication failure");  // our fault: not counted
      break;
    case AuthResult::TooManyFailures:
      s.reply("421 4.7.0 " + s.cfg->hostname + " Error: too many failed authentication attempts");
      s.close();
      break;
  }
  s.forget_password();
  if (s.phase == Phase::Closed) {
    std::string().swap(s.in);
    return Action::Close;
  }
  s.check_shutdown();
  s.run_buffered();
  return s.result();
}

const AuthRequest& ServerSession::auth_request() const { return impl_->auth_req; }
const std::string& ServerSession::auth_identity() const { return impl_->auth_user; }

Action ServerSession::tls_started(std::string_view description) {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  s.client.tls_active = true;
  s.tls_info.assign(description);
  // RFC 3207 §4.2: forget everything learnt from the client in plaintext.
  s.phase = Phase::Command;
  s.greeted = false;
  s.helo.clear();
  s.esmtp = false;
  s.auth_user.clear();
  s.allowed_senders.clear();
  s.discarding = false;
  std::string().swap(s.in);
  s.reset_transaction();
  s.check_shutdown();
  return s.result();
}

bool ServerSession::tls_active() const { return impl_->client.tls_active; }

}  // namespace ringmta::smtp
