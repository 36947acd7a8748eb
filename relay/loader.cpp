// relay/loader.cpp — see loader.h.
#include "relay/loader.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

#include "queue/queue_id.h"
#include "relay/admin_action.h"
#include "base/clock.h"

namespace ringmta::relay {

namespace {
}  // namespace

Loader::Loader(queue::Queue& queue, unsigned shard_count, Options options, Deliver deliver)
    : queue_(queue), shard_count_(shard_count == 0 ? 1 : shard_count), options_(options), deliver_(std::move(deliver)) {}

Loader::~Loader() { stop(); }

void Loader::start() {
  start_ms_ = base::unix_ms();
  thread_ = std::thread([this] { run(); });
}

void Loader::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Loader::release(const std::string& id) {
  std::lock_guard lock(mu_);
  claimed_.erase(id);
}

void Loader::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Loader::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    poll_once(base::unix_ms());
    lock.lock();
    cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

void Loader::poll_once(int64_t now_ms) {
  // Until a lease has passed since start, treat everything that was due by
  // then as due: it includes the fresh messages of a previous run that died.
  const int64_t horizon = std::max(now_ms, start_ms_ + options_.lease.count());
  size_t budget, already;
  {
    std::lock_guard lock(mu_);
    already = claimed_.size();
    budget = already < options_.max_claimed ? options_.max_claimed - already : 0;
  }
  if (budget == 0) return;
  std::vector<std::string> ids;
  // Claimed ids may be among the earliest entries: ask for enough to get past them.
  if (auto st = queue_.due(horizon, already + budget, ids); !st.ok()) {
    spdlog::error("queue: reading the schedule failed: {}", st.message);
    return;
  }
  std::string last;
  for (const std::string& id : ids) {
    if (id == last) continue;  // one entry per pending recipient time
    last = id;
    {
      std::lock_guard lock(mu_);
      if (stopping_ || budget == 0) return;
      if (!claimed_.insert(id).second) continue;
      --budget;
    }
    queue::Envelope env;
    auto body = std::make_shared<std::string>();
    const int64_t stamp = steady_ms();
    queue::Status st = queue_.read_envelope(id, env);
    if (st.ok()) st = queue_.read_body(id, *body);
    if (!st.ok()) {
      if (st.code != queue::Status::Code::NotFound) spdlog::error("{}: cannot load from the queue: {}", id, st.message);
      release(id);  // finished meanwhile (NotFound) or unreadable: try again later
      continue;
    }
    if (env.flags & queue::kFlagHeld) {
      release(id);  // held meanwhile (its schedule entry is gone by now)
      continue;
    }
    const unsigned shard = queue::queue_id_shard(id).value_or(0) % shard_count_;
    deliver_(shard, std::move(env), std::move(body), horizon, stamp);
  }
}

}  // namespace ringmta::relay
