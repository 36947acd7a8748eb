// relay/outbound_login.cpp — the Outbound's upstream login (see outbound.h,
// "AUTH"): the exchange of outbound_auth.h run on the TLS layer after the
// EHLO that follows STARTTLS, before the connection counts as ready.
//
// Its own file so outbound.cpp (the connection and TLS glue) only gains the
// hooks that route to it: apply() starts it, on_tls_data() feeds it, the
// timer and note_failure() know its state.
#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "relay/outbound.h"
#include "telemetry/metrics.h"

namespace ringmta::relay {
namespace {

// A login that did not happen: temporary, local, reported like a TLS failure.
smtp::RecipientResult login_result(int code, std::string enhanced, std::string text) {
  smtp::RecipientResult r;
  r.outcome = smtp::Outcome::TempFail;  // a refused login defers: never a bounce
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.text = std::move(text);
  r.stage = smtp::Stage::Ehlo;
  r.local = true;
  return r;
}

size_t metric_index(std::string_view result) {
  return result == "ok" ? 0 : result == "failed" ? 1 : result == "no_tls" ? 2 : 3;
}

}  // namespace

void Outbound::set_login(std::string user, std::string password) {
  auth_ = std::make_unique<ClientAuth>(std::move(user), std::move(password));
}

// The session is idle after the EHLO that followed STARTTLS: log in before
// the connection counts as ready. The session itself stays idle meanwhile
// (nothing of its own to say), so the exchange runs beside it on the TLS
// layer with its own reply parser and the command timer.
void Outbound::start_auth() {
  action_ready_ = false;
  if (!session_.tls_active() || !tls_ || !tls_->handshake_done()) {
    // Unreachable with the agent's TLS level; the password is never sent in clear.
    return auth_failed(454, "4.7.0", "credentials for " + peer_name() + " but no TLS on the connection; not sent",
                       "no_tls", true);
  }
  if (!auth_->choose(session_.capabilities().auth)) {
    std::string offered;
    for (const auto& m : session_.capabilities().auth) offered += (offered.empty() ? "" : " ") + m;
    return auth_failed(454, "4.7.0",
                       peer_name() + " offers no AUTH mechanism I can use (PLAIN, LOGIN)" +
                           (offered.empty() ? std::string(" and no AUTH at all") : "; offered: " + offered),
                       "no_mechanism", true);
  }
  auth_active_ = true;
  auth_parser_.reset();
  cancel_timer();
  std::weak_ptr<Outbound> weak = weak_from_this();
  timer_ = reactor_.add_timer(timeouts_.command, [weak] {
    if (auto self = weak.lock()) self->on_timer();
  });
  tls_->write(auth_->start());
  if (tls_->has_output()) conn_->send(tls_->take_output());
}

void Outbound::on_auth_data(std::string_view plain) {
  while (auth_active_ && !gone_ && !closing_ && !plain.empty()) {
    const smtp::ReplyParser::Status st = auth_parser_.feed(plain);
    if (st == smtp::ReplyParser::Status::NeedMore) return;
    if (st == smtp::ReplyParser::Status::Error)
      return auth_failed(421, "4.5.0", "bad reply to AUTH from " + peer_name() + ": " + auth_parser_.error(), "failed",
                         false);
    const smtp::Reply reply = auth_parser_.take();
    std::string next;
    switch (auth_->on_reply(reply, next)) {
      case ClientAuth::Step::Continue:
        tls_->write(next);
        if (tls_->has_output()) conn_->send(tls_->take_output());
        break;
      case ClientAuth::Step::Done: {
        auth_active_ = false;
        auth_done_ = true;
        cancel_timer();
        telemetry::local().delivery_auth[metric_index("ok")]++;
        spdlog::info("delivery: authenticated to {} as {} (AUTH {})", peer_name(), auth_->user(), auth_->mechanism());
        action_ready_ = true;
        if (!plain.empty()) return auth_failed(421, "4.5.0", "unexpected bytes after AUTH success", "failed", false);
        return step();
      }
      case ClientAuth::Step::Failed: {
        // Any refusal — 535 bad credentials, 454 temporary, 534 mechanism
        // too weak — defers: a provider's login outage must not bounce mail.
        std::string enhanced = reply.enhanced_or_default();
        enhanced[0] = '4';
        return auth_failed(reply.code >= 400 ? 454 : 421, enhanced,
                           "AUTH " + auth_->mechanism() + " as " + auth_->user() + " refused by " + peer_name() +
                               ": " + reply.str(),
                           "failed", reply.code != 334);
      }
    }
  }
}

// The login did not happen: the connection ends (QUIT when the server is in
// a known state) and the agent moves on like after a TLS failure; the
// recipients get a temporary result with `why`.
void Outbound::auth_failed(int code, std::string enhanced, std::string why, const char* metric, bool quit) {
  auth_active_ = false;
  cancel_timer();
  auth_failure_ = login_result(code, std::move(enhanced), why);
  telemetry::local().delivery_auth[metric_index(metric)]++;
  spdlog::warn("delivery: {} (mail deferred)", why);
  if (quit && !session_.closed()) {
    action_ready_ = false;
    return apply(session_.quit());
  }
  if (!conn_ || closing_) return;
  closing_ = true;
  if (tls_ && tls_->state() == tls::Session::State::Open) {
    tls_->close();
    if (tls_->has_output()) conn_->send(tls_->take_output());
  }
  conn_->close();
}

}  // namespace ringmta::relay
