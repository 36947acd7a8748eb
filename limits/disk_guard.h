// limits/disk_guard.h — queue.min_free_space: refuse new mail before the
// queue's disk is full, so delivery never wedges on it.
//
// A full disk fails every queue write: new messages, but also the delivery
// outcomes, deferrals, bounces and removals that would free space again. So
// ringmta stops taking new mail while there is still room: below
// queue.min_free_space free bytes in server.data_dir, MAIL FROM (and the end
// of a message's data, if the disk filled up meanwhile) gets "452 4.3.1
// Insufficient system storage" — a temporary refusal, the sender retries —
// while everything else keeps writing into the space kept free.
//
// statvfs() is a system call that can stall on a busy or network file system,
// so it never runs on a shard thread: a thread of its own checks once a second
// and publishes the result in atomics that shards and the metrics scrape read
// without locks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace ringmta::limits {

// The decision, apart from the system call (unit-tested): too little space
// when a threshold is set and fewer bytes are free. Unknown free space (the
// check failed) is not "low": an unreadable statvfs must not stop all mail.
bool disk_space_low(std::optional<uint64_t> free_bytes, uint64_t min_free_space);

// Bytes available to an unprivileged writer (f_bavail x f_frsize) on the file
// system holding `path`; nullopt (and *error) when statvfs fails.
std::optional<uint64_t> free_space(const std::string& path, std::string* error = nullptr);

class DiskGuard {
 public:
  // Checks once now (so the flag is right before the first connection).
  DiskGuard(std::string data_dir, uint64_t min_free_space,
            std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~DiskGuard();  // stops the thread
  DiskGuard(const DiskGuard&) = delete;
  DiskGuard& operator=(const DiskGuard&) = delete;

  // Start checking every interval on a thread of its own.
  void start();
  // One check on the calling thread (start-up, tests).
  void check();

  // Shards: is new mail to be refused now? (One relaxed atomic load.)
  bool low() const { return low_.load(std::memory_order_relaxed); }
  // Free bytes at the last check (0 before a successful one).
  uint64_t free_bytes() const { return free_.load(std::memory_order_relaxed); }
  uint64_t min_free_space() const { return min_free_; }
  // Messages refused because of it (MAIL FROM or end of data), all shards.
  void count_refusal() { refusals_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

 private:
  void run();

  const std::string data_dir_;
  const uint64_t min_free_;
  const std::chrono::milliseconds interval_;
  std::atomic<bool> low_{false};
  std::atomic<uint64_t> free_{0};
  std::atomic<uint64_t> refusals_{0};
  std::string last_error_;  // only touched by the checking thread (and start-up)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The reply for new mail while the guard is low.
inline constexpr const char* kInsufficientStorageReply = "452 4.3.1 Insufficient system storage";

}  // namespace ringmta::limits
