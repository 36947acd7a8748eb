// queue/queue_id.h — queue IDs: short, unique across shards and restarts, and
// sorting by arrival time (so a scan in ID order is roughly oldest first).
#pragma once

#include <cstdint>
#include <string>

namespace ringmta::queue {

// One generator per shard (not thread-safe; no shared state between shards).
class QueueIdGenerator {
 public:
  explicit QueueIdGenerator(unsigned shard);
  // 16 characters [0-9A-Z] without ambiguous letters: time, shard, sequence.
  std::string next();

 private:
  unsigned shard_;
  uint64_t last_ms_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace ringmta::queue
