// mailbox/service.cpp — see service.h.
#include "mailbox/service.h"

#include <utility>

namespace ringmta::mailbox {

Service::Service(queue::Queue& queue, Families families, std::vector<engine::Reactor*> shards,
                 ServiceOptions options)
    : queue_(queue),
      families_(families),
      reactors_(std::move(shards)),
      options_(options),
      shards_(reactors_.size()) {}

Service::~Service() {
  {
    std::lock_guard lock(q_mu_);
    stopping_ = true;
    jobs_.clear();
  }
  q_cv_.notify_all();
  for (auto& t : readers_) t.join();
}

queue::Status Service::start() {
  std::unordered_map<std::string, Totals> board;
  auto st = list_users(queue_, families_, [&board](std::string_view user, const Totals& t) {
    board.emplace(std::string(user), t);
    return true;
  });
  // A read-only or older database without the store's families has no users.
  if (!st.ok() && st.code != queue::Status::Code::InvalidArgument) return st;
  {
    std::lock_guard lock(board_mu_);
    board_ = std::move(board);
  }
  for (unsigned i = 0; i < std::max(1u, options_.reader_threads); ++i) readers_.emplace_back([this] { reader(); });
  return queue::Status::Ok();
}

unsigned Service::owner_of(std::string_view user) const {
  // FNV-1a, as relay/routing.h destination_shard: stable across restarts.
  if (reactors_.size() <= 1) return 0;
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : user) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<unsigned>(h % reactors_.size());
}

Totals Service::totals(std::string_view user) const {
  std::lock_guard lock(board_mu_);
  auto it = board_.find(std::string(user));
  return it == board_.end() ? Totals{} : it->second;
}

Service::Summary Service::summary() const {
  Summary s;
  std::lock_guard lock(board_mu_);
  for (const auto& [user, t] : board_) {
    if (t.messages == 0) continue;
    ++s.users;
    s.totals.messages += t.messages;
    s.totals.bytes += t.bytes;
  }
  return s;
}

void Service::submit(std::function<void()> job) {
  {
    std::lock_guard lock(q_mu_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  q_cv_.notify_one();
}

void Service::reader() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(q_mu_);
      q_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

void Service::change(std::string user, Change fn) {
  Shard& shard = shards_[owner_of(user)];
  UserSlot& slot = shard.users[user];
  slot.waiting.push_back(std::move(fn));
  if (!slot.busy) run_next(user);
}

// Starts the user's next waiting change: loads the state on a reader first
// when it is not in memory (the load result comes back to this shard).
void Service::run_next(const std::string& user) {
  const unsigned owner = owner_of(user);
  Shard& shard = shards_[owner];
  auto it = shard.users.find(user);
  if (it == shard.users.end()) return;
  UserSlot& slot = it->second;
  if (slot.busy) return;
  if (slot.waiting.empty()) {
    // Nothing to do: keep the state loaded (the next delivery or login
    // needs it) unless nothing holds the slot at all.
    if (!slot.state && slot.lock_holder == 0) shard.users.erase(it);
    return;
  }
  slot.busy = true;
  if (!slot.state) {
    engine::Reactor& reactor = *reactors_[owner];
    read<std::shared_ptr<UserState>>(
        reactor,
        [this, user]() -> std::shared_ptr<UserState> {
          auto state = std::make_shared<UserState>(families_, user);
          if (!load_user(queue_, families_, user, *state).ok()) return nullptr;
          return state;
        },
        [this, user, owner](std::shared_ptr<UserState> loaded) {
          UserSlot& s = shards_[owner].users[user];
          if (loaded) s.state = std::make_unique<UserState>(std::move(*loaded));
          Change fn = std::move(s.waiting.front());
          s.waiting.pop_front();
          fn(s.state.get(), Ticket{user, ++s.serial});
        });
    return;
  }
  Change fn = std::move(slot.waiting.front());
  slot.waiting.pop_front();
  fn(slot.state.get(), Ticket{user, ++slot.serial});
}

void Service::finish(const Ticket& ticket, bool committed) {
  Shard& shard = shards_[owner_of(ticket.user)];
  auto it = shard.users.find(ticket.user);
  if (it == shard.users.end() || !it->second.busy || it->second.serial != ticket.serial) return;
  UserSlot& slot = it->second;
  slot.busy = false;
  if (committed && slot.state) {
    std::lock_guard lock(board_mu_);
    board_[ticket.user] = slot.state->totals();
  } else if (!committed) {
    slot.state.reset();  // memory may be ahead of the disk: reload before the next change
  }
  // Not from inside the caller's stack: the next change may finish at once.
  const std::string user = ticket.user;
  reactors_[owner_of(user)]->post([this, user, notify = committed && slot.state && listener_] {
    if (notify) {
      auto u = shards_[owner_of(user)].users.find(user);
      if (u != shards_[owner_of(user)].users.end() && u->second.state) listener_(user, *u->second.state);
    }
    run_next(user);
  });
}

void Service::commit(const Ticket& ticket, queue::Batch batch, std::function<void(queue::Status)> done) {
  engine::Reactor* reactor = reactors_[owner_of(ticket.user)];
  queue_.commit(std::move(batch), [this, reactor, ticket, done = std::move(done)](queue::Status st) mutable {
    reactor->post([this, ticket, st = std::move(st), done = std::move(done)] {
      finish(ticket, st.ok());
      if (done) done(st);
    });
  });
}

bool Service::lock(const std::string& user, uint64_t holder) {
  UserSlot& slot = shards_[owner_of(user)].users[user];
  if (slot.lock_holder != 0 && slot.lock_holder != holder) return false;
  slot.lock_holder = holder;
  return true;
}

void Service::unlock(const std::string& user, uint64_t holder) {
  Shard& shard = shards_[owner_of(user)];
  auto it = shard.users.find(user);
  if (it == shard.users.end() || it->second.lock_holder != holder) return;
  it->second.lock_holder = 0;
  // A slot made only for the lock (nothing loaded, nothing running) goes
  // with it: logins of users who never get mail must not pile up slots.
  const UserSlot& slot = it->second;
  if (!slot.state && !slot.busy && slot.waiting.empty()) shard.users.erase(it);
}

}  // namespace ringmta::mailbox
