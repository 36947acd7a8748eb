// bench/sink_conn.cpp — the sink's SMTP server side: a lean state machine
// that answers pipelined commands in one write per read, finds the end of
// DATA with memchr (no copy of the message is kept), takes BDAT chunks
// (RFC 3030) by count, and injects the configured faults. It checks command
// order (MAIL before RCPT, a recipient before DATA or BDAT) so that clients
// that get it wrong, and injected RCPT failures, show up in the counts the
// way a real MTA would report them.
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>

#include "bench/channel.h"
#include "base/json.h"
#include "base/base64.h"
#include "bench/sink_conn.h"

namespace ringmta::bench {

namespace {

constexpr size_t kMaxLine = 4096;  // RFC 5321 allows 512; be generous, but bounded

bool verb_is(std::string_view line, const char* verb) {
  const size_t n = std::strlen(verb);
  return line.size() >= n && strncasecmp(line.data(), verb, n) == 0 &&
         (line.size() == n || line[n] == ' ');
}

// The address between < and > of "MAIL FROM:<a@b> ..." (empty if none).
std::string_view angle_address(std::string_view line) {
  const size_t lt = line.find('<');
  if (lt == std::string_view::npos) return {};
  const size_t gt = line.find('>', lt);
  return gt == std::string_view::npos ? std::string_view{} : line.substr(lt + 1, gt - lt - 1);
}

class SinkConn final : public engine::ConnectionHandler {
 public:
  SinkConn(SinkShard& shard, engine::Connection& conn) : shard_(shard), cfg_(*shard.g.config), ch_(conn) {}

  void on_open(engine::Connection& conn) override;
  void on_data(engine::Connection& conn, std::string_view bytes) override;
  void on_closed(engine::Connection& conn, int error) override;

 private:
  enum class State : uint8_t { Command, Data, Bdat, AuthResponse, Closing };

  void greet();
  void process(std::string_view data);
  void command(std::string_view line);
  void bdat(std::string_view line);
  void chunk_done();
  void end_of_data(uint64_t size);
  void reset_transaction();
  void reply(std::string_view text) {
    out_.append(text);
    out_ += "\r\n";
  }
  void flush();
  void send_due();

