// relay/inbound_tls_auth.cpp — the security side of an inbound session: the
// TLS layer (STARTTLS or implicit TLS: ciphertext in, handshake, plaintext to
// the SMTP session) and SMTP AUTH (the password check off the shard thread,
// its verdict and throttling delay back on it).
//
// Its own file because both sit between the socket and the SMTP session with
// rules of their own (nothing in clear once TLS started; no sleeping on the
// shard), apart from the plain byte flow in inbound.cpp.
#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "auth/auth.h"
#include "config/cidr.h"
#include "limits/handshake_budget.h"
#include "relay/inbound.h"
#include "telemetry/metrics.h"

namespace ringmta::relay {

void InboundSession::start_auth() {
  const smtp::AuthRequest& req = session_->auth_request();
  if (!shard_.auth) {  // AUTH is only offered with a users file; be safe anyway
    act(session_->auth_done(smtp::AuthResult::TempFail));
    return;
  }
  // The verdict comes back on this shard; the session may be gone by then.
  ShardContext* shard = &shard_;
  const uint64_t number = number_;
  shard_.auth->check(shard_.reactor, client_.ip(), req.user, req.password, [shard, number](auth::AuthVerdict v) {
    auto it = shard->sessions.find(number);
    if (it != shard->sessions.end()) it->second->auth_finished(std::move(v));
  });
}

namespace {
// auth/ speaks for every protocol; the SMTP session wants its own reply codes.
smtp::AuthResult smtp_result(auth::Outcome o) {
  switch (o) {
    case auth::Outcome::Ok: return smtp::AuthResult::Ok;
    case auth::Outcome::Invalid: return smtp::AuthResult::Invalid;
    case auth::Outcome::TooManyFailures: return smtp::AuthResult::TooManyFailures;
    case auth::Outcome::TempFail: break;
  }
  return smtp::AuthResult::TempFail;
}
}  // namespace

// A failure's throttling delay is a timer on this shard (nothing sleeps).
void InboundSession::auth_finished(auth::AuthVerdict v) {
  if (closing_) return;
  if (v.result == auth::Outcome::Invalid || v.result == auth::Outcome::TooManyFailures)
    ++telemetry::local().auth_failures;
  if (v.delay.count() > 0) {
    auth_timer_ = shard_.reactor.add_timer(v.delay, [this, result = v.result, senders = std::move(v.senders)]() mutable {
      auth_timer_ = 0;
      if (closing_) return;
      last_activity_ = engine::Clock::now();
      act(session_->auth_done(smtp_result(result), std::move(senders)));
    });
    return;
  }
  last_activity_ = engine::Clock::now();
  act(session_->auth_done(smtp_result(v.result), std::move(v.senders)));
}

bool InboundSession::admit_handshake() {
  if (!shard_.handshakes) return true;
  const bool trusted = any_contains(shard_.config->relay.trusted_networks, client_);
  const auto verdict = shard_.handshakes->admit(client_.ip(), trusted);
  if (verdict == limits::HandshakeBudget::Verdict::Ok) return true;
  telemetry::tls_handshake_refused(client_.ip(), verdict == limits::HandshakeBudget::Verdict::TooManyFromClient,
                                   "");
  return false;
}

bool InboundSession::start_tls() {
  if (shard_.tls) tls_ = shard_.tls->new_session();
  if (!tls_) {
    spdlog::error("session {} [{}]: cannot start TLS (no usable certificate)", number_, client_.ip());
    return false;
  }
  return true;
}

// Ciphertext in: handshake progress and/or decrypted commands for the session.
// The plaintext buffer is per call, not per connection: idle connections
// (thousands of them) should hold no read buffer.
void InboundSession::on_ciphertext(std::string_view bytes) {
  std::string plaintext;
  const tls::Session::State state = tls_->feed(bytes, plaintext);
  if (tls_->has_output()) conn_.send(tls_->take_output());
  if (state == tls::Session::State::Failed) {
    if (!tls_->handshake_done()) telemetry::local().tls_handshake("inbound", "", false);
    spdlog::info("session {} [{}]:{}: TLS {}failed: {}", number_, client_.ip(), client_.port(),
                 tls_->handshake_done() ? "" : "handshake ", tls_->error());
    close_connection();  // the alert (if any) is already queued
    return;
  }
  if (!tls_reported_ && tls_->handshake_done()) handshake_finished();
  if (closing_) return;
  if (!plaintext.empty()) {
    reserve_body(plaintext.size());
    act(session_->feed(plaintext));
  }
  if (!closing_ && state == tls::Session::State::Closed) {
    closing_ = true;  // the client's close_notify was answered by tls_
    if (tls_->has_output()) conn_.send(tls_->take_output());
    close_connection();
  }
}

void InboundSession::handshake_finished() {
  tls_reported_ = true;
  telemetry::local().tls_handshake("inbound", tls_->version(), true, tls_->resumed());
  const std::string sni = tls_->server_name();
  spdlog::info("session {} [{}]:{}: TLS {} {} ({} bits){}{}{}", number_, client_.ip(), client_.port(),
               tls_->version(), tls_->cipher(), tls_->cipher_bits(), tls_->resumed() ? ", resumed" : "",
               sni.empty() ? "" : ", sni=", sni);
  act(session_->tls_started(tls::describe(*tls_)));
  if (implicit_tls_ && !closing_) {
    session_->start();
    act(shard_.shutting_down ? session_->on_shutdown() : smtp::Action::NeedInput);
  }
}

}  // namespace ringmta::relay
