// dkim/pool.cpp — see pool.h.
#include "dkim/pool.h"

#include <pthread.h>

#include <algorithm>

namespace ringmta::dkim {

SigningPool::SigningPool(unsigned threads) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) workers_.emplace_back([this] { worker(); });
}

SigningPool::~SigningPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

bool SigningPool::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void SigningPool::worker() {
  pthread_setname_np(pthread_self(), "ringmta-dkim");  // for top -H and the like
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace ringmta::dkim
