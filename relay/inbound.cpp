// relay/inbound.cpp — see inbound.h.
#include "relay/inbound.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <ctime>

#include "relay/auth.h"
#include "relay/conn_limits.h"
#include "relay/envelope.h"
#include "relay/metrics.h"
#include "relay/proto/proxy_protocol.h"
#include "relay/scheduler.h"

namespace ringmta::relay {

namespace {

// While a commit is in flight the session buffers pipelined input; past this
// much we stop reading so a client cannot make us hold unbounded data.
constexpr size_t kMaxBufferedInput = 1 << 20;

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

ListenerKind listener_kind(ShardContext& shard, engine::Connection& conn) {
  const int tag = conn.listener_tag();
  const auto& listeners = shard.config->listeners;
  return tag >= 0 && static_cast<size_t>(tag) < listeners.size() ? listeners[tag].kind : ListenerKind::Smtp;
}

std::string listener_text(ShardContext& shard, engine::Connection& conn) {
  const int tag = conn.listener_tag();
  const auto& listeners = shard.config->listeners;
  return tag >= 0 && static_cast<size_t>(tag) < listeners.size() ? listeners[static_cast<size_t>(tag)].address_text
                                                                  : std::string("?");
}

bool proxy_listener(ShardContext& shard, engine::Connection& conn) {
  const int tag = conn.listener_tag();
  const auto& listeners = shard.config->listeners;
  return tag >= 0 && static_cast<size_t>(tag) < listeners.size() && listeners[static_cast<size_t>(tag)].proxy_protocol;
}

// `client`: the peer, or the client address a PROXY header gave.
smtp::ClientInfo client_info(ShardContext& shard, engine::Connection& conn, const engine::SocketAddress& client) {
  smtp::ClientInfo info;
  // smtp and submission offer STARTTLS; submissions is TLS from the start.
  info.starttls_available = shard.tls && listener_kind(shard, conn) != ListenerKind::Submissions;
  info.address = client.ip();
  info.trusted = any_contains(shard.config->relay.trusted_networks, client);
  const int tag = conn.listener_tag();
  if (tag >= 0 && static_cast<size_t>(tag) < shard.config->listeners.size()) {
    const ListenerConfig& l = shard.config->listeners[static_cast<size_t>(tag)];
    info.allow_plaintext_auth = l.allow_plaintext_auth;
    // RFC 6409 submission: no mail without AUTH, whatever the network.
    info.auth_required = l.kind == ListenerKind::Submission || l.kind == ListenerKind::Submissions;
  }
  return info;
}

smtp::Hooks session_hooks(ShardContext& shard) {
  smtp::Hooks hooks;
  hooks.new_queue_id = [&shard] { return shard.ids.next(); };
  hooks.now_unix = [] { return static_cast<int64_t>(::time(nullptr)); };
  return hooks;
}

// The reply for a failed durable write. Never a 250 for data not on disk.
std::string commit_error_reply(const queue::Status& status) {
  if (status.code == queue::Status::Code::NoSpace) return "452 4.3.1 Insufficient system storage";
  return "451 4.3.0 Error: queue file write error";
}

}  // namespace

InboundSession::InboundSession(ShardContext& shard, engine::Connection& conn)
    : shard_(shard),
      conn_(conn),
      client_(conn.peer()),
      number_(shard.next_session++),
      implicit_tls_(listener_kind(shard, conn) == ListenerKind::Submissions),
      awaiting_proxy_(proxy_listener(shard, conn)) {
  shard_.sessions.emplace(number_, this);
  ++shard_.counters.connections;
  metrics::local().connection_opened(conn.listener_tag());
  // Behind a PROXY header the client is not known yet: no session, no limit
  // slot until the header arrives (client_known()).
  if (!awaiting_proxy_) client_known();
}

InboundSession::~InboundSession() {
  if (timer_ != 0) shard_.reactor.cancel_timer(timer_);
  if (auth_timer_ != 0) shard_.reactor.cancel_timer(auth_timer_);
  shard_.sessions.erase(number_);
  if (counted_) shard_.limiter->release(client_.ip());
  metrics::local().connection_closed(conn_.listener_tag());
}

// The client address is settled (the peer, or the PROXY header's source).
void InboundSession::client_known() {
  session_ = std::make_unique<smtp::ServerSession>(shard_.smtp, client_info(shard_, conn_, client_), session_hooks(shard_));
  if (shard_.limiter) {
    limit_ = shard_.limiter->acquire(client_.ip());
    counted_ = limit_ == ConnectionLimiter::Verdict::Ok;
  }
}

// limits.max_connections / max_connections_per_ip: 421 and close before any
// TLS or SMTP state is set up. A submissions (implicit TLS) client would not
// understand a plaintext reply, so it just sees the connection close.
bool InboundSession::refused_by_limit() {
  if (limit_ == ConnectionLimiter::Verdict::Ok) return false;
  const bool per_address = limit_ == ConnectionLimiter::Verdict::TooManyFromAddress;
  spdlog::warn("connection from [{}] refused: too many connections{}", client_.ip(),
               per_address ? " from this address (limits.max_connections_per_ip)" : " (limits.max_connections)");
  const int tag = conn_.listener_tag();
  const auto& listeners = shard_.config->listeners;
  const bool implicit_tls = tag >= 0 && static_cast<size_t>(tag) < listeners.size() &&
                            listeners[static_cast<size_t>(tag)].kind == ListenerKind::Submissions;
  if (!implicit_tls)
    conn_.send("421 4.7.0 " + shard_.config->server.hostname + " Error: too many connections" +
               (per_address ? " from your address" : "") + "\r\n");
  closing_ = true;
  conn_.close();
  return true;
}

void InboundSession::start_auth() {
  const smtp::AuthRequest& req = session_->auth_request();
  if (!shard_.auth) {  // AUTH is only offered with a users file; be safe anyway
    act(session_->auth_done(smtp::AuthResult::TempFail));
    return;
  }
  // The verdict comes back on this shard; the session may be gone by then.
  ShardContext* shard = &shard_;
  const uint64_t number = number_;
  shard_.auth->check(shard_.reactor, client_.ip(), req.user, req.password, [shard, number](AuthVerdict v) {
    auto it = shard->sessions.find(number);
    if (it != shard->sessions.end()) it->second->auth_finished(std::move(v));
  });
}

// A failure's throttling delay is a timer on this shard (nothing sleeps).
void InboundSession::auth_finished(AuthVerdict v) {
  if (closing_) return;
  if (v.result == smtp::AuthResult::Invalid || v.result == smtp::AuthResult::TooManyFailures)
    ++metrics::local().auth_failures;
  if (v.delay.count() > 0) {
    auth_timer_ = shard_.reactor.add_timer(v.delay, [this, result = v.result, senders = std::move(v.senders)]() mutable {
      auth_timer_ = 0;
      if (closing_) return;
      last_activity_ = engine::Clock::now();
      act(session_->auth_done(result, std::move(senders)));
    });
    return;
  }
  last_activity_ = engine::Clock::now();
  act(session_->auth_done(v.result, std::move(v.senders)));
}

// A command line must be complete within command_timeout of its first byte:
// activity alone does not extend it, so a client trickling one byte a second
// cannot hold the connection (and its buffer) open for ever.
void InboundSession::note_partial_command() {
  const auto phase = session_->phase();
  const bool partial = (phase == smtp::Phase::Command || phase == smtp::Phase::Auth) && session_->buffered_input() > 0;
  if (!partial) {
    partial_since_ = {};
    return;
  }
  if (partial_since_ != engine::Clock::time_point{}) return;
  partial_since_ = engine::Clock::now();
  if (timer_ != 0 && !closing_) {  // the armed timer may be a (longer) data timeout
    shard_.reactor.cancel_timer(timer_);
    arm_timer();
  }
}

engine::Clock::time_point InboundSession::deadline() const {
  auto d = last_activity_ + current_timeout();
  if (partial_since_ != engine::Clock::time_point{})
    d = std::min(d, partial_since_ + shard_.config->limits.command_timeout);
  return d;
}

void InboundSession::on_open(engine::Connection&) {
  last_activity_ = engine::Clock::now();
  if (awaiting_proxy_) {
    if (shard_.shutting_down) {
      closing_ = true;
      conn_.close();
      return;
    }
    arm_timer();  // the header must arrive within command_timeout
    return;
  }
  begin();
}

// The client is known: log the connection, apply the limits, then greet
// (or, on a submissions listener, wait for the TLS handshake).
void InboundSession::begin() {
  spdlog::info("connect client=[{}]:{}, session={}, listener={}{}", client_.ip(), client_.port(), number_,
               listener_text(shard_, conn_), proxied_ ? ", proxy=[" + conn_.peer().ip() + "]:" + std::to_string(conn_.peer().port()) : "");
  if (refused_by_limit()) return;
  if (implicit_tls_) {
    // RFC 8314: the handshake comes first, the greeting after it (handshake_finished()).
    if (shard_.shutting_down || !start_tls()) {
      closing_ = true;
      conn_.close();
      return;
    }
    arm_timer();
    return;
  }
  session_->start();
  if (shard_.shutting_down) {
    act(session_->on_shutdown());
    return;
  }
  flush();
  arm_timer();
}

void InboundSession::on_data(engine::Connection&, std::string_view bytes) {
  if (closing_) return;
  last_activity_ = engine::Clock::now();
  if (awaiting_proxy_) {
    on_proxy_bytes(bytes);
    return;
  }
  if (tls_) {
    on_ciphertext(bytes);
    return;
  }
  act(session_->feed(bytes));
}

// proxy_protocol listeners: the first bytes must be a PROXY v1/v2 header
// (relay/proto/proxy_protocol.h). Its source address replaces the load
// balancer's for everything after: policy, limits, logs, metrics, Received:.
void InboundSession::on_proxy_bytes(std::string_view bytes) {
  proxy_buf_.append(bytes);  // bounded: the parser decides within 107 / 64 KiB + 16 bytes
  const smtp::ProxyParse p = smtp::parse_proxy_header(proxy_buf_);
  if (p.status == smtp::ProxyStatus::NeedMore) return;
  if (p.status == smtp::ProxyStatus::Invalid) return refuse_proxy(p.error);
  if (!p.header.local) {  // LOCAL / UNKNOWN (health checks): keep the peer address
    auto source = engine::SocketAddress::from_ip(p.header.source_ip, p.header.source_port);
    if (!source) return refuse_proxy("unusable source address " + p.header.source_ip);
    client_ = *source;
    proxied_ = true;
  }
  awaiting_proxy_ = false;
  std::string rest = proxy_buf_.substr(p.consumed);
  proxy_buf_ = std::string();
  if (timer_ != 0) {
    shard_.reactor.cancel_timer(timer_);
    timer_ = 0;
  }
  client_known();
  begin();
  if (!closing_ && !rest.empty()) on_data(conn_, rest);  // the client spoke right after the header
}

void InboundSession::refuse_proxy(const std::string& why) {
  ++metrics::local().proxy_refused;
  spdlog::warn("PROXY protocol: connection refused: client=[{}]:{} listener={} ({})", conn_.peer().ip(),
               conn_.peer().port(), listener_text(shard_, conn_), why);
  closing_ = true;
  conn_.close();
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
    if (!tls_->handshake_done()) metrics::local().tls_handshake("inbound", "", false);
    spdlog::info("session {} [{}]:{}: TLS {}failed: {}", number_, client_.ip(), client_.port(),
                 tls_->handshake_done() ? "" : "handshake ", tls_->error());
    closing_ = true;
    conn_.close();  // the alert (if any) is already queued
    return;
  }
  if (!tls_reported_ && tls_->handshake_done()) handshake_finished();
  if (closing_) return;
  if (!plaintext.empty()) act(session_->feed(plaintext));
  if (!closing_ && state == tls::Session::State::Closed) {
    closing_ = true;  // the client's close_notify was answered by tls_
    if (tls_->has_output()) conn_.send(tls_->take_output());
    conn_.close();
  }
}

