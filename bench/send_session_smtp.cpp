// bench/send_session_smtp.cpp — the SMTP conversation of one simulated
// client (see send_session.h): reply lines in, matched to the FIFO of
// outstanding commands; EHLO, STARTTLS, AUTH; then transactions (RSET, MAIL,
// RCPTs, DATA, the message) pipelined or one command at a time, and QUIT.
//
// Its own file because it is the protocol half of the session, apart from
// the connection and timer handling in send_session.cpp.
#include <cstring>
#include <string>
#include <strings.h>

#include "bench/send_session_impl.h"
#include "bench/util.h"

namespace ringmta::bench {

namespace {
constexpr size_t kMaxReplyLine = 64 * 1024;

bool is_2xx(int code) { return code >= 200 && code < 300; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}
}  // namespace

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

}  // namespace ringmta::bench
