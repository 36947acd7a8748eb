// bench/send_session.cpp — see send_session.h. The client state machine.
#include "bench/send_session.h"

#include <cstring>

#include "bench/util.h"

namespace ringmta::bench {

namespace {
constexpr int64_t kMs = 1000000;
constexpr int64_t kTickNs = 250 * kMs;
constexpr int64_t kReconnectDelayNs = 100 * kMs;  // after a failure: no busy reconnect loop
constexpr int64_t kQuitWaitNs = 2000 * kMs;        // after 221, wait this long for the server's close
constexpr size_t kMaxReplyLine = 64 * 1024;

bool is_2xx(int code) { return code >= 200 && code < 300; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}
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

// One simulated client. Lives for the whole run; connections come and go.
class SendSession {
 public:
  explicit SendSession(SendShard& shard) : shard_(shard), g_(shard.global()), cfg_(*g_.config) {}

  void connect();
  void on_open(engine::Connection& conn);
  void on_data(std::string_view bytes);
  void on_closed(int error);
  void tick(int64_t now);

 private:
  struct Pending {
    Cmd cmd;
    int64_t sent;
    uint64_t seq = 0;       // Data / EndOfData: which message
    uint32_t msg = 0;
  };

  void on_plaintext(std::string_view data);
  bool on_line(std::string_view line);
  void on_reply(int code);
  void after_ehlo();
  void ready();
  void next_transaction(bool piggyback);
  void emit_next_command();
  void send_message(const Pending& data);
  void send_quit();
  void push(Cmd cmd, uint64_t seq = 0, uint32_t msg = 0);
  void flush();
  void fail(const char* why, int code = 0);
  void finish_connection();
  void schedule(int64_t delay_ns, bool reconnect);

  SendShard& shard_;
  SendGlobal& g_;
  const SendConfig& cfg_;

