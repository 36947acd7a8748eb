// relay/inbound.cpp — see inbound.h: the life of one inbound connection —
// open, limits, PROXY header, greeting, bytes into the SMTP session and its
// replies out, the inactivity timers, close and shutdown.
//
// Split: the parts where the session waits for something else live apart —
// inbound_commit.cpp (the queue commit on the commit thread, posted back
// before the 250) and inbound_tls_auth.cpp (the TLS layer and the SMTP AUTH
// password check); this file is the flow that ties them together.
#include "relay/inbound.h"
#include "relay/local_recipients.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <ctime>

#include "proto/proxy/proxy_protocol.h"
#include "auth/auth.h"
#include "limits/conn_limits.h"
#include "limits/disk_guard.h"
#include "telemetry/metrics.h"

namespace ringmta::relay {

namespace {

config::ListenerKind listener_kind(ShardContext& shard, engine::Connection& conn) {
  const int tag = conn.listener_tag();
  const auto& listeners = shard.config->listeners;
  return tag >= 0 && static_cast<size_t>(tag) < listeners.size() ? listeners[tag].kind : config::ListenerKind::Smtp;
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
  info.starttls_available = shard.tls && listener_kind(shard, conn) != config::ListenerKind::Submissions;
  info.address = client.ip();
  info.trusted = any_contains(shard.config->relay.trusted_networks, client);
  const int tag = conn.listener_tag();
  if (tag >= 0 && static_cast<size_t>(tag) < shard.config->listeners.size()) {
    const config::ListenerConfig& l = shard.config->listeners[static_cast<size_t>(tag)];
    info.allow_plaintext_auth = l.allow_plaintext_auth;
    // RFC 6409 submission: no mail without AUTH, whatever the network.
    info.auth_required = l.kind == config::ListenerKind::Submission || l.kind == config::ListenerKind::Submissions;
  }
  return info;
}

smtp::Hooks session_hooks(ShardContext& shard) {
  smtp::Hooks hooks;
  hooks.new_queue_id = [&shard] { return shard.ids.next(); };
  hooks.now_unix = [] { return static_cast<int64_t>(::time(nullptr)); };
  if (limits::DiskGuard* disk = shard.disk) {
    hooks.storage_low = [disk] {
      if (!disk->low()) return false;
      disk->count_refusal();
      return true;
    };
  }
  if (LocalDirectory* dir = shard.directory) {
    const mailbox::Service* boxes = shard.mailboxes;
    hooks.check_recipient = [dir, boxes](const std::string& address, uint64_t declared_size) {
      return check_local_recipient(*dir, boxes, address, declared_size);
    };
  }
  return hooks;
}

}  // namespace

InboundSession::InboundSession(ShardContext& shard, engine::Connection& conn)
    : shard_(shard),
      conn_(conn),
      client_(conn.peer()),
      number_(shard.next_session++),
      implicit_tls_(listener_kind(shard, conn) == config::ListenerKind::Submissions),
      awaiting_proxy_(proxy_listener(shard, conn)) {
  shard_.sessions.emplace(number_, this);
  ++shard_.counters.connections;
  telemetry::local().connection_opened(conn.listener_tag());
  // Behind a PROXY header the client is not known yet: no session, no limit
  // slot until the header arrives (client_known()).
  if (!awaiting_proxy_) client_known();
}

InboundSession::~InboundSession() {
  if (timer_ != 0) shard_.reactor.cancel_timer(timer_);
  if (auth_timer_ != 0) shard_.reactor.cancel_timer(auth_timer_);
  if (close_timer_ != 0) shard_.reactor.cancel_timer(close_timer_);
  release_budget();
  shard_.sessions.erase(number_);
  if (counted_) shard_.limiter->release(client_.ip());
  telemetry::local().connection_closed(conn_.listener_tag());
}

// The client address is settled (the peer, or the PROXY header's source).
void InboundSession::client_known() {
  smtp::Hooks hooks = session_hooks(shard_);
  hooks.admit_tls = [this] { return admit_handshake(); };
  session_ = std::make_unique<smtp::ServerSession>(shard_.smtp, client_info(shard_, conn_, client_), std::move(hooks));
  if (shard_.limiter) {
    limit_ = shard_.limiter->acquire(client_.ip());
    counted_ = limit_ == limits::ConnectionLimiter::Verdict::Ok;
  }
}

// limits.max_connections / max_connections_per_ip: 421 and close before any
// TLS or SMTP state is set up. A submissions (implicit TLS) client would not
// understand a plaintext reply, so it just sees the connection close.
bool InboundSession::refused_by_limit() {
  if (limit_ == limits::ConnectionLimiter::Verdict::Ok) return false;
  const bool per_address = limit_ == limits::ConnectionLimiter::Verdict::TooManyFromAddress;
  spdlog::warn("connection from [{}] refused: too many connections{}", client_.ip(),
               per_address ? " from this address (limits.max_connections_per_ip)" : " (limits.max_connections)");
  const int tag = conn_.listener_tag();
  const auto& listeners = shard_.config->listeners;
  const bool implicit_tls = tag >= 0 && static_cast<size_t>(tag) < listeners.size() &&
                            listeners[static_cast<size_t>(tag)].kind == config::ListenerKind::Submissions;
  if (!implicit_tls)
    conn_.send("421 4.7.0 " + shard_.config->server.hostname + " Error: too many connections" +
               (per_address ? " from your address" : "") + "\r\n");
  close_connection();
  return true;
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
  // The body as a whole, so a client dripping a byte now and then cannot
  // hold a large body open for hours (inbound_flow.cpp).
  return std::min(d, body_deadline());
}

void InboundSession::on_open(engine::Connection&) {
  last_activity_ = engine::Clock::now();
  if (awaiting_proxy_) {
    if (shard_.shutting_down) {
      close_connection();
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
    if (shard_.shutting_down || !admit_handshake() || !start_tls()) {
      close_connection();
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
  reserve_body(bytes.size());
  act(session_->feed(bytes));
}

// proxy_protocol listeners: the first bytes must be a PROXY v1/v2 header
// (proto/proxy/proxy_protocol.h). Its source address replaces the load
// balancer's for everything after: policy, limits, logs, metrics, Received:.
void InboundSession::on_proxy_bytes(std::string_view bytes) {
  proxy_buf_.append(bytes);  // bounded: the parser decides within 107 / 64 KiB + 16 bytes
  const proxy::ProxyParse p = proxy::parse_proxy_header(proxy_buf_);
  if (p.status == proxy::ProxyStatus::NeedMore) return;
  if (p.status == proxy::ProxyStatus::Invalid) return refuse_proxy(p.error);
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
  ++telemetry::local().proxy_refused;
  spdlog::warn("PROXY protocol: connection refused: client=[{}]:{} listener={} ({})", conn_.peer().ip(),
               conn_.peer().port(), listener_text(shard_, conn_), why);
  close_connection();
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
  if (close_timer_ != 0) {
    shard_.reactor.cancel_timer(close_timer_);
    close_timer_ = 0;
  }
  release_budget();
}

void InboundSession::shutdown() {
  if (closing_) return;
  if (!session_) {  // still waiting for a PROXY header: nothing to finish
    close_connection();
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
      break;
    case smtp::Action::Commit:
      // queue.min_free_space: the disk filled up while this message came
      // in. Nothing is written; the client gets 452 4.3.1 and may retry.
      if (shard_.disk && shard_.disk->low()) {
        shard_.disk->count_refusal();
        spdlog::warn("{}: refused at end of data for client [{}]: {}", session_->transaction().queue_id,
                     client_.ip(), limits::kInsufficientStorageReply);
        return act(session_->commit_done(false, limits::kInsufficientStorageReply));
      }
      start_commit();
      break;
    case smtp::Action::AuthCheck:
      start_auth();
      break;
    case smtp::Action::Close:
      if (tls_ && tls_->handshake_done()) {
        tls_->close();  // close_notify after the last reply
        if (tls_->has_output()) conn_.send(tls_->take_output());
      }
      close_connection();
      return;
    case smtp::Action::StartTls:
      // The 220 went out in plaintext just above; from here on every byte
      // is TLS. The session already dropped anything pipelined after STARTTLS.
      if (!start_tls()) {
        close_connection();
        return;
      }
      break;
  }
  update_flow();
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
  if (session_->phase() == smtp::Phase::AwaitCommit || session_->phase() == smtp::Phase::AwaitAuth ||
      budget_wait_) {
    // The queue (or the password check, or the in-flight budget) owes us an
    // answer; the client is not idle, we are.
    last_activity_ = engine::Clock::now();
    arm_timer();
    return;
  }
  if (engine::Clock::now() < deadline() ||
      (engine::Clock::now() < last_activity_ + current_timeout() && next_rate_window())) {
    arm_timer();
    return;
  }
  const bool body = body_started_ != engine::Clock::time_point{};
  spdlog::info("timeout after {} from [{}]{}", body ? "data" : session_->phase() == smtp::Phase::Command ? "command" : "data",
               client_.ip(), body && engine::Clock::now() < last_activity_ + current_timeout()
                                 ? " (body slower than limits.min_data_rate)" : "");
  act(session_->on_timeout());
}

engine::HandlerFactory inbound_factory(ShardContext& shard) {
  return [&shard](engine::Connection& conn) -> std::unique_ptr<engine::ConnectionHandler> {
    return std::make_unique<InboundSession>(shard, conn);
  };
}

}  // namespace ringmta::relay
