// access/pop3_session_tls_auth.cpp — the security side of a POP3 session:
// the TLS layer (STLS, RFC 2595, or implicit TLS on pop3s, RFC 8314) and the
// login's password check through auth::AuthService — the same workers and
// the same failure counters (per client address and per user) as SMTP AUTH,
// so guessing cannot switch protocol to get more tries.
#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "access/pop3_session.h"
#include "auth/auth.h"
#include "config/cidr.h"
#include "limits/handshake_budget.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

namespace {
// Indexes of ShardMetrics::pop3_logins (telemetry/metrics.h).
enum LoginResult { kOk = 0, kInvalid = 1, kThrottled = 2, kInUse = 3, kFailed = 4 };
}  // namespace

bool Pop3Session::admit_handshake() {
  if (!shard_.handshakes) return true;
  const bool trusted = any_contains(shard_.config->relay.trusted_networks, client_);
  const auto verdict = shard_.handshakes->admit(client_.ip(), trusted);
  if (verdict == limits::HandshakeBudget::Verdict::Ok) return true;
  telemetry::tls_handshake_refused(client_.ip(), verdict == limits::HandshakeBudget::Verdict::TooManyFromClient,
                                   "pop3");
  return false;
}

bool Pop3Session::start_tls() {
  if (shard_.tls) tls_ = shard_.tls->new_session();
  if (!tls_) {
    spdlog::error("pop3 session {} [{}]: cannot start TLS (no usable certificate)", number_, client_.ip());
    return false;
  }
  return true;
}

// Ciphertext in: handshake progress and/or decrypted commands.
void Pop3Session::on_ciphertext(std::string_view bytes) {
  std::string plaintext;
  const tls::Session::State state = tls_->feed(bytes, plaintext);
  if (tls_->has_output()) conn_.send(tls_->take_output());
  if (state == tls::Session::State::Failed) {
    if (!tls_->handshake_done()) telemetry::local().tls_handshake("inbound", "", false);
    spdlog::info("pop3 session {} [{}]:{}: TLS {}failed: {}", number_, client_.ip(), client_.port(),
                 tls_->handshake_done() ? "" : "handshake ", tls_->error());
    return close_connection();
  }
  if (!tls_reported_ && tls_->handshake_done()) handshake_finished();
  if (closing_) return;
  if (!plaintext.empty()) act(session_->feed(plaintext));
  if (!closing_ && state == tls::Session::State::Closed) {
    if (tls_->has_output()) conn_.send(tls_->take_output());
    close_connection();
  }
}

void Pop3Session::handshake_finished() {
  tls_reported_ = true;
  telemetry::local().tls_handshake("inbound", tls_->version(), true, tls_->resumed());
  spdlog::info("pop3 session {} [{}]:{}: TLS {} {} ({} bits){}", number_, client_.ip(), client_.port(),
               tls_->version(), tls_->cipher(), tls_->cipher_bits(), tls_->resumed() ? ", resumed" : "");
  last_activity_ = engine::Clock::now();
  if (implicit_tls_) {
    session_->start();
    act(shard_.shutting_down ? session_->on_shutdown() : pop3::Action::NeedInput);
    return;
  }
  act(session_->tls_started());
}

void Pop3Session::start_auth() {
  const pop3::AuthRequest& req = session_->auth_request();
  login_ = req.user;
  if (!shard_.auth) {  // no users file: nobody can log in
    ++telemetry::local().pop3_logins[kFailed];
    spdlog::warn("pop3 login failed user={} client=[{}]: auth.users_file is not set", login_, client_.ip());
    return act(session_->auth_done(pop3::AuthResult::TempFail));
  }
  // The verdict comes back on this shard; the session may be gone by then.
  Pop3Shard* shard = &shard_;
  const uint64_t number = number_;
  shard_.auth->check(*shard_.reactor, client_.ip(), req.user, req.password, [shard, number](auth::AuthVerdict v) {
    auto it = shard->sessions.find(number);
    if (it != shard->sessions.end()) it->second->auth_finished(static_cast<int>(v.result), v.delay);
  });
}

// A failure's throttling delay is a timer on this shard (nothing sleeps).
void Pop3Session::auth_finished(int outcome, std::chrono::milliseconds delay) {
  if (closing_) return;
  const auto o = static_cast<auth::Outcome>(outcome);
  auto answer = [this, o] {
    last_activity_ = engine::Clock::now();
    pop3::AuthResult r = pop3::AuthResult::TempFail;
    std::string owner;
    switch (o) {
      case auth::Outcome::Ok:
        r = pop3::AuthResult::Ok;
        owner = maildrop_owner(login_, shard_.config->relay.local_domains);
        // A valid login without a local mailbox: [SYS/PERM] at LoadMaildrop.
        if (owner.empty()) owner = login_;
        break;
      case auth::Outcome::Invalid:
        r = pop3::AuthResult::Invalid;
        ++telemetry::local().pop3_logins[kInvalid];
        spdlog::info("pop3 login failed user={} client=[{}]: invalid credentials", login_, client_.ip());
        break;
      case auth::Outcome::TooManyFailures:
        r = pop3::AuthResult::Throttled;
        ++telemetry::local().pop3_logins[kThrottled];
        spdlog::warn("pop3 login failed user={} client=[{}]: too many failures (auth.max_failures)", login_,
                     client_.ip());
        break;
      case auth::Outcome::TempFail:
        ++telemetry::local().pop3_logins[kFailed];
        spdlog::warn("pop3 login failed user={} client=[{}]: temporary failure", login_, client_.ip());
        break;
    }
    act(session_->auth_done(r, std::move(owner)));
  };
  if (delay.count() > 0) {
    auth_timer_ = shard_.reactor->add_timer(delay, [this, answer] {
      auth_timer_ = 0;
      if (!closing_) answer();
    });
    return;
  }
  answer();
}

}  // namespace ringmta::access
