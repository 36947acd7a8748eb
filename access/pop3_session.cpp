// access/pop3_session.cpp — see pop3_session.h: the life of one POP3
// connection — open, limits, PROXY header, greeting, bytes into the session
// and its responses out (bounded by back-pressure), the autologout timer,
// close and shutdown.
//
// Split like relay/inbound*.cpp: pop3_session_tls_auth.cpp (TLS layer,
// password check) and pop3_session_store.cpp (maildrop lock, snapshot,
// bodies, the QUIT commit); this file ties them together.
#include "access/pop3_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "config/cidr.h"
#include "mail/address.h"
#include "mail/aliases.h"
#include "proto/proxy/proxy_protocol.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

namespace {

// Output queued on the socket beyond which a session produces nothing more
// (RETR chunks, LIST lines, pipelined commands) until it drained: the memory
// a client that does not read can pin is this plus one fetch chunk.
constexpr size_t kOutputCap = 128 * 1024;
// How long an orderly close may wait for the client to take our last reply.
constexpr auto kCloseGrace = std::chrono::seconds(10);

const config::ListenerConfig* listener_of(Pop3Shard& shard, engine::Connection& conn) {
  const int tag = conn.listener_tag();
  const auto& l = shard.config->listeners;
  return tag >= 0 && static_cast<size_t>(tag) < l.size() ? &l[static_cast<size_t>(tag)] : nullptr;
}

}  // namespace

std::shared_ptr<const pop3::ServerConfig> make_pop3_config(const config::Config& config) {
  auto c = std::make_shared<pop3::ServerConfig>();
  c->hostname = config.server.hostname;
  c->max_errors = config.pop3.max_errors;
  return c;
}

std::string maildrop_owner(std::string_view login, const std::vector<std::string>& local_domains) {
  // The key local delivery files mail under (mail::canonical_user): lower
  // case, a bare name at the first local domain; other domains have none.
  if (local_domains.empty()) return "";
  std::string owner = mail::canonical_user(login, local_domains.front());
  if (owner.empty()) return "";
  const std::string_view domain = mail::domain_of(owner);
  if (std::find(local_domains.begin(), local_domains.end(), domain) == local_domains.end()) return "";
  return owner;
}

void Pop3Shard::shutdown(bool hard) {
  std::vector<uint64_t> numbers;
  numbers.reserve(sessions.size());
  for (const auto& [n, s] : sessions) numbers.push_back(n);
  for (uint64_t n : numbers) {
    auto it = sessions.find(n);  // an earlier abort may have removed it
    if (it == sessions.end()) continue;
    if (hard) it->second->abort();
    else it->second->shutdown();
  }
}

Pop3Session::Pop3Session(Pop3Shard& shard, engine::Connection& conn)
    : shard_(shard), conn_(conn), client_(conn.peer()), number_(shard.next_session++) {
  const config::ListenerConfig* l = listener_of(shard, conn);
  implicit_tls_ = l && l->kind == config::ListenerKind::Pop3s;
  awaiting_proxy_ = l && l->proxy_protocol;
  shard_.sessions.emplace(number_, this);
  telemetry::local().connection_opened(conn.listener_tag());
  if (!awaiting_proxy_) client_known();
}

Pop3Session::~Pop3Session() {
  if (timer_ != 0) shard_.reactor->cancel_timer(timer_);
  if (auth_timer_ != 0) shard_.reactor->cancel_timer(auth_timer_);
  if (close_timer_ != 0) shard_.reactor->cancel_timer(close_timer_);
  release_lock();
  if (!owner_.empty())
    spdlog::info("pop3 logout user={} client=[{}] session={} retr={} dele={} bytes={}", owner_, client_.ip(),
                 number_, retrieved_, deleted_, bytes_sent_);
  shard_.sessions.erase(number_);
  if (counted_) shard_.limiter->release(client_.ip());
  telemetry::local().connection_closed(conn_.listener_tag());
}

// Unique across shards (Service::lock): the shard in the top 16 bits.
uint64_t Pop3Session::holder() const {
  return (static_cast<uint64_t>(shard_.reactor->shard_id()) + 1) << 48 | number_;
}

void Pop3Session::client_known() {
  const config::ListenerConfig* l = listener_of(shard_, conn_);
  pop3::ClientInfo info;
  info.address = client_.ip();
  info.tls_active = implicit_tls_;
  info.stls_available = shard_.tls && !implicit_tls_;
  info.allow_plaintext_auth = shard_.config->pop3.allow_plaintext_auth || (l && l->allow_plaintext_auth);
  pop3::Hooks hooks;
  hooks.admit_tls = [this] { return admit_handshake(); };
  session_ = std::make_unique<pop3::ServerSession>(shard_.pop3, std::move(info), std::move(hooks));
  if (shard_.limiter) {
    limit_ = shard_.limiter->acquire(client_.ip());
    counted_ = limit_ == limits::ConnectionLimiter::Verdict::Ok;
  }
}

