// limits/inflight_budget.h — limits.inflight_memory: the message bodies that
// all sessions of all shards hold in memory before their queue commit.
//
// A session reports how many body bytes it holds after each read
// (update()); while the total is over the budget it stops reading until some
// memory is released elsewhere (TCP back-pressure on its client). Because a
// budget filled by half-received bodies could otherwise wait on itself for
// ever, one waiting session at a time may overdraw (the "overdraft"), so some
// body always makes progress: memory stays within the budget plus one
// message (limits.max_message_size) plus one read per session.
//
// A body's first `small` bytes (64 KiB) never wait: most mail is smaller than
// that, and it must not queue behind large bodies that stalled clients keep
// open (those are ended by the body deadline, limits.min_data_rate). So the
// bound is the budget plus 64 KiB per connection in the worst case — the same
// order as the per-connection input and output caps (relay/inbound_flow.cpp).
//
// The alternative the issue offered — spilling bodies to the queue's blob
// storage while they arrive — would cost a RocksDB write (off the shard,
// through the commit thread) per piece of every large message, where the
// common case (bodies far smaller than the budget) costs nothing here; a
// waiting session costs its client only time. Chosen: wait.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringmta::limits {

class InflightBudget {
 public:
  static constexpr uint64_t kSmallBody = 64 * 1024;
  explicit InflightBudget(uint64_t limit, uint64_t small = kSmallBody) : limit_(limit), small_(small) {}

  // `holder` (a unique non-zero id) now holds `now` bytes; `charged` is what
  // it held before and is updated. Returns true if the holder may go on
  // reading, false if it must wait (then call again later with the same
  // `now` until it returns true). now == 0 releases everything it held.
  bool update(uint64_t holder, uint64_t& charged, uint64_t now);

  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  const uint64_t small_;  // bodies up to this size never wait
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> overdraft_{0};  // holder allowed past the limit; 0 = none
};

}  // namespace ringmta::limits
