// engine/shard_group.cpp — N shard threads, each running its own Reactor.
//
// Reactors are constructed here on the caller's thread but set up their ring
// lazily on first use, which happens on the shard thread (init or run), so the
// ring's single-issuer owner is the shard thread. Shard threads block the
// process signals the daemon handles on its main thread.
#include "engine/shard_group.h"

#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

namespace ringmta::engine {

ShardGroup::ShardGroup(unsigned count, const ReactorOptions& options) {
  if (count == 0) count = std::thread::hardware_concurrency();
  if (count == 0) count = 1;
  reactors_.reserve(count);
  for (unsigned i = 0; i < count; i++) reactors_.push_back(std::make_unique<Reactor>(i, options));
}

ShardGroup::~ShardGroup() { stop_and_join(); }

unsigned ShardGroup::size() const { return static_cast<unsigned>(reactors_.size()); }

Reactor& ShardGroup::shard(unsigned i) { return *reactors_.at(i); }

int ShardGroup::start(std::function<int(Reactor&)> init) {
  if (!threads_.empty()) return EBUSY;
  struct StartState {
    std::mutex mu;
    std::condition_variable cv;
    unsigned done = 0;
    int first_error = 0;
  } st;

  // Threads inherit the creator's mask: block before creating them so no signal
  // can land on a shard thread in the window before it would block them itself.
  sigset_t block, old;
  sigemptyset(&block);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&block, sig);
  pthread_sigmask(SIG_BLOCK, &block, &old);

  for (unsigned i = 0; i < reactors_.size(); i++) {
    Reactor* r = reactors_[i].get();
    threads_.emplace_back([r, i, &init, &st] {
      char name[16];
      // Thread names are limited to 15 characters.
      std::snprintf(name, sizeof(name), i < 10 ? "ringmta-shard-%u" : "ringmta-sh-%u", i);
      pthread_setname_np(pthread_self(), name);
      int rc = init ? init(*r) : 0;
      {
        std::lock_guard lock(st.mu);
        if (rc != 0 && st.first_error == 0) st.first_error = rc;
        st.done++;
      }
      st.cv.notify_all();
      // If another shard failed, start() calls stop() and run() returns at once.
      r->run();
    });
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);

  std::unique_lock lock(st.mu);
  st.cv.wait(lock, [&] { return st.done == reactors_.size(); });
  int err = st.first_error;
  lock.unlock();
  if (err != 0) stop_and_join();
  return err;
}

void ShardGroup::stop_and_join() {
  for (auto& r : reactors_) r->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace ringmta::engine
