// relay/outbound.cpp — see outbound.h.
#include "relay/outbound.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <utility>

#include "telemetry/metrics.h"
#include "relay/outbound_tls.h"

namespace ringmta::relay {
namespace {

// The session stops at STARTTLS only when this connection may use TLS.
smtp::ClientConfig with_starttls(smtp::ClientConfig config, const Outbound::TlsSetup& tls) {
  config.offer_starttls = tls.level != config::OutboundTls::None && tls.context != nullptr;
  return config;
}

smtp::RecipientResult tls_result(int code, std::string enhanced, std::string text) {
  smtp::RecipientResult r;
  r.outcome = smtp::Outcome::TempFail;  // never permanent: the receiver's TLS may be fixed tomorrow
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.text = std::move(text);
  r.stage = smtp::Stage::StartTls;
  r.local = true;
  return r;
}

}  // namespace

// The engine owns handlers; this one only keeps the Outbound alive and
// forwards the socket's events to it.
class Outbound::Handler : public engine::ConnectionHandler {
 public:
  explicit Handler(std::shared_ptr<Outbound> ob) : ob_(std::move(ob)) {}
  void on_open(engine::Connection& c) override { ob_->on_open(c); }
  void on_data(engine::Connection&, std::string_view bytes) override { ob_->on_data(bytes); }
  void on_drained(engine::Connection&) override { ob_->on_drained(); }
  void on_closed(engine::Connection&, int error) override { ob_->on_closed(error); }