// limits.max_connections / max_connections_per_ip, shared with SMTP.
bool Pop3Session::refused_by_limit() {
  if (limit_ == limits::ConnectionLimiter::Verdict::Ok) return false;
  const bool per_address = limit_ == limits::ConnectionLimiter::Verdict::TooManyFromAddress;
  spdlog::warn("pop3 connection from [{}] refused: too many connections{}", client_.ip(),
               per_address ? " from this address (limits.max_connections_per_ip)" : " (limits.max_connections)");
  if (!implicit_tls_) conn_.send("-ERR [SYS/TEMP] Too many connections, try again later\r\n");
  close_connection();
  return true;
}

void Pop3Session::on_open(engine::Connection&) {
  last_activity_ = engine::Clock::now();
  if (awaiting_proxy_) {
    if (shard_.shutting_down) return close_connection();
    arm_timer();  // the header must arrive within limits.command_timeout
    return;
  }
  begin();
}

void Pop3Session::begin() {
  const config::ListenerConfig* l = listener_of(shard_, conn_);
  spdlog::info("pop3 connect client=[{}]:{}, session={}, listener={}{}", client_.ip(), client_.port(), number_,
               l ? l->address_text : "?",
               proxied_ ? ", proxy=[" + conn_.peer().ip() + "]:" + std::to_string(conn_.peer().port()) : "");
  if (refused_by_limit()) return;
  ++telemetry::local().pop3_sessions;
  if (implicit_tls_) {
    // RFC 8314: the handshake first, the greeting after it (handshake_finished()).
    if (shard_.shutting_down || !admit_handshake() || !start_tls()) return close_connection();
    arm_timer();
    return;
  }
  session_->start();
  if (shard_.shutting_down) return act(session_->on_shutdown());
  act(pop3::Action::NeedInput);
  arm_timer();
}

void Pop3Session::on_data(engine::Connection&, std::string_view bytes) {
  if (closing_) return;
  last_activity_ = engine::Clock::now();
  if (awaiting_proxy_) return on_proxy_bytes(bytes);
  if (tls_) return on_ciphertext(bytes);
  act(session_->feed(bytes));
}

// proxy_protocol listeners: as relay/inbound.cpp — the header's source
// address replaces the load balancer's for limits, throttling and logs.
void Pop3Session::on_proxy_bytes(std::string_view bytes) {
  proxy_buf_.append(bytes);  // bounded: the parser decides within 107 / 64 KiB + 16 bytes
  const proxy::ProxyParse p = proxy::parse_proxy_header(proxy_buf_);
  if (p.status == proxy::ProxyStatus::NeedMore) return;
  if (p.status == proxy::ProxyStatus::Invalid) return refuse_proxy(p.error);
  if (!p.header.local) {
    auto source = engine::SocketAddress::from_ip(p.header.source_ip, p.header.source_port);
    if (!source) return refuse_proxy("unusable source address " + p.header.source_ip);
    client_ = *source;
    proxied_ = true;
  }
  awaiting_proxy_ = false;
  std::string rest = proxy_buf_.substr(p.consumed);
  proxy_buf_ = std::string();
  if (timer_ != 0) {
    shard_.reactor->cancel_timer(timer_);
    timer_ = 0;
  }
  client_known();
  begin();
  if (!closing_ && !rest.empty()) on_data(conn_, rest);
}

void Pop3Session::refuse_proxy(const std::string& why) {
  ++telemetry::local().proxy_refused;
  const config::ListenerConfig* l = listener_of(shard_, conn_);
  spdlog::warn("PROXY protocol: connection refused: client=[{}]:{} listener={} ({})", conn_.peer().ip(),
               conn_.peer().port(), l ? l->address_text : "?", why);
  close_connection();
}

void Pop3Session::on_closed(engine::Connection&, int error) {
  if (error != 0 && !closing_)
    spdlog::debug("pop3 session {} [{}]: connection error: {}", number_, client_.ip(), std::strerror(error));
  closing_ = true;
  if (timer_ != 0) shard_.reactor->cancel_timer(timer_);
  if (close_timer_ != 0) shard_.reactor->cancel_timer(close_timer_);
  timer_ = close_timer_ = 0;
}

void Pop3Session::shutdown() {
  if (closing_) return;
  if (!session_ || (implicit_tls_ && !tls_reported_)) return close_connection();
  act(session_->on_shutdown());
}

void Pop3Session::abort() {
  closing_ = true;
  conn_.abort();
}

