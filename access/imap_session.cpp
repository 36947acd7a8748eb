// access/imap_session.cpp — see imap_session.h: the life of one IMAP
// connection — open, limits, PROXY header, greeting, the TLS and COMPRESS
// layers, commands one at a time in order, the autologout timer, close.
#include "access/imap_session.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "compress/deflate.h"
#include "proto/proxy/proxy_protocol.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

namespace {

// Output queued on the socket beyond which a FETCH produces nothing more
// until it drained: the memory a client that does not read can pin.
constexpr size_t kOutputCap = 256 * 1024;
// Input a client may queue behind a running command (pipelining) before we
// stop reading: the assembler holds at most this plus one literal.
constexpr size_t kInputCap = 64 * 1024;
constexpr auto kCloseGrace = std::chrono::seconds(10);

const config::ListenerConfig* listener_of(ImapShard& shard, engine::Connection& conn) {
  const int tag = conn.listener_tag();
  const auto& l = shard.config->listeners;
  return tag >= 0 && static_cast<size_t>(tag) < l.size() ? &l[static_cast<size_t>(tag)] : nullptr;
}

}  // namespace

uint64_t imap_append_limit(const config::Config& c) {
  return c.imap.append_limit ? c.imap.append_limit : c.limits.max_message_size;
}

void ImapSession::reset_assembler() {
  imap::AssemblerLimits limits;
  limits.max_literal = imap_append_limit(*shard_.config);
  limits.max_command = limits.max_literal + 64 * 1024;  // the literal plus its command line(s)
  limits.literal_plus = true;
  assembler_ = imap::CommandAssembler(limits);
}

void ImapShard::shutdown(bool hard) {
  std::vector<uint64_t> numbers;
  numbers.reserve(sessions.size());
  for (const auto& [n, s] : sessions) numbers.push_back(n);
  for (uint64_t n : numbers) {
    auto it = sessions.find(n);
    if (it == sessions.end()) continue;
    if (hard) it->second->abort();
    else it->second->shutdown();
  }
}

void ImapShard::changed(const std::string& user, const mailbox::UserState& state) {
  auto it = owned.find(user);
  if (it == owned.end() || it->second.watchers.empty()) return;
  const uint64_t f = imap_view::fingerprint(state);
  if (f == it->second.fingerprint) return;
  it->second.fingerprint = f;
  for (const imap_view::Watcher& w : it->second.watchers) {
    ImapShard* home = (*peers)[w.shard];
    const uint64_t number = w.session;
    (*reactors)[w.shard]->post([home, number] {
      auto s = home->sessions.find(number);
      if (s != home->sessions.end()) s->second->wake();
    });
  }
}

ImapSession::ImapSession(ImapShard& shard, engine::Connection& conn)
    : shard_(shard), conn_(conn), client_(conn.peer()), number_(shard.next_session++) {
  const config::ListenerConfig* l = listener_of(shard, conn);
  implicit_tls_ = l && l->kind == config::ListenerKind::Imaps;
  awaiting_proxy_ = l && l->proxy_protocol;
  shard_.sessions.emplace(number_, this);
  reset_assembler();
  telemetry::local().connection_opened(conn.listener_tag());
  if (!awaiting_proxy_) client_known();
}

ImapSession::~ImapSession() {
  if (timer_ != 0) shard_.reactor->cancel_timer(timer_);
  if (auth_timer_ != 0) shard_.reactor->cancel_timer(auth_timer_);
  if (close_timer_ != 0) shard_.reactor->cancel_timer(close_timer_);
  if (!user_.empty()) {
    spdlog::info("imap logout user={} client=[{}] session={} commands={} fetched={} bytes={}", user_, client_.ip(),
                 number_, commands_, fetched_, bytes_out_);
    unwatch();
  }
  if (idling_) --telemetry::local().imap_idling;
  shard_.sessions.erase(number_);
  if (counted_) shard_.limiter->release(client_.ip());
  telemetry::local().connection_closed(conn_.listener_tag());
}

