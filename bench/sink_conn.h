// bench/sink_conn.h — the sink's per-shard state and connection factory.
//
// One SinkShard per reactor thread: its counters are relaxed atomics read by
// the main thread for periodic reports; its --record lines are gathered in a
// string under a mutex that only the main thread's flush competes for (so no
// shard thread ever writes to a file).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "bench/sink.h"
#include "bench/util.h"
#include "engine/reactor.h"
#include "tls/tls.h"

namespace ringmta::bench {

struct SinkGlobal {
  const SinkConfig* config = nullptr;
  std::shared_ptr<tls::ServerContext> tls;
  std::atomic<int64_t> current{0};  // open connections, all shards
  std::atomic<int64_t> peak{0};
};

class SinkShard {
 public:
  SinkShard(SinkGlobal& global, unsigned index, uint64_t seed) : g(global), index(index), rng(seed) {}

  // The listener's factory (runs on this shard's thread).
  std::unique_ptr<engine::ConnectionHandler> accept(engine::Connection& conn);
  void add_record(std::string_view line) {
    std::lock_guard lock(rec_mu);
    rec_buf.append(line);
  }
  // Main thread: everything recorded so far.
  std::string take_records() {
    std::lock_guard lock(rec_mu);
    std::string out;
    out.swap(rec_buf);
    return out;
  }
  void note_message(int64_t now) {
    int64_t zero = 0;
    first_msg_ns.compare_exchange_strong(zero, now, std::memory_order_relaxed);
    last_msg_ns.store(now, std::memory_order_relaxed);
  }

  SinkGlobal& g;
  const unsigned index;
  engine::Reactor* reactor = nullptr;
  Rng rng;
  uint64_t queue_seq = 0;

  alignas(64) std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> messages{0};     // ends of DATA answered 250
  std::atomic<uint64_t> recipients{0};   // accepted recipients of those messages
  std::atomic<uint64_t> bytes{0};        // their sizes (as received: dot-stuffed after DATA, raw by BDAT)
  std::atomic<uint64_t> rcpt_temp{0}, rcpt_perm{0}, data_temp{0}, data_perm{0};
  std::atomic<uint64_t> tls_sessions{0}, tls_failures{0}, auths{0};
  std::atomic<int64_t> first_msg_ns{0}, last_msg_ns{0};

 private:
  std::mutex rec_mu;
  std::string rec_buf;
};

}  // namespace ringmta::bench
