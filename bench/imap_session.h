// bench/imap_session.h — the per-connection state machine of
// `ringmta-bench imap` and the run state its sessions share (one thread:
// the epoll loop of imap_run.cpp; only the idle-latency counters are read by
// the delivery thread, hence the atomics).
//
// A session logs in, gets to its mode's starting line (Ready: selected; or
// IDLE acknowledged) and waits there until every session has, so that the
// measured phase starts for all at once and is not mixed with logins.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/histogram.h"
#include "bench/imap.h"
#include "bench/imap_conn.h"

namespace ringmta::bench {

struct ImapShared {
  const ImapConfig* cfg = nullptr;
  SSL_CTX* ctx = nullptr;
  // Setup and outcome.
  unsigned started = 0, ready = 0, failed = 0, finished = 0;
  unsigned failed_setup = 0;  // of `failed`: before reaching Ready / IDLE
  unsigned busy = 0;  // sessions still working in the current measured phase
  std::string first_error;
  // fetch
  uint64_t expected = 0;  // sum of the sessions' EXISTS at EXAMINE
  uint64_t meta_msgs = 0, body_msgs = 0, body_bytes = 0, mismatches = 0;
  Histogram meta_latency, body_latency;
  // append
  std::string append_template;  // --size bytes; the Message-ID digits are patched per message
  size_t append_id_pos = 0;
  uint64_t append_issued = 0, append_done = 0, append_bytes = 0;
  bool literal_plus_used = false, literal_sync_used = false;
  Histogram append_latency;
  // idle / idle-latency
  unsigned idling = 0, peak_idling = 0;
  std::unique_ptr<std::atomic<uint32_t>[]> seen;  // per session: probes seen as EXISTS
  std::vector<std::vector<int64_t>> arrivals;     // per session, per probe: now_ns() of its EXISTS (-1: none)
};

class ImapSession {
 public:
  enum class Step { Connect, Greeting, Login, Capability, Select, Ready, IdleStart, Idling, IdleDone,
                    Meta, MetaDone, Body, Append, AppendCont, Logout, Finished, Failed };

  ImapSession(ImapShared& shared, unsigned index) : sh_(shared), index_(index) {}
  bool start();                   // connect; false when it failed at once (counted)
  void on_event();                // epoll readiness
  void begin_meta();              // fetch: UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)
  void begin_body();              // fetch: BODY.PEEK[] batches
  void end_fetch();               // fetch --no-body: LOGOUT after the metadata pass
  void begin_append();            // append: until the run's total is issued
  void end_idle();                // DONE, then LOGOUT
  void check_timeout(int64_t now, int64_t limit_ns);

  Step step() const { return step_; }
  ImapConn& conn() { return conn_; }
  std::string user() const;

 private:
  void on_response(ImapResponse& r);
  void on_tagged_ok();
  void on_fetch(const ImapResponse& r);
  void on_exists(uint32_t n);
  void command(const std::string& text);  // tag + text + CRLF
  void set_ready();
  void next_body_batch();
  void next_append();
  void logout();
  void fail(const std::string& why);
  void set_busy(bool b);

  ImapShared& sh_;
  unsigned index_;
  ImapConn conn_;
  Step step_ = Step::Connect;
  std::string tag_;
  uint32_t tag_n_ = 0;
  int64_t sent_at_ = 0;    // when the awaited command went out (0: nothing awaited)
  bool busy_ = false;
  bool literal_plus_ = false;
  std::string pending_literal_;  // synchronising APPEND: sent after "+"
  uint32_t exists_ = 0, base_exists_ = 0;
  std::vector<uint32_t> uids_;   // fetch: from the metadata pass, sorted
  size_t body_next_ = 0, batch_expected_ = 0, batch_got_ = 0;
  uint64_t meta_got_ = 0;
  std::vector<uint32_t> body_uids_;  // UIDs seen in the body pass (verified at the end)
};

// The UID of a FETCH response ("* 3 FETCH (UID 17 ...)"), 0 if none; and
// whether it carries BODY[] — scanning only the top level of the list,
// outside quoted strings (literal bytes are not in the text at all).
struct FetchItems {
  uint32_t uid = 0;
  bool body = false;
};
FetchItems scan_fetch(const std::string& text);

}  // namespace ringmta::bench
