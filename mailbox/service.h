// mailbox/service.h — the mail store at run time, shared by local delivery
// (relay/), POP3 (access/) and IMAP later: which shard owns a user, the
// owners' loaded UserStates, per-user serialisation of changes, the POP3
// maildrop lock, a quota board readable from any thread, and reader threads
// for the blocking store calls (store.h) — so no shard ever reads RocksDB.
//
// Ownership (ARCHITECTURE.md): a user's mailboxes belong to one shard,
// owner_of(user) (a hash of the user name, like destinations). Only that
// shard calls change()/finish()/lock()/unlock() for the user; other shards
// post() to it. Changes of one user run one at a time, in order: the next
// change starts only when the previous one has finish()ed, i.e. its batch is
// durable (or failed) — so the user's account and mailbox records (UIDNEXT,
// totals) reach the disk in the order they were made, whichever shard's
// commit carries the ops (a local delivery's ops ride in the message owner's
// outcome batch). A failed commit drops the loaded state; the next change
// reloads it (UIDs handed out meanwhile are never reused: store.h).
//
// Threads: the constructor and start() run on the main thread before the
// shards; change()/finish()/lock()/unlock()/loaded() on the user's owner
// shard; read() and totals() from any shard; readers are the Service's own.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/reactor.h"
#include "mailbox/records.h"
#include "mailbox/store.h"
#include "mailbox/user_state.h"
#include "queue/queue.h"

namespace ringmta::mailbox {

struct ServiceOptions {
  unsigned reader_threads = 2;
};

class Service {
 public:
  // `shards`: every shard's reactor, by shard id (they outlive the Service's use).
  Service(queue::Queue& queue, Families families, std::vector<engine::Reactor*> shards,
          ServiceOptions options = {});
  ~Service();  // stops and joins the readers; queued reads are dropped
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Blocking, main thread, before the shards run: reads every user's totals
  // into the quota board (list_users) and starts the readers.
  queue::Status start();

  queue::Queue& queue() { return queue_; }
  const Families& families() const { return families_; }
  unsigned owner_of(std::string_view user) const;

  // ---- any shard ----
  // Runs `work` on a reader thread (blocking store calls allowed there), then
  // `done(result)` on `reactor`'s thread.
  template <typename R>
  void read(engine::Reactor& reactor, std::function<R()> work, std::function<void(R)> done);
  // The user's totals as last committed (zero if nothing stored): the RCPT
  // quota check. A mutex held for a map lookup, never I/O.
  Totals totals(std::string_view user) const;
  // Every user's totals added up, and how many users have mail: /metrics's
  // mailbox gauges (no per-user series).
  struct Summary {
    uint64_t users = 0;
    Totals totals;
  };
  Summary summary() const;

  // ---- the user's owner shard only ----
  // One change to `user`. `fn` runs on this shard when the user's earlier
  // changes have finished, with the loaded state (loaded on a reader first
  // if needed; null if loading failed — then call finish(ticket, false)).
  // `fn` mutates the state (ops into a Batch), gets the Batch committed —
  // itself (commit() below) or inside another batch (local delivery: the
  // message owner's) — and calls finish(ticket, committed) exactly once.
  struct Ticket {
    std::string user;
    uint64_t serial = 0;
  };
  using Change = std::function<void(UserState* state, Ticket ticket)>;
  void change(std::string user, Change fn);
  // Ends a change: committed = its ops are durable (the quota board is
  // updated from the state); false = they are not (the state is dropped and
  // reloaded by the next change). Starts the user's next change, if any.
  void finish(const Ticket& ticket, bool committed);
  // Convenience for a change whose batch carries only store ops: commits it,
  // then finish()es and calls done(status) on this shard.
  void commit(const Ticket& ticket, queue::Batch batch, std::function<void(queue::Status)> done);

  // The POP3 maildrop lock (RFC 1939 §8: exclusive per maildrop). True if
  // `holder` got it: non-zero and unique across shards (e.g. the session's
  // shard id in the top 16 bits, its number below). Loaded states stay in
  // memory while the daemon runs (a later delivery or login needs them).
  bool lock(const std::string& user, uint64_t holder);
  void unlock(const std::string& user, uint64_t holder);

  // Called on the user's owner shard after every change that finished
  // committed (also read-only ones: the listener compares what it cares
  // about), with the state as it now stands. IMAP uses it to tell idling
  // sessions about new mail, whoever made the change (local delivery, POP3,
  // another IMAP session, the admin API). Set before the shards run.
  using Listener = std::function<void(const std::string& user, const UserState& state)>;
  void set_listener(Listener listener) { listener_ = std::move(listener); }

 private:
  struct Job {
    std::function<void()> run;
  };
  struct UserSlot {
    std::unique_ptr<UserState> state;
    std::deque<Change> waiting;
    bool busy = false;
    uint64_t serial = 0;
    uint64_t lock_holder = 0;  // 0 = unlocked
  };
  struct Shard {
    std::unordered_map<std::string, UserSlot> users;
  };
  void submit(std::function<void()> job);
  void reader();
  void run_next(const std::string& user);

  queue::Queue& queue_;
  Families families_;
  std::vector<engine::Reactor*> reactors_;
  ServiceOptions options_;
  Listener listener_;
  std::vector<Shard> shards_;  // by shard id; each touched only by its own thread

  mutable std::mutex board_mu_;
  std::unordered_map<std::string, Totals> board_;

  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> readers_;
};

template <typename R>
void Service::read(engine::Reactor& reactor, std::function<R()> work, std::function<void(R)> done) {
  submit([&reactor, work = std::move(work), done = std::move(done)]() mutable {
    R result = work();
    reactor.post([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  });
}

}  // namespace ringmta::mailbox
