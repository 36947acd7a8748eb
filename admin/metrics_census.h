// admin/metrics_census.h — a count of what is in the durable queue, for the
// queue gauges of /metrics: messages by state, the oldest message's age, and
// the top destinations (recipient domains) by queued messages with the last
// error seen for each.
//
// It reads the whole queue (Queue::scan: envelopes and recipient states, no
// bodies), so it never runs on a shard: the collector runs it on the
// exposer's thread and caches the answer for a few seconds. Cost: one pass
// over the queue's metadata per refresh (about a second per million
// messages); bodies are not read.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "queue/queue.h"

namespace ringmta::admin {

struct Destination {
  std::string domain;      // lower-case recipient domain, or "other"
  uint64_t messages = 0;   // messages with at least one pending recipient there
  std::string last_error;  // newest attempt's reply for that domain ("" = none yet)
};

struct QueueCensus {
  bool ok = false;
  std::string error;         // scan failure, when !ok
  uint64_t total = 0;        // stored messages
  uint64_t held = 0;         // kFlagHeld: not delivered until released
  uint64_t ready = 0;        // not held, a pending recipient is due now
  uint64_t scheduled = 0;    // not held, every pending recipient waits for a later retry
  double oldest_age_seconds = 0;  // now - arrival of the oldest stored message (0: empty)
  // The top_n domains by messages (ties: by name), then "other" (the sum of
  // the rest; present only when there is a rest).
  std::vector<Destination> destinations;
};

// One pass over `queue`. `now_ms`: unix milliseconds.
QueueCensus take_census(queue::Queue& queue, int64_t now_ms, size_t top_n);

// An error text safe and short enough for a label value (at most 120 bytes,
// control characters replaced by spaces).
std::string error_label(std::string_view text);

}  // namespace ringmta::admin