// Stop being woken: the owner drops this session's watcher (logged_in() added it).
void ImapSession::unwatch() {
  if (!shard_.mailbox || user_.empty()) return;
  const unsigned owner = shard_.mailbox->owner_of(user_);
  ImapShard* o = (*shard_.peers)[owner];
  (*shard_.reactors)[owner]->post([o, user = user_, shard = shard_.reactor->shard_id(), number = number_] {
    auto it = o->owned.find(user);
    if (it == o->owned.end()) return;
    std::erase_if(it->second.watchers, [&](const imap_view::Watcher& w) { return w.shard == shard && w.session == number; });
  });
}

void ImapSession::client_known() {
  if (shard_.limiter) {
    limit_ = shard_.limiter->acquire(client_.ip());
    counted_ = limit_ == limits::ConnectionLimiter::Verdict::Ok;
  }
}

bool ImapSession::refused_by_limit() {
  if (limit_ == limits::ConnectionLimiter::Verdict::Ok) return false;
  const bool per_address = limit_ == limits::ConnectionLimiter::Verdict::TooManyFromAddress;
  spdlog::warn("imap connection from [{}] refused: too many connections{}", client_.ip(),
               per_address ? " from this address (limits.max_connections_per_ip)" : " (limits.max_connections)");
  if (!implicit_tls_) conn_.send("* BYE [UNAVAILABLE] Too many connections, try again later\r\n");
  close_connection();
  return true;
}

void ImapSession::on_open(engine::Connection&) {
  last_activity_ = engine::Clock::now();
  if (awaiting_proxy_) {
    if (shard_.shutting_down) return close_connection();
    arm_timer();
    return;
  }
  begin();
}

void ImapSession::begin() {
  const config::ListenerConfig* l = listener_of(shard_, conn_);
  spdlog::info("imap connect client=[{}]:{}, session={}, listener={}", client_.ip(), client_.port(), number_,
               l ? l->address_text : "?");
  if (refused_by_limit()) return;
  ++telemetry::local().imap_sessions;
  arm_timer();
  if (implicit_tls_) {
    // RFC 8314: the handshake first, the greeting after it.
    if (shard_.shutting_down || !admit_handshake() || !start_tls()) return close_connection();
    return;
  }
  if (shard_.shutting_down) {
    send("* BYE [UNAVAILABLE] Server shutting down\r\n");
    return close_connection();
  }
  send("* OK [CAPABILITY " + capabilities() + "] " + shard_.config->server.hostname + " ringmta IMAP ready\r\n");
  update_reading();
}

std::string ImapSession::capabilities() const {
  std::string c = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE";
  const config::ListenerConfig* l = listener_of(shard_, conn_);
  const bool secure = tls_ != nullptr;
  if (state_ == State::NotAuthenticated) {
    if (!secure && shard_.tls) c += " STARTTLS";
    const bool plain_ok = secure || shard_.config->imap.allow_plaintext_auth || (l && l->allow_plaintext_auth);
    c += plain_ok ? " AUTH=PLAIN" : " LOGINDISABLED";
    return c;
  }
  c += " NAMESPACE UIDPLUS MOVE CHILDREN UNSELECT LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE"
       " CONDSTORE QRESYNC ESEARCH SEARCHRES WITHIN UTF8=ACCEPT STATUS=SIZE QUOTA QUOTA=RES-STORAGE"
       " SORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT";
  if (!deflate_) c += " COMPRESS=DEFLATE";
  c += " APPENDLIMIT=" + std::to_string(imap_append_limit(*shard_.config));
  return c;
}

void ImapSession::on_data(engine::Connection&, std::string_view bytes) {
  if (closing_) return;
  last_activity_ = engine::Clock::now();
  if (awaiting_proxy_) return on_proxy_bytes(bytes);
  if (tls_) return on_ciphertext(bytes);
  if (start_tls_pending_) return;  // nothing in clear after STARTTLS's OK (start_tls() failed)
  input(bytes);
}

