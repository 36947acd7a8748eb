// relay/loader.h — brings due messages from the queue back into memory.
//
// Shards never read RocksDB (a read can block on disk), so one loader thread
// does: every poll interval it asks the queue's schedule index for entries
// due by now, reads each message (envelope + body) it has not handed out yet,
// and hands it to its owner shard (the shard number in its queue ID, modulo
// the shard count). The owner calls release(id) once it is done with the
// message (state committed), after which the ID may be loaded again when it
// is next due.
//
// Freshly accepted messages are delivered from memory by the shard that took
// them; their schedule entry lies `lease` ahead, so the loader only sees them
// if that attempt has not finished by then (or the process died). At start
// the horizon is start time + lease, so after a crash every message that was
// in flight is picked up at once.
//
// Memory is bounded: at most max_claimed messages are handed out at a time.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "queue/queue.h"

namespace ringmta::relay {

class Loader {
 public:
  // Called on the loader thread; must hand the message to `shard` (post).
  // read_stamp_ms: steady_ms() (relay/admin_action.h) just before the read,
  // so the owner can tell a copy older than its own last write.
  using Deliver = std::function<void(unsigned shard, queue::Envelope env, std::shared_ptr<const std::string> body,
                                     int64_t horizon_ms, int64_t read_stamp_ms)>;

  struct Options {
    std::chrono::milliseconds poll_interval{1000};
    std::chrono::milliseconds lease{60000};  // relay/envelope.h kFreshLeaseMs
    size_t max_claimed = 20000;
  };

  Loader(queue::Queue& queue, unsigned shard_count, Options options, Deliver deliver);
  ~Loader();  // stops the thread

  void start();
  void stop();
  // Any thread: the owner finished with `id`.
  void release(const std::string& id);
  // Any thread: poll now rather than at the next interval.
  void wake();

 private:
  void run();
  void poll_once(int64_t now_ms);

  queue::Queue& queue_;
  const unsigned shard_count_;
  const Options options_;
  const Deliver deliver_;
  int64_t start_ms_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::unordered_set<std::string> claimed_;
  std::thread thread_;
};

}  // namespace ringmta::relay
