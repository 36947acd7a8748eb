// bench/send_session.cpp — see send_session.h: the simulated clients'
// connections (connect, open, close, failures, reconnects, reply timeouts)
// and the SendShard that owns them (rate limit, run end, failure count).
//
// Split: the SMTP conversation of a session — reply parsing, the command
// FIFO, transactions and pipelining — is in send_session_smtp.cpp; this file
// keeps what happens around it on the reactor.
#include "bench/send_session.h"

#include <algorithm>
#include <cstring>

#include "bench/send_session_impl.h"
#include "bench/util.h"

namespace ringmta::bench {

namespace {
constexpr int64_t kMs = 1000000;
constexpr int64_t kTickNs = 250 * kMs;
constexpr int64_t kReconnectDelayNs = 100 * kMs;  // after a failure: no busy reconnect loop
constexpr int64_t kQuitWaitNs = 2000 * kMs;        // after 221, wait this long for the server's close
}  // namespace

const char* cmd_name(Cmd c) {
  static const char* names[] = {"greeting", "ehlo", "starttls", "auth", "rset",
                                "mail",     "rcpt", "data",     "end_of_data", "quit"};
  return names[static_cast<size_t>(c)];
}

const char* phase_name(Phase p) {
  static const char* names[] = {"connect", "greeting", "tls", "ehlo", "auth", "mail", "rcpt", "end_of_data"};
  return names[static_cast<size_t>(p)];
}

namespace {
class SendConn final : public engine::ConnectionHandler {
 public:
  explicit SendConn(SendSession* s) : s_(s) {}
  void on_open(engine::Connection& c) override { s_->on_open(c); }
  void on_data(engine::Connection&, std::string_view bytes) override { s_->on_data(bytes); }
  void on_closed(engine::Connection&, int error) override { s_->on_closed(error); }