void ImapSession::on_proxy_bytes(std::string_view bytes) {
  proxy_buf_.append(bytes);
  const proxy::ProxyParse p = proxy::parse_proxy_header(proxy_buf_);
  if (p.status == proxy::ProxyStatus::NeedMore) return;
  if (p.status == proxy::ProxyStatus::Invalid) {
    ++telemetry::local().proxy_refused;
    spdlog::warn("PROXY protocol: imap connection refused: client=[{}]:{} ({})", conn_.peer().ip(),
                 conn_.peer().port(), p.error);
    return close_connection();
  }
  if (!p.header.local) {
    auto source = engine::SocketAddress::from_ip(p.header.source_ip, p.header.source_port);
    if (!source) return close_connection();
    client_ = *source;
  }
  awaiting_proxy_ = false;
  std::string rest = proxy_buf_.substr(p.consumed);
  proxy_buf_ = std::string();
  client_known();
  begin();
  if (!closing_ && !rest.empty()) on_data(conn_, rest);
}

// Plaintext from the client (after TLS): inflate under COMPRESS, then commands.
void ImapSession::input(std::string_view plaintext) {
  if (deflate_) {
    // Inflated in bounded steps (a compression bomb stops with an error).
    for (int step = 0; step < 4096; ++step) {
      std::string inflated;
      if (!deflate_->inflate(step == 0 ? plaintext : std::string_view(), inflated)) {
        spdlog::info("imap session {} [{}]: bad compressed input: {}", number_, client_.ip(), deflate_->error());
        return close_connection();
      }
      assembler_.feed(inflated);
      if (!deflate_->pending()) break;
    }
  } else {
    assembler_.feed(plaintext);
  }
  run();
}

// Takes commands from the assembler while none is running.
void ImapSession::run() {
  for (int turn = 0; turn < 10000 && !closing_ && !busy_ && !wait_drain_; ++turn) {
    imap::Assembled a = assembler_.next();
    if (a.status == imap::AssembleStatus::NeedMore) break;
    if (a.status == imap::AssembleStatus::Continuation) {
      send("+ Ready for literal data\r\n");
      continue;
    }
    if (a.status == imap::AssembleStatus::Error) {
      if (a.fatal) {
        send("* BYE " + a.error + "\r\n");
        return close_connection();
      }
      if (a.toobig) {
        reply(a.tag.empty() ? "*" : a.tag, "NO [TOOBIG] " + a.error);
        continue;
      }
      bad(a.tag.empty() ? "*" : a.tag, a.error);
      continue;
    }
    if (sasl_waiting_) {
      sasl_response(a.command);
      continue;
    }
    if (idling_) {
      idle_line(a.command);
      continue;
    }
    imap::ParseResult p = imap::parse_command(a.command);
    if (!p.ok) {
      bad(p.command.tag.empty() ? "*" : p.command.tag, p.error);
      continue;
    }
    ++commands_;
    dispatch(p.command);
  }
  update_reading();
}

void ImapSession::send(std::string_view text) {
  if (closing_ || text.empty()) return;
  bytes_out_ += text.size();
  telemetry::local().imap_bytes_sent += text.size();
  std::string compressed;
  if (deflate_) {
    deflate_->deflate(text, compressed);
    text = compressed;
  }
  if (!tls_) return conn_.send(text);
  if (!tls_->handshake_done()) return;
  tls_->write(text);
  if (tls_->has_output()) conn_.send(tls_->take_output());
}

void ImapSession::reply(const std::string& tag, std::string_view text) {
  std::string line;
  line.reserve(tag.size() + text.size() + 3);
  line += tag;
  line += ' ';
  line += text;
  line += "\r\n";
  send(line);
}

void ImapSession::done(const std::string& tag, std::string_view text) {
  reply(tag, text);
  busy_ = false;
  run();
}

