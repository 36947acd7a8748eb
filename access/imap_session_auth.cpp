// access/imap_session_auth.cpp — the security side of an IMAP session: TLS
// (STARTTLS, RFC 9051 §6.2.1, or implicit TLS on imaps, RFC 8314), LOGIN and
// AUTHENTICATE PLAIN (with SASL-IR, RFC 4959) through auth::AuthService — the
// same workers and failure counters as SMTP AUTH and POP3 — and the first
// step after a login on the owner shard: the special-use mailboxes (RFC 6154)
// on the first login, and the watcher that wakes this session on changes.
#include <spdlog/spdlog.h>

#include "access/account.h"
#include "access/imap_session.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "config/cidr.h"
#include "limits/handshake_budget.h"
#include "proto/sasl/sasl.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

namespace {
// Indexes of ShardMetrics::imap_logins (telemetry/metrics.h).
enum LoginResult { kOk = 0, kInvalid = 1, kThrottled = 2, kFailed = 3 };
}  // namespace

bool ImapSession::admit_handshake() {
  if (!shard_.handshakes) return true;
  const bool trusted = any_contains(shard_.config->relay.trusted_networks, client_);
  const auto verdict = shard_.handshakes->admit(client_.ip(), trusted);
  if (verdict == limits::HandshakeBudget::Verdict::Ok) return true;
  telemetry::tls_handshake_refused(client_.ip(), verdict == limits::HandshakeBudget::Verdict::TooManyFromClient,
                                   "imap");
  return false;
}

bool ImapSession::start_tls() {
  if (shard_.tls) tls_ = shard_.tls->new_session();
  if (!tls_) {
    spdlog::error("imap session {} [{}]: cannot start TLS (no usable certificate)", number_, client_.ip());
    return false;
  }
  busy_ = true;  // no command until the handshake is done
  return true;
}

void ImapSession::on_ciphertext(std::string_view bytes) {
  std::string plaintext;
  const tls::Session::State state = tls_->feed(bytes, plaintext);
  if (tls_->has_output()) conn_.send(tls_->take_output());
  if (state == tls::Session::State::Failed) {
    if (!tls_->handshake_done()) telemetry::local().tls_handshake("inbound", "", false);
    spdlog::info("imap session {} [{}]:{}: TLS {}failed: {}", number_, client_.ip(), client_.port(),
                 tls_->handshake_done() ? "" : "handshake ", tls_->error());
    return close_connection();
  }
  if (!tls_reported_ && tls_->handshake_done()) handshake_finished();
  if (closing_) return;
  if (!plaintext.empty()) input(plaintext);
  if (!closing_ && state == tls::Session::State::Closed) close_connection();
}

void ImapSession::handshake_finished() {
  tls_reported_ = true;
  start_tls_pending_ = false;
  busy_ = false;
  telemetry::local().tls_handshake("inbound", tls_->version(), true, tls_->resumed());
  spdlog::info("imap session {} [{}]:{}: TLS {} {} ({} bits){}", number_, client_.ip(), client_.port(),
               tls_->version(), tls_->cipher(), tls_->cipher_bits(), tls_->resumed() ? ", resumed" : "");
  last_activity_ = engine::Clock::now();
  if (implicit_tls_) {
    if (shard_.shutting_down) {
      send("* BYE [UNAVAILABLE] Server shutting down\r\n");
      return close_connection();
    }
    send("* OK [CAPABILITY " + capabilities() + "] " + shard_.config->server.hostname + " ringmta IMAP ready\r\n");
  }
  run();
}

void ImapSession::login(const std::string& tag, const std::string& user, const std::string& password) {
  const config::ListenerConfig* l = nullptr;
  if (int t = conn_.listener_tag(); t >= 0 && static_cast<size_t>(t) < shard_.config->listeners.size())
    l = &shard_.config->listeners[static_cast<size_t>(t)];
  const bool plain_ok = tls_ || shard_.config->imap.allow_plaintext_auth || (l && l->allow_plaintext_auth);
  if (!plain_ok) return reply(tag, "NO [PRIVACYREQUIRED] Use STARTTLS first (LOGINDISABLED)");
  login_ = user;
  auth_tag_ = tag;
  busy_ = true;
  if (!shard_.auth) {
    ++telemetry::local().imap_logins[kFailed];
    spdlog::warn("imap login failed user={} client=[{}]: auth.users_file is not set", login_, client_.ip());
    return done(tag, "NO [UNAVAILABLE] Logins are not possible now");
  }
  ImapShard* shard = &shard_;
  const uint64_t number = number_;
  shard_.auth->check(*shard_.reactor, client_.ip(), user, password, [shard, number](auth::AuthVerdict v) {
    auto it = shard->sessions.find(number);
    if (it != shard->sessions.end()) it->second->auth_finished(static_cast<int>(v.result), v.delay);
  });
}

