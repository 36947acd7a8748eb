// bench/send_session_impl.h — the SendSession class (one simulated SMTP
// client), private to the load generator (not part of send_session.h).
//
// Its own header because two files implement it: send_session.cpp (the
// connection lifecycle, timers and the shard that owns the sessions) and
// send_session_smtp.cpp (the SMTP conversation: replies in, commands out).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/send_session.h"

namespace ringmta::bench {

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

}  // namespace ringmta::bench
