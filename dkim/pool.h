// dkim/pool.h — the workers that sign (hash the body, sign the header data)
// off the shard threads. A shard hands a task over and gets the result back
// through its reactor's post() (the task does that itself, so this pool knows
// nothing of the engine). Pending tasks are not bounded here: each holds one
// message that its inbound session still charges against
// limits.inflight_memory, which bounds them.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ringmta::dkim {

class SigningPool {
 public:
  explicit SigningPool(unsigned threads);  // at least one
  ~SigningPool();                          // stops and joins; pending tasks are dropped
  SigningPool(const SigningPool&) = delete;
  SigningPool& operator=(const SigningPool&) = delete;

  // Run `task` on a worker. false when stopping (the task is not run).
  bool submit(std::function<void()> task);

 private:
  void worker();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ringmta::dkim