  engine::Connection* conn_ = nullptr;
  std::unique_ptr<Channel> ch_;
  std::vector<Pending> fifo_;  // outstanding replies, oldest at fifo_head_
  size_t fifo_head_ = 0;
  std::string in_;             // partial reply line
  std::string out_;            // commands gathered during one callback
  int64_t connect_start_ = 0;
  int64_t opened_at_ = 0;
  int64_t tls_start_ = 0;
  int64_t last_rx_ = 0;
  int64_t quit_acked_at_ = 0;
  engine::TimerId timer_ = 0;
  bool timer_reconnects_ = false;
  bool caps_starttls_ = false;
  bool tls_handshaking_ = false;
  bool authed_ = false;
  bool quit_sent_ = false;
  bool failed_ = false;
  bool finished_ = false;       // no more transactions: end the session after this connection
  bool done_ = false;           // reported to the shard
  unsigned txn_open_ = 0;       // transactions whose final reply is outstanding
  unsigned msgs_on_conn_ = 0;
  bool need_rset_ = false;
  // Non-pipelined: the transaction whose commands are being sent one by one.
  uint64_t txn_seq_ = 0;
  uint32_t txn_msg_ = 0;
  unsigned txn_next_rcpt_ = 0;
  Cmd txn_next_ = Cmd::Count;   // next command to send (Count: none)
};

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

// ---------------------------------------------------------------- replies

void SendSession::on_plaintext(std::string_view data) {
  while (!data.empty() && conn_ != nullptr && !failed_) {
    const void* nl = std::memchr(data.data(), '\n', data.size());
    if (nl == nullptr) {
      in_.append(data);
      if (in_.size() > kMaxReplyLine) fail("reply line too long");
      return;
    }
    const size_t n = static_cast<size_t>(static_cast<const char*>(nl) - data.data());
    std::string_view line;
    if (in_.empty()) {
      line = data.substr(0, n);
    } else {
      in_.append(data.substr(0, n));
      line = in_;
    }
    data.remove_prefix(n + 1);
    const bool go_on = on_line(line);
    in_.clear();
    // After STARTTLS's 220 every further byte must come through TLS: plaintext
    // that followed the 220 in the same read is an injection attempt, dropped.
    if (!go_on) return;
  }
}

// One reply line; false when the rest of the read must be ignored.
bool SendSession::on_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
      line[2] > '9' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    fail("malformed reply");
    return false;
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (fifo_head_ < fifo_.size() && fifo_[fifo_head_].cmd == Cmd::Ehlo && line.size() > 4) {
    std::string_view kw = line.substr(4);
    if (starts_with_nocase(kw, "STARTTLS")) caps_starttls_ = true;
  }
  if (line.size() > 3 && line[3] == '-') return true;  // more lines follow
  const bool was_starttls = fifo_head_ < fifo_.size() && fifo_[fifo_head_].cmd == Cmd::StartTls;
  on_reply(code);
  return !(was_starttls && code == 220);
}

void SendSession::on_reply(int code) {
  if (fifo_head_ >= fifo_.size()) {  // e.g. a 421 before closing
    fail("unexpected reply", code);
    return;
  }
  const Pending p = fifo_[fifo_head_++];
  if (fifo_head_ == fifo_.size()) {
    fifo_.clear();
    fifo_head_ = 0;
  }
  shard_.count_reply(p.cmd, code);
  const int64_t now = last_rx_;
  switch (p.cmd) {
    case Cmd::Greeting:
      shard_.record(Phase::Greeting, now - opened_at_);
      if (!is_2xx(code)) return fail("greeting refused", code);
      out_ += "EHLO " + cfg_.helo + "\r\n";
      push(Cmd::Ehlo);
      return;
    case Cmd::Ehlo:
      shard_.record(Phase::Ehlo, now - p.sent);
      if (!is_2xx(code)) return fail("EHLO refused", code);
      return after_ehlo();
    case Cmd::StartTls:
      if (code != 220) return fail("STARTTLS refused", code);
      tls_start_ = now;
      tls_handshaking_ = true;
      ch_->start_tls(g_.tls->new_session(cfg_.tls_server_name));
      return;
    case Cmd::Auth:
      shard_.record(Phase::Auth, now - p.sent);
      if (code != 235) return fail("AUTH refused", code);
      authed_ = true;
      return ready();
    case Cmd::Rset:
      return emit_next_command();
    case Cmd::Mail:
      shard_.record(Phase::Mail, now - p.sent);
      return emit_next_command();
    case Cmd::Rcpt:
      shard_.record(Phase::Rcpt, now - p.sent);
      return emit_next_command();
    case Cmd::Data:
      if (code == 354) return send_message(p);
      // Refused before the content (no valid recipient, MAIL refused...): the
      // transaction may still be open on the server, so RSET first next time.
      shard_.rejected.fetch_add(1, std::memory_order_relaxed);
      need_rset_ = true;
      txn_open_--;
      if (txn_open_ == 0) next_transaction(false);
      return;
    case Cmd::EndOfData:
      shard_.record(Phase::EndOfData, now - p.sent);
      if (is_2xx(code)) {
        shard_.ok.fetch_add(1, std::memory_order_relaxed);
        shard_.bytes.fetch_add(g_.messages->sizes[p.msg], std::memory_order_relaxed);
      } else {
        shard_.rejected.fetch_add(1, std::memory_order_relaxed);
      }
      txn_open_--;
      if (txn_open_ == 0) next_transaction(false);
      return;
    case Cmd::Quit:
      quit_acked_at_ = now;  // the server closes; tick() closes if it does not
      return;
    case Cmd::Count:
      return;
  }
}

void SendSession::after_ehlo() {
  if (cfg_.tls == TlsMode::StartTls && !ch_->tls_active()) {
    if (!caps_starttls_) return fail("server does not offer STARTTLS");
    out_ += "STARTTLS\r\n";
    push(Cmd::StartTls);
    return;
  }
  if (!cfg_.auth_user.empty() && !authed_) {
    out_ += g_.auth_line;
    push(Cmd::Auth);
    return;
  }
  ready();
}

void SendSession::ready() { next_transaction(false); }

// ---------------------------------------------------------------- transactions

// Start the next transaction if the run allows. `piggyback`: called while the
// current message goes out (pipelining), so a rate-limit wait is left to the
// end-of-data reply instead of a timer.
void SendSession::next_transaction(bool piggyback) {
  if (quit_sent_ || conn_ == nullptr) return;
  if (cfg_.per_connection != 0 && msgs_on_conn_ >= cfg_.per_connection) return send_quit();
  int64_t wait_until = 0;
  switch (shard_.claim(now_ns(), wait_until)) {
    case SendShard::Claim::Done:
      finished_ = true;
      return send_quit();
    case SendShard::Claim::Wait:
      if (!piggyback) schedule(wait_until - now_ns(), false);
      return;
    case SendShard::Claim::Ok:
      break;
  }
  txn_seq_ = shard_.next_seq();
  const MessageSet& m = *g_.messages;
  txn_msg_ = m.generated ? 0 : static_cast<uint32_t>((txn_seq_ * 7919 + shard_.index()) % m.count());
  txn_open_++;
  msgs_on_conn_++;
  txn_next_ = need_rset_ ? Cmd::Rset : Cmd::Mail;
  txn_next_rcpt_ = 0;
  need_rset_ = false;
  if (cfg_.pipelining) {
    while (txn_next_ != Cmd::Count) emit_next_command();
  } else {
    emit_next_command();
  }
}

// Append the transaction's next command (RSET, MAIL, each RCPT, DATA).
void SendSession::emit_next_command() {
  switch (txn_next_) {
    case Cmd::Rset:
      out_ += "RSET\r\n";
      push(Cmd::Rset);
      txn_next_ = Cmd::Mail;
      return;
    case Cmd::Mail:
      out_ += "MAIL FROM:<";
      out_ += cfg_.sender;
      out_ += ">\r\n";
      push(Cmd::Mail);
      txn_next_ = cfg_.rcpts > 0 ? Cmd::Rcpt : Cmd::Data;
      return;
    case Cmd::Rcpt: {
      const unsigned j = txn_next_rcpt_++;
      const auto& domains = cfg_.domains;
      out_ += "RCPT TO:<user";
      out_ += std::to_string(j + 1);
      out_ += '@';
      out_ += domains[(txn_seq_ * cfg_.rcpts + j) % domains.size()];
      out_ += ">\r\n";
      push(Cmd::Rcpt);
      if (txn_next_rcpt_ >= cfg_.rcpts) txn_next_ = Cmd::Data;
      return;
    }
    case Cmd::Data:
      out_ += "DATA\r\n";
      push(Cmd::Data, txn_seq_, txn_msg_);
      txn_next_ = Cmd::Count;
      return;
    default:
      return;  // pipelined: nothing waits for this reply
  }
}

// After 354: the content, its final dot, and (pipelining) the next transaction.
void SendSession::send_message(const Pending& data) {
  const MessageSet& m = *g_.messages;
  if (m.generated) append_message_id_line(out_, data.seq, shard_.index());
  // Large bodies skip the gathering buffer (one copy less).
  flush();
  ch_->send(m.bodies[data.msg]);
  out_ += ".\r\n";
  push(Cmd::EndOfData, data.seq, data.msg);
  if (cfg_.pipelining) next_transaction(true);
}

void SendSession::send_quit() {
  if (quit_sent_) return;
  quit_sent_ = true;
  out_ += "QUIT\r\n";
  push(Cmd::Quit);
}

void SendSession::push(Cmd cmd, uint64_t seq, uint32_t msg) {
  const int64_t now = now_ns();
  if (fifo_head_ >= fifo_.size()) last_rx_ = now;  // the reply timeout starts now
  fifo_.push_back({cmd, now, seq, msg});
}

void SendSession::flush() {
  if (out_.empty() || conn_ == nullptr || failed_) return;
  ch_->send(out_);
  out_.clear();
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