// Runs the session's actions until it waits for the client, the host or the
// socket. A loop, not recursion: answers from memory (a kept body, a
// drained LIST) come back at once. Every turn sends output, and the loop
// stops once kOutputCap is queued, so it is bounded by the output.
void Pop3Session::act(pop3::Action action) {
  for (int turn = 0; turn < 1000 && !closing_; ++turn) {
    flush();
    if (closing_) return;
    switch (action) {
      case pop3::Action::NeedInput:
        if (session_->phase() == pop3::Phase::OutputFull) {
          if (conn_.pending_output() >= kOutputCap) {
            wait_drain_ = true;
            break;
          }
          action = session_->resume();
          continue;
        }
        break;
      case pop3::Action::Close:
        if (tls_ && tls_->handshake_done()) {
          tls_->close();  // close_notify after the last response
          if (tls_->has_output()) conn_.send(tls_->take_output());
        }
        return close_connection();
      case pop3::Action::AuthCheck:
        start_auth();
        break;
      case pop3::Action::LoadMaildrop:
        start_load();
        break;
      case pop3::Action::Fetch:
        action = fetch();
        if (action != pop3::Action::NeedInput || session_->phase() != pop3::Phase::AwaitMessage) continue;
        break;
      case pop3::Action::Commit:
        start_commit();
        break;
      case pop3::Action::StartTls:
        // The +OK went out in plaintext just above; from here on only TLS.
        if (!start_tls()) return close_connection();
        break;
    }
    break;
  }
  if (!closing_ && conn_.pending_output() >= kOutputCap) wait_drain_ = true;
  update_reading();
}

void Pop3Session::flush() {
  if (!session_ || !session_->has_output()) return;
  std::string out = session_->take_output();
  if (!tls_) {
    conn_.send(std::move(out));
    return;
  }
  if (!tls_->handshake_done()) return;  // nothing in clear once TLS started
  tls_->write(out);
  if (tls_->has_output()) conn_.send(tls_->take_output());
}

void Pop3Session::update_reading() {
  if (closing_ || !session_) return;
  // During STLS's handshake the session wants nothing, but TLS does.
  const bool handshaking = session_->phase() == pop3::Phase::TlsHandshake;
  const bool on = (session_->wants_input() || handshaking) && !wait_drain_;
  if (on == !paused_) return;
  paused_ = !on;
  if (paused_) conn_.pause_reading();
  else conn_.resume_reading();
}

// Our output reached the kernel: continue what waited for it.
void Pop3Session::on_drained(engine::Connection&) {
  if (closing_ || !session_ || !wait_drain_) return;
  wait_drain_ = false;
  last_activity_ = engine::Clock::now();  // the client is reading
  if (fetch_waiting_) {
    fetch_waiting_ = false;
    return act(pop3::Action::Fetch);
  }
  act(session_->resume());
}

void Pop3Session::close_connection() {
  if (close_timer_ == 0 && !closing_)
    close_timer_ = shard_.reactor->add_timer(kCloseGrace, [this] {
      close_timer_ = 0;
      conn_.abort();
    });
  closing_ = true;
  conn_.close();
}

// The autologout (pop3.autologout, RFC 1939 §3) while the session waits for
// the client — for a command, or to read our output. Before the session
// proper (PROXY header, implicit TLS handshake): limits.command_timeout.
engine::Clock::time_point Pop3Session::deadline() const {
  const bool before = awaiting_proxy_ || (tls_ && !tls_->handshake_done());
  const auto limit = before ? shard_.config->limits.command_timeout : shard_.config->pop3.autologout;
  return last_activity_ + limit;
}

// One timer per session, re-armed lazily (activity only stamps last_activity_).
void Pop3Session::arm_timer() {
  const auto now = engine::Clock::now();
  const auto when = deadline();
  timer_ = shard_.reactor->add_timer(when > now ? when - now : engine::Clock::duration::zero(), [this] {
    timer_ = 0;
    on_timer();
  });
}

void Pop3Session::on_timer() {
  if (closing_) return;
  if (engine::Clock::now() < deadline()) return arm_timer();
  if (awaiting_proxy_) return refuse_proxy("no PROXY header in time (limits.command_timeout)");
  const auto phase = session_->phase();
  const bool waits_for_us = !wait_drain_ && phase != pop3::Phase::Command && phase != pop3::Phase::SaslResponse &&
                            phase != pop3::Phase::TlsHandshake;
  if (waits_for_us) {  // the store or the password check owes the answer, not the client
    last_activity_ = engine::Clock::now();
    return arm_timer();
  }
  spdlog::info("pop3 session {} [{}]: autologout after {}s idle", number_, client_.ip(),
               std::chrono::duration_cast<std::chrono::seconds>(engine::Clock::now() - last_activity_).count());
  if (wait_drain_ || phase == pop3::Phase::TlsHandshake) return close_connection();
  act(session_->on_timeout());
}

engine::HandlerFactory pop3_factory(Pop3Shard& shard) {
  return [&shard](engine::Connection& conn) -> std::unique_ptr<engine::ConnectionHandler> {
    return std::make_unique<Pop3Session>(shard, conn);
  };
}

}  // namespace ringmta::access