  SinkShard& shard_;
  const SinkConfig& cfg_;
  Channel ch_;
  State state_ = State::Command;
  bool counted_ = false;
  bool has_mail_ = false;
  bool tls_pending_ = false;  // STARTTLS answered: the next byte starts the handshake
  bool close_after_send_ = false;
  uint8_t dstate_ = 1;        // end-of-DATA scanner (see process())
  unsigned rcpt_ok_ = 0, rcpt_rejected_ = 0;
  uint64_t data_bytes_ = 0;
  uint64_t bdat_left_ = 0;    // chunk bytes still to read
  bool bdat_last_ = false;    // the chunk being read is the LAST one
  bool bdat_refused_ = false; // read the chunk, then refuse it (no MAIL/RCPT)
  bool via_bdat_ = false;     // this message came by BDAT (for --record)
  std::string in_;            // partial command line
  std::string out_;           // replies of this read
  std::string auth_user_;
  // Only kept with --record:
  std::string from_;
  std::string rcpts_json_;
  // --reply-delay: batches of replies and when they may go.
  std::deque<std::pair<int64_t, std::string>> delayed_;
  engine::TimerId timer_ = 0;
};

void SinkConn::on_open(engine::Connection& conn) {
  shard_.connections.fetch_add(1, std::memory_order_relaxed);
  if (shard_.rng.chance(cfg_.refuse)) {
    shard_.refused.fetch_add(1, std::memory_order_relaxed);
    state_ = State::Closing;
    conn.close();
    return;
  }
  counted_ = true;
  const int64_t cur = shard_.g.current.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t peak = shard_.g.peak.load(std::memory_order_relaxed);
  while (cur > peak && !shard_.g.peak.compare_exchange_weak(peak, cur, std::memory_order_relaxed)) {
  }
  if (cfg_.implicit_tls) {  // RFC 8314: handshake first, greeting after it
    ch_.start_tls(shard_.g.tls->new_session());
    return;
  }
  greet();
}

// The greeting is delayed by --greeting-delay only (not --reply-delay too).
void SinkConn::greet() {
  if (cfg_.greeting_delay_ms == 0) {
    ch_.send("220 " + cfg_.hostname + " ESMTP ringmta-bench sink\r\n");
    return;
  }
  timer_ = shard_.reactor->add_timer(std::chrono::milliseconds(cfg_.greeting_delay_ms), [this] {
    timer_ = 0;
    ch_.send("220 " + cfg_.hostname + " ESMTP ringmta-bench sink\r\n");
  });
}

void SinkConn::on_closed(engine::Connection&, int error) {
  if (counted_) shard_.g.current.fetch_sub(1, std::memory_order_relaxed);
  if (timer_ != 0 && error != ECANCELED) shard_.reactor->cancel_timer(timer_);
  timer_ = 0;
  state_ = State::Closing;
}

void SinkConn::on_data(engine::Connection&, std::string_view bytes) {
  if (state_ == State::Closing) return;
  if (tls_pending_) {
    // Whatever arrives after our 220 is the ClientHello; plaintext sent
    // behind STARTTLS in the same segment would be injected commands and
    // simply fails the handshake (RFC 3207 §4.2 is satisfied by not executing it).
    tls_pending_ = false;
    ch_.start_tls(shard_.g.tls->new_session());
  }
  std::string_view plain;
  bool handshake_done = false;
  const Channel::Feed st = ch_.feed(bytes, plain, handshake_done);
  if (st == Channel::Feed::Failed) {
    shard_.tls_failures.fetch_add(1, std::memory_order_relaxed);
    state_ = State::Closing;
    ch_.conn().close();
    return;
  }
  if (handshake_done) {
    shard_.tls_sessions.fetch_add(1, std::memory_order_relaxed);
    if (cfg_.implicit_tls) greet();
  }
  if (!plain.empty()) process(plain);
  flush();
}

// Commands and message data, in any split. The end of DATA is found with a
// four-state scanner: 0 inside a line, 1 at the start of a line, 2 after a
// line-initial ".", 3 after ".\r" — memchr skips the body between line ends.
void SinkConn::process(std::string_view data) {
  while (!data.empty() && state_ != State::Closing && !tls_pending_) {
    if (state_ == State::Data) {
      const char* p = data.data();
      const size_t n = data.size();
      size_t i = 0;
      bool done = false;
      while (i < n && !done) {
        switch (dstate_) {
          case 0: {
            const void* nl = std::memchr(p + i, '\n', n - i);
            if (nl == nullptr) {
              i = n;
            } else {
              i = static_cast<size_t>(static_cast<const char*>(nl) - p) + 1;
              dstate_ = 1;
            }
            break;
          }
          case 1:
            if (p[i] == '.') {
              dstate_ = 2;
              i++;
            } else if (p[i] == '\n') {
              i++;
            } else {
              dstate_ = 0;
            }
            break;
          case 2:
            if (p[i] == '\r') {
              dstate_ = 3;
              i++;
            } else if (p[i] == '\n') {  // bare ".\n": accepted, as many MTAs do
              i++;
              done = true;
            } else {
              dstate_ = 0;
            }
            break;
          default:  // 3
            if (p[i] == '\n') {
              i++;
              done = true;
            } else {
              dstate_ = 0;
            }
            break;
        }
      }
      data_bytes_ += i;
      data.remove_prefix(i);
      if (done) end_of_data(data_bytes_ >= 3 ? data_bytes_ - 3 : 0);  // without the final ".\r\n"
      continue;
    }
    if (state_ == State::Bdat) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(bdat_left_, data.size()));
      bdat_left_ -= n;
      data_bytes_ += n;
      data.remove_prefix(n);
      if (bdat_left_ == 0) chunk_done();
      continue;
    }
    const void* nl = std::memchr(data.data(), '\n', data.size());
    if (nl == nullptr) {
      if (in_.size() + data.size() > kMaxLine) {
        reply("500 5.5.2 Error: line too long");
        in_.clear();
      } else {
        in_.append(data);
      }
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
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLine)
      reply("500 5.5.2 Error: line too long");
    else
      command(line);
    in_.clear();
  }
}

void SinkConn::reset_transaction() {
  has_mail_ = false;
  data_bytes_ = 0;
  via_bdat_ = false;
  rcpt_ok_ = rcpt_rejected_ = 0;
  from_.clear();
  rcpts_json_.clear();
}

