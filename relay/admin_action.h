// relay/admin_action.h — one admin operation on one message, as the admin
// server thread hands it to the message's owner shard (Scheduler::admin_apply)
// and the answer that comes back.
//
// Only the owner shard changes a message's state, and shards never read
// RocksDB: so the admin thread reads the envelope (and, for a bounce, the
// body) first and posts it with the time of that read. The shard applies the
// action only if it has not written the message since then (else: Stale, the
// admin thread reads again); if a delivery attempt of the message is running,
// the action waits until that attempt's outcome is committed and is then
// applied to the new state (an operator's "hold" is never lost to a race).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace ringmta::relay {

struct AdminAction {
  enum class Kind { Flush, Hold, Release, Delete, Bounce };
  Kind kind = Kind::Flush;
  std::string domain;  // Flush/Bounce: only recipients of this domain ("" = all pending)
  std::string reason;  // Bounce: goes into the DSN and the log
};

struct AdminOutcome {
  enum class Code {
    Done,       // applied and committed
    Unchanged,  // nothing to do (already held, nothing pending for the domain, ...)
    NotFound,   // the message left the queue (delivered, bounced, deleted)
    Stale,      // written since the admin thread read it: read again and retry
    Failed,     // queue write failed or shutting down; `detail` says why
  };
  Code code = Code::Done;
  std::string detail;
};

// Runs once on the owner shard's thread (never when the shard is torn down
// first: the admin side must time out).
using AdminReply = std::function<void(AdminOutcome)>;

// Steady-clock milliseconds: the stamp compared between the admin/loader
// reads and the shard's writes (a wall-clock step must not make a stale read
// look fresh).
int64_t steady_ms();

}  // namespace ringmta::relay