 private:
  SendSession* s_;
};
}  // namespace

// ---------------------------------------------------------------- connection

void SendSession::connect() {
  if (g_.stop.load(std::memory_order_relaxed) || finished_) {
    if (!done_) {
      done_ = true;
      shard_.session_done();
    }
    return;
  }
  connect_start_ = now_ns();
  const auto timeout = std::chrono::nanoseconds(static_cast<int64_t>(cfg_.connect_timeout * 1e9));
  shard_.reactor().connect(
      cfg_.target, timeout, [this](engine::Connection&) { return std::make_unique<SendConn>(this); },
      [this](int error) {
        if (error == ECANCELED) {  // reactor going away
          if (!done_) {
            done_ = true;
            shard_.session_done();
          }
          return;
        }
        shard_.connection_failed("connect", error);
        schedule(kReconnectDelayNs, true);
      });
}

void SendSession::on_open(engine::Connection& conn) {
  const int64_t now = now_ns();
  shard_.record(Phase::Connect, now - connect_start_);
  shard_.connections.fetch_add(1, std::memory_order_relaxed);
  conn_ = &conn;
  ch_ = std::make_unique<Channel>(conn);
  fifo_.clear();
  fifo_head_ = 0;
  in_.clear();
  opened_at_ = last_rx_ = now;
  caps_starttls_ = tls_handshaking_ = authed_ = quit_sent_ = failed_ = false;
  quit_acked_at_ = 0;
  txn_open_ = msgs_on_conn_ = 0;
  need_rset_ = false;
  txn_next_ = Cmd::Count;
  fifo_.push_back({Cmd::Greeting, now});
  if (cfg_.tls == TlsMode::Implicit) {
    tls_start_ = now;
    tls_handshaking_ = true;
    ch_->start_tls(g_.tls->new_session(cfg_.tls_server_name));
  }
}

void SendSession::on_data(std::string_view bytes) {
  if (conn_ == nullptr || failed_) return;
  last_rx_ = now_ns();
  std::string_view plain;
  bool handshake_done = false;
  const Channel::Feed st = ch_->feed(bytes, plain, handshake_done);
  if (st == Channel::Feed::Failed) {
    fail("tls", 0);
    return;
  }
  if (handshake_done) {
    tls_handshaking_ = false;
    shard_.record(Phase::Tls, last_rx_ - tls_start_);
    if (cfg_.tls == TlsMode::StartTls) {  // RFC 3207: start over with EHLO
      out_ += "EHLO " + cfg_.helo + "\r\n";
      push(Cmd::Ehlo);
    }
  }
  if (!plain.empty()) on_plaintext(plain);
  flush();
}

void SendSession::on_closed(int error) {
  const bool expected = quit_sent_ || failed_;
  if (!expected && error != ECANCELED) shard_.connection_failed("closed by server", error);
  if (!failed_ && txn_open_ > 0) shard_.lost.fetch_add(txn_open_, std::memory_order_relaxed);
  conn_ = nullptr;
  ch_.reset();
  txn_open_ = 0;
  if (timer_ != 0 && error != ECANCELED) {
    shard_.reactor().cancel_timer(timer_);
    timer_ = 0;
  }
  if (error == ECANCELED || g_.stop.load(std::memory_order_relaxed) || finished_) {
    if (!done_) {
      done_ = true;
      shard_.session_done();
    }
    return;
  }
  // A planned reconnect (--per-connection) goes at once; a failure waits a little.
  if (expected && !failed_)
    connect();
  else
    schedule(kReconnectDelayNs, true);
}

// A connection-level failure: count it, drop the connection (on_closed follows).
void SendSession::fail(const char* why, int code) {
  if (failed_ || conn_ == nullptr) return;
  failed_ = true;
  shard_.connection_failed(why, 0, code);
  if (txn_open_ > 0) shard_.lost.fetch_add(txn_open_, std::memory_order_relaxed);
  txn_open_ = 0;
  conn_->abort();
}

void SendSession::schedule(int64_t delay_ns, bool reconnect) {
  if (timer_ != 0) return;
  timer_reconnects_ = reconnect;
  timer_ = shard_.reactor().add_timer(std::chrono::nanoseconds(delay_ns), [this] {
    timer_ = 0;
    if (timer_reconnects_) {
      connect();
    } else if (conn_ != nullptr && !failed_ && txn_open_ == 0 && !quit_sent_) {
      next_transaction(false);
      flush();
    }
  });
}

// Reply timeouts and the hard stop, checked every kTickNs per shard.
void SendSession::tick(int64_t now) {
  if (conn_ == nullptr || failed_) return;
  if (g_.abort.load(std::memory_order_relaxed)) {
    failed_ = true;  // not a failure of the target: the run's time is up
    conn_->abort();
    return;
  }
  if (quit_acked_at_ != 0) {
    if (now - quit_acked_at_ > kQuitWaitNs) conn_->close();
    return;
  }
  const bool waiting = fifo_head_ < fifo_.size() || tls_handshaking_;
  if (waiting && now - last_rx_ > static_cast<int64_t>(cfg_.reply_timeout * 1e9)) fail("reply timeout");
}

// ---------------------------------------------------------------- shard

SendShard::SendShard(SendGlobal& global, unsigned index) : g_(global), index_(index) {}
SendShard::~SendShard() = default;

void SendShard::start(engine::Reactor& reactor, unsigned sessions) {
  reactor_ = &reactor;
  const SendConfig& cfg = *g_.config;
  if (cfg.rate > 0) {
    // Each shard gets its share of the rate; a short burst allowance (see claim()).
    const double per_shard = cfg.rate * sessions / std::max(1u, cfg.sessions);
    interval_ns_ = per_shard > 0 ? static_cast<int64_t>(1e9 / per_shard) : 0;
    next_slot_ns_ = now_ns();
  }
  for (unsigned i = 0; i < sessions; i++) sessions_.push_back(std::make_unique<SendSession>(*this));
  for (auto& s : sessions_) s->connect();
  reactor.add_timer(std::chrono::nanoseconds(kTickNs), [this] { tick(); });
}

void SendShard::tick() {
  const int64_t now = now_ns();
  for (auto& s : sessions_) s->tick(now);
  reactor_->add_timer(std::chrono::nanoseconds(kTickNs), [this] { tick(); });
}

SendShard::Claim SendShard::claim(int64_t now, int64_t& wait_until) {
  if (g_.stop.load(std::memory_order_relaxed)) return Claim::Done;
  if (g_.deadline_ns != 0 && now >= g_.deadline_ns) return Claim::Done;
  if (interval_ns_ > 0) {
    // At most 10 ms of unused rate carries over: smooth, but no long burst
    // after a stall.
    next_slot_ns_ = std::max(next_slot_ns_, now - 10 * kMs);
    if (next_slot_ns_ > now) {
      wait_until = next_slot_ns_;
      return Claim::Wait;
    }
  }
  if (g_.config->messages != 0 && g_.claimed.fetch_add(1, std::memory_order_relaxed) >= g_.config->messages)
    return Claim::Done;
  if (interval_ns_ > 0) next_slot_ns_ += interval_ns_;
  return Claim::Ok;
}

void SendShard::connection_failed(const char* why, int error, int code) {
  conn_failures.fetch_add(1, std::memory_order_relaxed);
  if (first_error.empty()) {
    first_error = why;
    if (code != 0) first_error += " (" + std::to_string(code) + ")";
    if (error > 0) first_error += std::string(": ") + std::strerror(error);
  }
  const uint64_t n = g_.failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n > g_.config->max_failures) {
    g_.too_many_failures.store(true, std::memory_order_relaxed);
    g_.stop.store(true, std::memory_order_relaxed);
  }
}

}  // namespace ringmta::bench