void ImapSession::authenticate(imap::Command& cmd) {
  if (cmd.mechanism != "PLAIN") return reply(cmd.tag, "NO [CANNOT] Only AUTHENTICATE PLAIN is supported");
  const config::ListenerConfig* l = nullptr;
  if (int t = conn_.listener_tag(); t >= 0 && static_cast<size_t>(t) < shard_.config->listeners.size())
    l = &shard_.config->listeners[static_cast<size_t>(t)];
  const bool plain_ok = tls_ || shard_.config->imap.allow_plaintext_auth || (l && l->allow_plaintext_auth);
  if (!plain_ok) return reply(cmd.tag, "NO [PRIVACYREQUIRED] Use STARTTLS first (LOGINDISABLED)");
  auth_tag_ = cmd.tag;
  if (!cmd.has_initial) {
    sasl_waiting_ = true;
    send("+ \r\n");
    return;
  }
  sasl_response(cmd.initial_response == "=" ? "" : cmd.initial_response);
}

void ImapSession::sasl_response(std::string_view line) {
  sasl_waiting_ = false;
  if (line == "*") return reply(auth_tag_, "BAD Authentication cancelled");
  auto decoded = sasl::base64_decode(line);
  std::optional<sasl::SaslCredentials> creds;
  if (decoded) creds = sasl::parse_plain(*decoded);
  if (!creds) return bad(auth_tag_, "Invalid SASL PLAIN response");
  login(auth_tag_, creds->user, creds->password);
}

// A failure's throttling delay is a timer on this shard (nothing sleeps).
void ImapSession::auth_finished(int outcome, std::chrono::milliseconds delay) {
  if (closing_) return;
  const auto o = static_cast<auth::Outcome>(outcome);
  auto answer = [this, o] {
    last_activity_ = engine::Clock::now();
    switch (o) {
      case auth::Outcome::Ok: {
        user_ = maildrop_owner(login_, shard_.config->relay.local_domains);
        if (user_.empty()) {
          ++telemetry::local().imap_logins[kFailed];
          spdlog::info("imap login failed user={} client=[{}]: no mailbox (not a local domain)", login_, client_.ip());
          return done(auth_tag_, "NO [AUTHORIZATIONFAILED] This user has no mailbox here");
        }
        return logged_in();
      }
      case auth::Outcome::Invalid:
        ++telemetry::local().imap_logins[kInvalid];
        spdlog::info("imap login failed user={} client=[{}]: invalid credentials", login_, client_.ip());
        return done(auth_tag_, "NO [AUTHENTICATIONFAILED] Invalid credentials");
      case auth::Outcome::TooManyFailures:
        ++telemetry::local().imap_logins[kThrottled];
        spdlog::warn("imap login failed user={} client=[{}]: too many failures (auth.max_failures)", login_,
                     client_.ip());
        return done(auth_tag_, "NO [UNAVAILABLE] Too many failures, try again later");
      case auth::Outcome::TempFail:
        ++telemetry::local().imap_logins[kFailed];
        spdlog::warn("imap login failed user={} client=[{}]: temporary failure", login_, client_.ip());
        return done(auth_tag_, "NO [UNAVAILABLE] Temporary failure, try again later");
    }
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

// On the owner: the first login creates the special-use mailboxes; every
// login registers the session to be woken by changes.
void ImapSession::logged_in() {
  const unsigned shard = shard_.reactor->shard_id();
  const uint64_t number = number_;
  const std::string tag = auth_tag_;
  on_owner(tag, [shard, number, tag](Owner& o, Finish finish) {
    o.user.watchers.push_back({shard, number});
    o.user.fingerprint = imap_view::fingerprint(o.state);
    queue::Batch batch;
    if (!imap_view::set_up(o.state, batch, base::unix_ms())) {
      o.service.finish(o.ticket, true);
      return finish("");
    }
    o.service.commit(o.ticket, std::move(batch), [finish](queue::Status st) {
      finish(st.ok() ? "" : "!" + st.message);
    });
  }, [this, tag](std::string text) {
    busy_ = false;
    if (!text.empty()) {
      spdlog::error("imap login user={}: cannot open the mailboxes: {}", user_,
                    text.starts_with("!") ? text.substr(1) : text);
      unwatch();  // the owner may have registered it before the failure
      user_.clear();
      reply(tag, "NO [UNAVAILABLE] Cannot open the mailboxes, try again later");
      return run();
    }
    ++telemetry::local().imap_logins[kOk];
    state_ = State::Authenticated;
    spdlog::info("imap login user={} client=[{}] session={}{}", user_, client_.ip(), number_, tls_ ? " tls" : "");
    reply(tag, "OK [CAPABILITY " + capabilities() + "] Logged in");
    run();
  });
}

}  // namespace ringmta::access