void ImapSession::bad(const std::string& tag, std::string_view why) {
  ++telemetry::local().imap_bad_commands;
  if (++bad_commands_ >= shard_.config->imap.max_bad_commands) {
    reply(tag, "BAD " + std::string(why));
    send("* BYE Too many invalid commands\r\n");
    spdlog::info("imap session {} [{}]: closed after {} bad commands (imap.max_bad_commands)", number_,
                 client_.ip(), bad_commands_);
    return close_connection();
  }
  reply(tag, "BAD " + std::string(why));
}

void ImapSession::update_reading() {
  if (closing_) return;
  const bool on = !wait_drain_ && (!busy_ || assembler_.buffered() < kInputCap);
  if (on == !paused_) return;
  paused_ = !on;
  if (paused_) conn_.pause_reading();
  else conn_.resume_reading();
}

void ImapSession::on_drained(engine::Connection&) {
  if (closing_ || !wait_drain_) return;
  wait_drain_ = false;
  last_activity_ = engine::Clock::now();
  if (drain_job_) {
    auto job = std::move(drain_job_);
    drain_job_.reset();
    return run_job(std::move(job));  // in-flight chunks finish the job when they land
  }
  run();
}

void ImapSession::on_closed(engine::Connection&, int error) {
  if (error != 0 && !closing_)
    spdlog::debug("imap session {} [{}]: connection error: {}", number_, client_.ip(), std::strerror(error));
  closing_ = true;
  if (timer_ != 0) shard_.reactor->cancel_timer(timer_);
  if (close_timer_ != 0) shard_.reactor->cancel_timer(close_timer_);
  timer_ = close_timer_ = 0;
}

void ImapSession::shutdown() {
  if (closing_) return;
  if (busy_ && !idling_) return;  // the command finishes; the hard stop cuts it
  send("* BYE [UNAVAILABLE] Server shutting down\r\n");
  close_connection();
}

void ImapSession::abort() {
  closing_ = true;
  conn_.abort();
}

void ImapSession::close_connection() {
  if (close_timer_ == 0 && !closing_) {
    if (tls_ && tls_->handshake_done()) {
      tls_->close();
      if (tls_->has_output()) conn_.send(tls_->take_output());
    }
    close_timer_ = shard_.reactor->add_timer(kCloseGrace, [this] {
      close_timer_ = 0;
      conn_.abort();
    });
  }
  closing_ = true;
  conn_.close();
}

// Before login (and before the PROXY header or TLS handshake):
// limits.command_timeout; after it the autologout (RFC 9051 §5.4), also in IDLE.
engine::Clock::time_point ImapSession::deadline() const {
  const bool before = state_ == State::NotAuthenticated;
  const auto limit = before ? shard_.config->limits.command_timeout : shard_.config->imap.autologout;
  return last_activity_ + limit;
}

void ImapSession::arm_timer() {
  const auto now = engine::Clock::now();
  const auto when = deadline();
  timer_ = shard_.reactor->add_timer(when > now ? when - now : engine::Clock::duration::zero(), [this] {
    timer_ = 0;
    on_timer();
  });
}

void ImapSession::on_timer() {
  if (closing_) return;
  if (engine::Clock::now() < deadline()) return arm_timer();
  if (busy_ && !idling_ && !wait_drain_) {  // we owe the answer, not the client
    last_activity_ = engine::Clock::now();
    return arm_timer();
  }
  spdlog::info("imap session {} [{}]: autologout after {}s idle", number_, client_.ip(),
               std::chrono::duration_cast<std::chrono::seconds>(engine::Clock::now() - last_activity_).count());
  if (!wait_drain_) send("* BYE Autologout; idle for too long\r\n");
  close_connection();
}

engine::HandlerFactory imap_factory(ImapShard& shard) {
  return [&shard](engine::Connection& conn) -> std::unique_ptr<engine::ConnectionHandler> {
    return std::make_unique<ImapSession>(shard, conn);
  };
}

}  // namespace ringmta::access