void SinkConn::command(std::string_view line) {
  if (state_ == State::AuthResponse) {  // the SASL PLAIN response after "334 "
    state_ = State::Command;
    if (line == "*") return reply("501 5.7.0 Authentication aborted");
    const std::string decoded = base::base64_decode(line).value_or("");
    const size_t a = decoded.find('\0');
    const size_t b = a == std::string::npos ? a : decoded.find('\0', a + 1);
    auth_user_ = b == std::string::npos ? "" : decoded.substr(a + 1, b - a - 1);
    shard_.auths.fetch_add(1, std::memory_order_relaxed);
    return reply("235 2.7.0 Authentication successful");
  }
  if (verb_is(line, "MAIL")) {
    if (has_mail_) return reply("503 5.5.1 Error: nested MAIL command");
    has_mail_ = true;
    rcpt_ok_ = rcpt_rejected_ = 0;
    if (!cfg_.record_path.empty()) from_ = angle_address(line);
    return reply("250 2.1.0 Ok");
  }
  if (verb_is(line, "RCPT")) {
    if (!has_mail_) return reply("503 5.5.1 Error: need MAIL command");
    const double roll = static_cast<double>(shard_.rng.next() >> 11) * 0x1.0p-53 * 100.0;
    if (roll < cfg_.rcpt_temp_fail) {
      shard_.rcpt_temp.fetch_add(1, std::memory_order_relaxed);
      rcpt_rejected_++;
      return reply("451 4.3.0 Injected temporary failure");
    }
    if (roll < cfg_.rcpt_temp_fail + cfg_.rcpt_perm_fail) {
      shard_.rcpt_perm.fetch_add(1, std::memory_order_relaxed);
      rcpt_rejected_++;
      return reply("550 5.1.1 Injected permanent failure");
    }
    rcpt_ok_++;
    if (!cfg_.record_path.empty())
      rcpts_json_ += (rcpts_json_.empty() ? "" : ",") + base::json::quote(angle_address(line));
    return reply("250 2.1.5 Ok");
  }
  if (verb_is(line, "DATA")) {
    if (rcpt_ok_ == 0) {
      // Postfix's answers; the transaction ends here either way.
      const bool had_mail = has_mail_;
      reset_transaction();
      return reply(had_mail ? "554 5.5.1 Error: no valid recipients" : "503 5.5.1 Error: need RCPT command");
    }
    state_ = State::Data;
    dstate_ = 1;
    data_bytes_ = 0;
    return reply("354 End data with <CR><LF>.<CR><LF>");
  }
  if (verb_is(line, "BDAT")) return bdat(line);
  if (verb_is(line, "EHLO")) {
    reset_transaction();
    std::string r = "250-" + cfg_.hostname + "\r\n250-PIPELINING\r\n250-SIZE 0\r\n250-8BITMIME\r\n";
    if (cfg_.chunking) r += "250-CHUNKING\r\n";
    if (shard_.g.tls && !ch_.tls_active()) r += "250-STARTTLS\r\n";
    r += "250-AUTH PLAIN\r\n250 ENHANCEDSTATUSCODES";
    return reply(r);
  }
  if (verb_is(line, "HELO")) {
    reset_transaction();
    return reply("250 " + cfg_.hostname);
  }
  if (verb_is(line, "RSET")) {
    reset_transaction();
    return reply("250 2.0.0 Ok");
  }
  if (verb_is(line, "NOOP")) return reply("250 2.0.0 Ok");
  if (verb_is(line, "QUIT")) {
    reply("221 2.0.0 Bye");
    close_after_send_ = true;
    state_ = State::Closing;
    return;
  }
  if (verb_is(line, "STARTTLS")) {
    if (!shard_.g.tls || ch_.tls_active()) return reply("454 4.7.0 TLS not available");
    reset_transaction();
    // The 220 goes out in plaintext now (never delayed); what follows is TLS.
    ch_.send(out_ + "220 2.0.0 Ready to start TLS\r\n");
    out_.clear();
    tls_pending_ = true;
    in_.clear();
    return;
  }
  if (verb_is(line, "AUTH")) {
    std::string_view rest = line.size() > 5 ? line.substr(5) : std::string_view{};
    if (rest.size() < 5 || strncasecmp(rest.data(), "PLAIN", 5) != 0)
      return reply("504 5.5.4 Error: only AUTH PLAIN is supported");
    rest.remove_prefix(5);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) {
      state_ = State::AuthResponse;
      return reply("334 ");
    }
    state_ = State::AuthResponse;
    return command(rest);
  }
  reply("502 5.5.2 Error: command not recognized");
}