void InboundSession::handshake_finished() {
  tls_reported_ = true;
  metrics::local().tls_handshake("inbound", tls_->version(), true);
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

void InboundSession::on_closed(engine::Connection&, int error) {
  closing_ = true;
  if (error != 0) {
    spdlog::debug("session {} [{}]: connection error: {}", number_, client_.ip(), std::strerror(error));
  }
  if (timer_ != 0) {
    shard_.reactor.cancel_timer(timer_);
    timer_ = 0;
  }
}

void InboundSession::shutdown() {
  if (closing_) return;
  if (!session_) {  // still waiting for a PROXY header: nothing to finish
    closing_ = true;
    conn_.close();
    return;
  }
  act(session_->on_shutdown());
}

void InboundSession::abort() {
  closing_ = true;
  conn_.abort();
}

void InboundSession::act(smtp::Action action) {
  // Transaction timing starts when the bytes carrying MAIL arrived.
  if (!session_->in_transaction())
    txn_started_ = {};
  else if (txn_started_ == engine::Clock::time_point{})
    txn_started_ = last_activity_;
  flush();
  note_partial_command();
  switch (action) {
    case smtp::Action::NeedInput:
      if (paused_) {
        paused_ = false;
        conn_.resume_reading();
      }
      break;
    case smtp::Action::Commit:
      start_commit();
      break;
    case smtp::Action::AuthCheck:
      start_auth();
      break;
    case smtp::Action::Close:
      closing_ = true;
      if (tls_ && tls_->handshake_done()) {
        tls_->close();  // close_notify after the last reply
        if (tls_->has_output()) conn_.send(tls_->take_output());
      }
      conn_.close();
      break;
    case smtp::Action::StartTls:
      // The 220 went out in plaintext just above; from here on every byte
      // is TLS. The session already dropped anything pipelined after STARTTLS.
      if (!start_tls()) {
        closing_ = true;
        conn_.close();
      }
      break;
  }
}

void InboundSession::flush() {
  if (!session_->has_output()) return;
  std::string out = session_->take_output();
  if (!tls_) {
    conn_.send(std::move(out));
    return;
  }
  // Once TLS has started nothing is ever sent in clear; replies produced
  // during the handshake (a timeout's 421) are dropped with the connection.
  if (!tls_->handshake_done()) return;
  tls_->write(out);
  if (tls_->has_output()) conn_.send(tls_->take_output());
}

void InboundSession::start_commit() {
  smtp::Transaction& txn = session_->transaction();
  const int64_t now_ms = unix_ms_now();
  queue::Batch batch;
  committing_size_ = txn.message.size();
  // Build the envelope before the message is moved out (argument evaluation
  // order is unspecified, so not in the same call).
  queue::Envelope envelope = make_envelope(txn, now_ms);
  envelope.client_address = client_.ip();
  // The scheduler delivers fresh messages from memory (no queue read): keep
  // the envelope and a copy of the body for it.
  std::shared_ptr<const std::string> body;
  std::shared_ptr<const queue::Envelope> env_copy;
  if (shard_.scheduler && shard_.scheduler->has_room(txn.message.size())) {
    body = std::make_shared<const std::string>(txn.message);
    env_copy = std::make_shared<const queue::Envelope>(envelope);
  }
  batch.put_message(std::move(envelope), std::move(txn.message));
  txn.message.clear();

  // Completion runs on the commit thread: hop back to this shard, then find
  // the session by number (it may have gone away meanwhile).
  engine::Reactor* reactor = &shard_.reactor;
  ShardContext* shard = &shard_;
  const uint64_t number = number_;
  shard_.queue.commit(std::move(batch), [reactor, shard, number, now_ms, body, env_copy](queue::Status status) {
    reactor->post([shard, number, now_ms, status = std::move(status), body, env_copy] {
      if (status.ok() && body && shard->scheduler) shard->scheduler->submit_new(*env_copy, body);
      auto it = shard->sessions.find(number);
      if (it == shard->sessions.end()) {
        // The client vanished before hearing the result. The message is
        // queued (or not) all the same; delivery is at-least-once.
        if (!status.ok()) ++shard->counters.commit_failures;
        return;
      }
      it->second->commit_finished(status, now_ms);
    });
  });

  if (session_->buffered_input() > kMaxBufferedInput && !paused_) {
    paused_ = true;
    conn_.pause_reading();
  }
}

void InboundSession::commit_finished(const queue::Status& status, int64_t started_ms) {
  const smtp::Transaction& txn = session_->transaction();
  if (status.ok()) {
    ++shard_.counters.messages_accepted;
    if (txn_started_ != engine::Clock::time_point{})
      metrics::local().smtp_transaction.observe(
          std::chrono::duration<double>(engine::Clock::now() - txn_started_).count());
    txn_started_ = {};
    std::string rcpts;
    for (const auto& r : txn.recipients) {
      if (!rcpts.empty()) rcpts += ',';
      rcpts += '<';
      rcpts += r.address;
      rcpts += '>';
    }
    spdlog::info("{}: accepted client=[{}]:{}, from=<{}>, size={}, nrcpt={}, to={}, commit={}ms", txn.queue_id,
                 client_.ip(), client_.port(), txn.sender, committing_size_,
                 txn.recipients.size(), rcpts, unix_ms_now() - started_ms);
  } else {
    ++shard_.counters.commit_failures;
    spdlog::error("{}: queue write failed for client [{}]: {}", txn.queue_id, client_.ip(), status.message);
  }
  if (closing_) return;
  last_activity_ = engine::Clock::now();
  act(session_->commit_done(status.ok(), status.ok() ? std::string_view{} : commit_error_reply(status)));
}

std::chrono::seconds InboundSession::current_timeout() const {
  if (!session_) return shard_.config->limits.command_timeout;  // waiting for a PROXY header
  const auto phase = session_->phase();
  const auto& limits = shard_.config->limits;
  return (phase == smtp::Phase::Data || phase == smtp::Phase::Bdat) ? limits.data_timeout : limits.command_timeout;
}

// One timer per session, re-armed lazily: activity only stamps last_activity_,
// and the timer, when it fires, sleeps again for whatever time is left. This
// keeps timer churn off the per-read path.
void InboundSession::arm_timer() {
  const auto when = deadline();
  auto now = engine::Clock::now();
  auto wait = when > now ? when - now : engine::Clock::duration::zero();
  timer_ = shard_.reactor.add_timer(wait, [this] {
    timer_ = 0;
    on_timer();
  });
}

void InboundSession::on_timer() {
  if (closing_) return;
  if (awaiting_proxy_) {
    if (engine::Clock::now() < deadline()) return arm_timer();
    return refuse_proxy("no PROXY header within " + std::to_string(shard_.config->limits.command_timeout.count()) + "s");
  }
  if (session_->phase() == smtp::Phase::AwaitCommit || session_->phase() == smtp::Phase::AwaitAuth) {
    // The queue (or the password check) owes us an answer; the client is not idle, we are.
    last_activity_ = engine::Clock::now();
    arm_timer();
    return;
  }
  if (engine::Clock::now() < deadline()) {
    arm_timer();
    return;
  }
  spdlog::info("timeout after {} from [{}]", session_->phase() == smtp::Phase::Command ? "command" : "data",
               client_.ip());
  act(session_->on_timeout());
}

engine::HandlerFactory inbound_factory(ShardContext& shard) {
  return [&shard](engine::Connection& conn) -> std::unique_ptr<engine::ConnectionHandler> {
    return std::make_unique<InboundSession>(shard, conn);
  };
}

}  // namespace ringmta::relay