 private:
  std::shared_ptr<Outbound> ob_;
};

Outbound::Outbound(engine::Reactor& reactor, Owner* owner, smtp::ClientConfig config, Timeouts timeouts,
                   std::string host, engine::SocketAddress address, TlsSetup tls)
    : reactor_(reactor),
      owner_(owner),
      session_(with_starttls(std::move(config), tls)),
      timeouts_(timeouts),
      host_(std::move(host)),
      address_(address),
      tls_setup_(std::move(tls)) {}

// Timers hold only a weak_ptr, so nothing needs cancelling here (and the
// reactor may already be tearing down when the engine drops the handler).
Outbound::~Outbound() = default;

void Outbound::start() {
  auto self = shared_from_this();
  reactor_.connect(
      address_, timeouts_.connect,
      [self](engine::Connection&) -> std::unique_ptr<engine::ConnectionHandler> {
        if (self->gone_) return nullptr;  // detached while connecting: the engine closes it
        return std::make_unique<Handler>(self);
      },
      [self](int error) {
        if (!self->gone_) self->on_connect_error(error);
      },
      source_ ? &*source_ : nullptr);
}

std::string Outbound::peer_name() const {
  return host_ + "[" + address_.ip() + "]:" + std::to_string(address_.port());
}

void Outbound::on_open(engine::Connection& c) {
  conn_ = &c;
  if (gone_) {
    closing_ = true;
    c.abort();
    return;
  }
  spdlog::debug("delivery: connected to {}", peer_name());
  arm_timer(true);  // the greeting's timer
}

void Outbound::on_data(std::string_view bytes) {
  if (gone_ || closing_) return;
  if (tls_) return on_tls_data(bytes);
  apply(session_.feed(bytes));
}

// ---- TLS ----

void Outbound::start_tls() {
  if (tls_setup_.context)
    tls_ = tls_setup_.dane.empty() ? tls_setup_.context->new_session(host_, {}, tls_setup_.resume)
                                   : tls_setup_.context->new_dane_session(host_, tls_setup_.dane);
  if (!tls_) return tls_failed("cannot start TLS with " + peer_name() + ": no TLS session available");
  if (tls_->has_output()) conn_->send(tls_->take_output());  // the ClientHello
}

// Ciphertext from the server: handshake flights first, then records whose
// plaintext goes to the SMTP session.
void Outbound::on_tls_data(std::string_view bytes) {
  auto keep = shared_from_this();
  const bool was_open = tls_->handshake_done();
  std::string plain;
  const tls::Session::State state = tls_->feed(bytes, plain);
  if (state == tls::Session::State::Failed) {
    if (!was_open) telemetry::local().tls_handshake("outbound", "", false);
    return tls_failed((was_open ? "TLS error with " : "TLS handshake with ") + peer_name() +
                      (was_open ? ": " : " failed: ") + tls_->error());
  }
  if (tls_->has_output()) conn_->send(tls_->take_output());
  if (!was_open && tls_->handshake_done()) tls_established();
  if (gone_ || closing_) return;
  if (auth_active_) return on_auth_data(plain);  // only the AUTH exchange talks now
  if (!plain.empty()) apply(session_.feed(plain));
  // The server's close_notify: nothing more will come on this connection.
  if (state == tls::Session::State::Closed && !gone_ && !closing_) apply(session_.on_disconnect());
}

void Outbound::tls_established() {
  telemetry::local().tls_handshake("outbound", tls_->version(), true, tls_->resumed());
  tls_text_ = tls_->version() + " " + tls_->cipher();
  // With "verify" an untrusted certificate never gets here; with may/encrypt
  // the check still ran, and an operator wants to know its outcome.
  const std::string subject = tls_->peer_subject().empty() ? "" : " " + tls_->peer_subject();
  const std::string trust = tls_->peer_verified() ? "trusted" : "not trusted: " + tls_->verify_error();
  spdlog::info("delivery: TLS to {}: {} ({} bits){}, certificate{} {}", peer_name(), tls_text_, tls_->cipher_bits(),
               tls_->resumed() ? ", resumed" : "", subject, trust);
  apply(session_.tls_established());  // EHLO again (RFC 3207 §4.2)
}

// The handshake (or the TLS layer later) failed: send the alert and close.
// Nothing more goes out in plaintext on this connection.
void Outbound::tls_failed(std::string why) {
  tls_failure_ = tls_result(451, "4.7.5", why);  // RFC 3463 X.7.5: cryptographic failure
  spdlog::warn("delivery: {}", why);
  cancel_timer();
  if (!conn_ || closing_) return;
  if (tls_ && tls_->has_output()) conn_->send(tls_->take_output());
  closing_ = true;
  conn_->close();
}

// TLS is required and the server did not offer STARTTLS or refused it: QUIT
// (in plaintext, the only thing said in it) and let the agent try the next host.
void Outbound::refuse_plaintext() {
  const std::string& refusal = session_.starttls_refusal();
  std::string why = "TLS is required but " + peer_name() +
                    (refusal.empty() ? " did not offer STARTTLS" : " refused STARTTLS: " + refusal);
  tls_failure_ = tls_result(454, "4.7.4", why);  // RFC 3207 §4 / RFC 3463 X.7.4: security feature not supported
  spdlog::debug("delivery: {}", why);
  if (auth_) {
    telemetry::local().delivery_auth[2]++;  // result="no_tls": the credentials were not sent
    spdlog::warn("delivery: not logging in to {} as {}: {} (mail deferred)", peer_name(), auth_->user(), why);
  }
  action_ready_ = false;
  apply(session_.quit());
}

void Outbound::on_drained() {
  writing_ = false;
  if (gone_ || closing_ || auth_active_) return;
  session_.output_written();
  smtp::Stage st = session_.stage();
  // RFC 5321 §4.5.3.2: the data block timeout runs per write, so each
  // written piece restarts it.
  if (st == smtp::Stage::DataBlock || st == smtp::Stage::EndOfData) arm_timer(true);
  step();
}

void Outbound::on_timer() {
  timer_ = 0;
  if (gone_ || closing_) return;
  if (auth_active_)
    return auth_failed(421, "4.4.2", "timeout waiting for the AUTH reply from " + peer_name(), "failed", false);
  spdlog::debug("delivery: {} timed out in stage {}", peer_name(), smtp::to_string(session_.stage()));
  apply(session_.on_timeout());
}

void Outbound::on_connect_error(int error) {
  gone_ = true;
  failure_ = smtp::RecipientResult{};
  failure_.outcome = smtp::Outcome::TempFail;
  failure_.code = 451;
  failure_.enhanced = "4.4.1";  // RFC 3463: no answer from host
  failure_.text = "connect to " + peer_name() + ": " + std::strerror(error);
  failure_.stage = smtp::Stage::Greeting;
  failure_.local = true;
  spdlog::debug("delivery: {}", failure_.text);
  if (owner_) owner_->outbound_closed(*this);
}

void Outbound::on_closed(int error) {
  conn_ = nullptr;
  cancel_timer();
  if (gone_) return;
  auto keep = shared_from_this();
  if (!session_.closed()) session_.on_disconnect();  // pending recipients fail temporarily
  while (!gone_ && session_.has_result()) {
    busy_ = false;
    owner_->outbound_result(*this, session_.take_result());
  }
  if (gone_) return;
  if (!established_) {
    note_failure();
    // "may": a handshake that failed (or a connection that died during it)
    // is retried without TLS, so broken TLS does not hold mail back.
    tls_fallback_ = tls_setup_.level == config::OutboundTls::May && tls_ && !tls_->handshake_done();
  }
  spdlog::debug("delivery: connection to {} closed ({})", peer_name(), error ? std::strerror(error) : "orderly");
  gone_ = true;
  ready_notified_ = false;
  owner_->outbound_closed(*this);
}

// The connection never got ready: keep the session's reason (a remote reply
// as the remote wrote it; a local one with the peer named).
void Outbound::note_failure() {
  if (tls_failure_ || auth_failure_) {
    failure_ = tls_failure_ ? *tls_failure_ : *auth_failure_;
    return;
  }
  failure_ = smtp::RecipientResult{};
  failure_.outcome = smtp::Outcome::TempFail;
  failure_.local = true;
  if (const auto& f = session_.connection_failure()) {
    failure_.outcome = f->permanent ? smtp::Outcome::PermFail : smtp::Outcome::TempFail;
    failure_.code = f->code;
    failure_.enhanced = f->enhanced;
    failure_.stage = f->stage;
    failure_.local = f->local;
    failure_.text = f->text;
    if (f->local) {
      // "421 4.4.2 timeout in stage Greeting" -> "timeout in stage Greeting (host[ip]:port)"
      std::string prefix = std::to_string(f->code) + " " + f->enhanced + " ";
      if (failure_.text.rfind(prefix, 0) == 0) failure_.text.erase(0, prefix.size());
      failure_.text += " (" + peer_name() + ")";
    }
    return;
  }
  failure_.code = 421;
  failure_.enhanced = "4.4.2";
  failure_.stage = session_.stage();
  failure_.text = "lost connection with " + peer_name() + " before it was ready";
}

void Outbound::send_transaction(smtp::OutboundEnvelope envelope, std::string_view message) {
  ready_notified_ = false;
  busy_ = true;
  apply(session_.start_transaction(std::move(envelope), message));
}

void Outbound::quit() {
  if (gone_ || closing_) return;
  ready_notified_ = false;
  apply(session_.quit());
}

void Outbound::detach() {
  owner_ = nullptr;
  gone_ = true;
  ready_notified_ = false;
  cancel_timer();
  if (conn_ && !closing_) {
    closing_ = true;
    conn_->abort();
  }
}

void Outbound::apply(smtp::ClientAction action) {
  if (action == smtp::ClientAction::StartTlsOffered)
    action = tls_setup_.context ? session_.starttls() : session_.skip_starttls();
  if (action == smtp::ClientAction::StartTlsHandshake) {
    action_ready_ = false;
    if (!tls_) start_tls();
    return step();  // the STARTTLS stage timer covers the handshake
  }
  if (action == smtp::ClientAction::Ready && !session_.tls_active() && tls_required(tls_setup_.level))
    return refuse_plaintext();
  if (action == smtp::ClientAction::Ready && auth_ && !auth_done_) return start_auth();
  action_ready_ = action == smtp::ClientAction::Ready;
  step();
}

// Results first (the owner may start the next transaction from them), then
// output, then close / ready / the stage timer. Re-entrant calls (the owner
// calling send_transaction() from a callback) only ask for another round, so
// a long chain of locally failed transactions does not recurse.
void Outbound::step() {
  if (in_step_) {
    again_ = true;
    return;
  }
  in_step_ = true;
  auto keep = shared_from_this();
  do {
    again_ = false;
    if (gone_ || closing_) break;
    while (!gone_ && session_.has_result()) {
      busy_ = false;
      owner_->outbound_result(*this, session_.take_result());
    }
    if (gone_) break;
    flush();
    if (session_.closed()) {
      close_connection();
      break;
    }
    if (action_ready_ && !busy_) {
      cancel_timer();
      if (!ready_notified_) {
        ready_notified_ = true;
        established_ = true;
        owner_->outbound_ready(*this);
      }
    } else {
      arm_timer(false);
    }
  } while (again_);
  in_step_ = false;
}

// One write in flight at a time: during DATA the next piece is taken only
// after the previous one is written (on_drained), which bounds the memory.
void Outbound::flush() {
  if (!conn_ || closing_ || writing_ || !session_.has_output()) return;
  // After STARTTLS's 220 nothing goes out until the handshake is done (the
  // session is silent then anyway).
  if (tls_ && !tls_->handshake_done()) return;
  std::string out = session_.take_output();
  if (out.empty()) return;
  if (tls_) {
    tls_->write(out);
    if (tls_->state() == tls::Session::State::Failed)
      return tls_failed("TLS error with " + peer_name() + ": " + tls_->error());
    out = tls_->take_output();
  }
  writing_ = true;
  conn_->send(std::move(out));
}

void Outbound::close_connection() {
  cancel_timer();
  if (!conn_ || closing_) return;
  // A QUIT queued by the session goes out even if a write is still in flight
  // (inside TLS once it is up; never in plaintext after STARTTLS's 220).
  if (!tls_) {
    if (session_.has_output()) conn_->send(session_.take_output());
  } else if (tls_->state() == tls::Session::State::Open) {
    if (session_.has_output()) tls_->write(session_.take_output());
    tls_->close();  // close_notify after the QUIT
    if (tls_->has_output()) conn_->send(tls_->take_output());
  }
  closing_ = true;
  conn_->close();
}

void Outbound::arm_timer(bool force) {
  smtp::Stage st = session_.stage();
  if (st == smtp::Stage::Idle || st == smtp::Stage::Closed) {
    cancel_timer();
    return;
  }
  if (!force && timer_ != 0 && st == timer_stage_) return;
  cancel_timer();
  bool data = st == smtp::Stage::DataInit || st == smtp::Stage::DataBlock || st == smtp::Stage::EndOfData;
  timer_stage_ = st;
  std::weak_ptr<Outbound> weak = weak_from_this();
  timer_ = reactor_.add_timer(data ? timeouts_.data : timeouts_.command, [weak] {
    if (auto self = weak.lock()) self->on_timer();
  });
}

void Outbound::cancel_timer() {
  if (timer_ != 0) reactor_.cancel_timer(timer_);
  timer_ = 0;
}

}  // namespace ringmta::relay