// "BDAT <size> [LAST]" (RFC 3030 §2): the chunk is read whatever happens —
// a refusal comes after it — so the byte stream stays in step.
void SinkConn::bdat(std::string_view line) {
  std::string_view args = line.substr(std::min<size_t>(line.size(), 5));
  const size_t sp = args.find(' ');
  const std::string_view num = args.substr(0, sp);
  const std::string_view rest = sp == std::string_view::npos ? std::string_view{} : args.substr(sp + 1);
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
  const bool last = rest.size() == 4 && strncasecmp(rest.data(), "LAST", 4) == 0;
  if (!cfg_.chunking || num.empty() || ec != std::errc() || end != num.data() + num.size() ||
      (!rest.empty() && !last)) {
    // Without a size we cannot tell chunk from command: end the connection,
    // as a real server must.
    reply("501 5.5.4 Syntax: BDAT size [LAST]");
    close_after_send_ = true;
    state_ = State::Closing;
    return;
  }
  bdat_refused_ = rcpt_ok_ == 0;
  bdat_last_ = last;
  via_bdat_ = true;
  bdat_left_ = n;
  state_ = State::Bdat;
  if (n == 0) chunk_done();  // an empty chunk is complete at once
}

void SinkConn::chunk_done() {
  state_ = State::Command;
  if (bdat_refused_) {
    const bool had_mail = has_mail_;
    reset_transaction();
    reply(had_mail ? "554 5.5.1 Error: no valid recipients" : "503 5.5.1 Error: need RCPT command");
  } else if (bdat_last_) {
    end_of_data(data_bytes_);
  } else {
    reply("250 2.0.0 " + std::to_string(data_bytes_) + " octets received");
  }
}

void SinkConn::end_of_data(uint64_t size) {
  state_ = State::Command;
  const int64_t now = now_ns();
  const double roll = static_cast<double>(shard_.rng.next() >> 11) * 0x1.0p-53 * 100.0;
  int code = 250;
  char queued[64];
  if (roll < cfg_.data_temp_fail) {
    code = 451;
    shard_.data_temp.fetch_add(1, std::memory_order_relaxed);
    reply("451 4.3.0 Injected temporary failure");
  } else if (roll < cfg_.data_temp_fail + cfg_.data_perm_fail) {
    code = 554;
    shard_.data_perm.fetch_add(1, std::memory_order_relaxed);
    reply("554 5.3.0 Injected permanent failure");
  } else {
    shard_.messages.fetch_add(1, std::memory_order_relaxed);
    shard_.recipients.fetch_add(rcpt_ok_, std::memory_order_relaxed);
    shard_.bytes.fetch_add(size, std::memory_order_relaxed);
    shard_.note_message(now);
    std::snprintf(queued, sizeof(queued), "250 2.0.0 Ok: queued as S%uX%llx", shard_.index,
                  static_cast<unsigned long long>(shard_.queue_seq++));
    reply(queued);
  }
  if (!cfg_.record_path.empty()) {
    std::string rec = "{\"time_ms\":" + std::to_string(unix_ms()) + ",\"shard\":" + std::to_string(shard_.index) +
                      ",\"conn\":" + std::to_string(ch_.conn().id()) + ",\"from\":" + base::json::quote(from_) +
                      ",\"rcpts\":[" + rcpts_json_ + "],\"rejected_rcpts\":" + std::to_string(rcpt_rejected_) +
                      ",\"size\":" + std::to_string(size) + ",\"bdat\":" + (via_bdat_ ? "true" : "false") +
                      ",\"reply\":" + std::to_string(code) +
                      ",\"tls\":" + (ch_.tls_active() ? "true" : "false") +
                      ",\"auth\":" + base::json::quote(auth_user_) + "}\n";
    shard_.add_record(rec);
  }
  reset_transaction();
}

// Replies of this read go out in one write — now, or after --reply-delay.
void SinkConn::flush() {
  if (out_.empty()) return;
  if (cfg_.reply_delay_ms == 0) {
    ch_.send(out_);
    out_.clear();
    if (close_after_send_) ch_.conn().close();
    return;
  }
  delayed_.emplace_back(now_ns() + int64_t(cfg_.reply_delay_ms) * 1000000, std::move(out_));
  out_.clear();
  if (timer_ == 0)
    timer_ = shard_.reactor->add_timer(std::chrono::milliseconds(cfg_.reply_delay_ms), [this] {
      timer_ = 0;
      send_due();
    });
}

void SinkConn::send_due() {
  const int64_t now = now_ns();
  while (!delayed_.empty() && delayed_.front().first <= now) {
    ch_.send(delayed_.front().second);
    delayed_.pop_front();
  }
  if (!delayed_.empty()) {
    timer_ = shard_.reactor->add_timer(std::chrono::nanoseconds(delayed_.front().first - now), [this] {
      timer_ = 0;
      send_due();
    });
  } else if (close_after_send_) {
    ch_.conn().close();
  }
}

}  // namespace

std::unique_ptr<engine::ConnectionHandler> SinkShard::accept(engine::Connection& conn) {
  return std::make_unique<SinkConn>(*this, conn);
}

}  // namespace ringmta::bench
