// relay/outbound.cpp — see outbound.h.
#include "relay/outbound.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <utility>

namespace ringmta::relay {

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
                   std::string host, engine::SocketAddress address)
    : reactor_(reactor),
      owner_(owner),
      session_(std::move(config)),
      timeouts_(timeouts),
      host_(std::move(host)),
      address_(address) {}

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
      });
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
  apply(session_.feed(bytes));
}

void Outbound::on_drained() {
  writing_ = false;
  if (gone_ || closing_) return;
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
  if (!established_) note_failure();
  spdlog::debug("delivery: connection to {} closed ({})", peer_name(), error ? std::strerror(error) : "orderly");
  gone_ = true;
  ready_notified_ = false;
  owner_->outbound_closed(*this);
}

// The connection never got ready: keep the session's reason (a remote reply
// as the remote wrote it; a local one with the peer named).
void Outbound::note_failure() {
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
  if (action == smtp::ClientAction::StartTlsOffered) action = session_.skip_starttls();  // never offered: no TLS yet
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
  std::string out = session_.take_output();
  if (out.empty()) return;
  writing_ = true;
  conn_->send(std::move(out));
}

void Outbound::close_connection() {
  cancel_timer();
  if (!conn_ || closing_) return;
  // A QUIT queued by the session goes out even if a write is still in flight.
  if (session_.has_output()) conn_->send(session_.take_output());
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
