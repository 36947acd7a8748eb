// relay/envelope.h — from an SMTP transaction (proto/smtp) to a queue
// envelope (queue/). The two modules keep their own small enums so neither
// depends on the other; this is the one place that maps between them.
#pragma once

#include <cstdint>

#include "proto/smtp/server_session.h"
#include "queue/queue.h"

namespace ringmta::relay {

// A fresh message is delivered from memory by the shard that accepted it; its
// recipients' schedule entries lie this far ahead so the loader leaves it
// alone meanwhile, and picks it up if that shard never finishes (crash).
inline constexpr int64_t kFreshLeaseMs = 60'000;

// Everything but the message bytes; `arrival_ms` is unix milliseconds.
queue::Envelope make_envelope(const smtp::Transaction& txn, int64_t arrival_ms);

}  // namespace ringmta::relay
