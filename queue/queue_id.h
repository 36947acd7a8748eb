// queue/queue_id.h — queue IDs: short, unique across shards and restarts, and
// sorting by arrival time (so a scan in ID order is roughly oldest first).
//
// Layout: 80 bits written as 16 Crockford base32 characters, most significant
// first, so string order is numeric order:
//   48 bits unix ms | 12 bits shard | 20 bits per-ms sequence.
// Within a process the time part never goes backwards: if the clock steps back
// the generator keeps using its last ms, and when a ms's 2^20 sequence numbers
// are used up it borrows the next ms. Across a restart whose clock went back,
// pass the newest id time still in the queue as `floor_ms`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringmta::queue {

// One generator per shard (not thread-safe; no shared state between shards).
class QueueIdGenerator {
 public:
  explicit QueueIdGenerator(unsigned shard);
  // Ids from this generator use times > floor_ms (see the file comment).
  QueueIdGenerator(unsigned shard, uint64_t floor_ms);
  // 16 characters [0-9A-Z] without ambiguous letters: time, shard, sequence.
  std::string next();
  // next() with the clock reading given (for tests and callers that have it).
  std::string next_at(uint64_t now_ms);

  static constexpr unsigned kShardBits = 12;  // shard is taken modulo 4096
  static constexpr unsigned kSeqBits = 20;

 private:
  unsigned shard_;
  uint64_t last_ms_ = 0;
  uint32_t seq_ = 0;
};

// The ms time encoded in a queue id, or nothing if `id` is not one.
std::optional<uint64_t> queue_id_time_ms(std::string_view id);
// The shard number encoded in a queue id (modulo 4096), or nothing.
std::optional<unsigned> queue_id_shard(std::string_view id);

}  // namespace ringmta::queue
