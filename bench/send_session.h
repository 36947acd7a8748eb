// bench/send_session.h — the load generator's shard and session objects.
//
// A SendShard lives on one reactor thread and owns that thread's sessions,
// latency histograms and reply-code counts (no locks: the main thread reads
// the histograms only after the threads are joined, and the live counters
// through relaxed atomics). A SendSession is one simulated SMTP client: it
// connects, greets, optionally does STARTTLS/implicit TLS and AUTH PLAIN, then
// runs transactions until the run is over, reconnecting after a failure or
// after --per-connection messages.
//
// With PIPELINING (RFC 2920) a transaction costs two round trips: MAIL, every
// RCPT and DATA go out in one write; after the 354 the message, its final dot
// and the next transaction's MAIL/RCPT/DATA go out together (RFC 2920 §3.1
// allows the message content to start a command group). Replies are matched
// to commands through a FIFO of what is outstanding.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/channel.h"
#include "bench/histogram.h"
#include "bench/message.h"
#include "bench/send.h"
#include "engine/reactor.h"
#include "tls/tls.h"

namespace ringmta::bench {

// Reply kinds, for the reply-code counts of the report.
enum class Cmd : uint8_t { Greeting, Ehlo, StartTls, Auth, Rset, Mail, Rcpt, Data, EndOfData, Quit, Count };
const char* cmd_name(Cmd c);

// Latency phases of the report.
enum class Phase : uint8_t { Connect, Greeting, Tls, Ehlo, Auth, Mail, Rcpt, EndOfData, Count };
const char* phase_name(Phase p);

// State shared by every shard of one run (read-mostly; counters are atomics).
struct SendGlobal {
  const SendConfig* config = nullptr;
  const MessageSet* messages = nullptr;
  std::shared_ptr<tls::ClientContext> tls;
  std::string auth_line;            // "AUTH PLAIN <base64>\r\n"
  int64_t start_ns = 0;
  int64_t deadline_ns = 0;          // end of --duration (0 = none)
  std::atomic<uint64_t> claimed{0};  // messages handed out (for --messages)
  std::atomic<uint64_t> failures{0}; // connection failures so far
  std::atomic<bool> stop{false};     // no new transactions; sessions QUIT
  std::atomic<bool> abort{false};    // hard limit: drop connections now
  std::atomic<bool> too_many_failures{false};
};

class SendSession;

class SendShard {
 public:
  SendShard(SendGlobal& global, unsigned index);
  ~SendShard();

  // On the shard thread: create `sessions` sessions and start connecting.
  void start(engine::Reactor& reactor, unsigned sessions);

  enum class Claim { Ok, Wait, Done };
  // May one more transaction start now? Wait: not before `wait_until` (rate limit).
  Claim claim(int64_t now, int64_t& wait_until);

  SendGlobal& global() { return g_; }
  engine::Reactor& reactor() { return *reactor_; }
  unsigned index() const { return index_; }
  uint64_t next_seq() { return seq_++; }
  void record(Phase p, int64_t nanos) { hist_[static_cast<size_t>(p)].record(nanos); }
  void count_reply(Cmd c, int code) {
    if (code >= 0 && code < 600) codes_[static_cast<size_t>(c)][static_cast<size_t>(code)]++;
  }
  void session_done() { sessions_done.fetch_add(1, std::memory_order_relaxed); }
  // Count a failed connection; `error` an errno, `code` a reply code (0: none).
  void connection_failed(const char* why, int error, int code = 0);

  // Live counters (relaxed atomics: the progress line reads them).
  alignas(64) std::atomic<uint64_t> ok{0};       // end of DATA answered 2xx
  std::atomic<uint64_t> rejected{0};             // end of DATA 4xx/5xx, or DATA refused
  std::atomic<uint64_t> lost{0};                 // in flight when a connection failed
  std::atomic<uint64_t> bytes{0};                // message bytes of `ok` messages
  std::atomic<uint64_t> connections{0};          // opened
  std::atomic<uint64_t> conn_failures{0};
  std::atomic<unsigned> sessions_done{0};

  // Read after the threads are joined.
  const Histogram& histogram(Phase p) const { return hist_[static_cast<size_t>(p)]; }
  const std::array<std::array<uint64_t, 600>, static_cast<size_t>(Cmd::Count)>& codes() const { return codes_; }
  std::string first_error;  // the first connection failure's reason (for the report)

 private:
  void tick();

  SendGlobal& g_;
  unsigned index_;
  engine::Reactor* reactor_ = nullptr;
  std::vector<std::unique_ptr<SendSession>> sessions_;
  uint64_t seq_ = 0;
  int64_t next_slot_ns_ = 0;  // rate limit: earliest start of the next transaction
  int64_t interval_ns_ = 0;
  std::array<Histogram, static_cast<size_t>(Phase::Count)> hist_;
  std::array<std::array<uint64_t, 600>, static_cast<size_t>(Cmd::Count)> codes_{};
};

}  // namespace ringmta::bench
