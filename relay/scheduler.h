// relay/scheduler.h — the owner side of onward delivery, one per shard.
//
// A message is owned by one shard (the shard number in its queue ID, modulo
// the shard count): only that shard changes its recipient state, so the
// envelope needs no locks. The scheduler splits a message's due recipients
// by domain into DeliveryJobs, sends each to the shard owning that
// destination (routing.h), gathers the JobResults, decides each recipient's
// fate (retry.h), logs one line per recipient, and writes the new state —
// together with any bounce / delay / success notice (bounce.h) — as one
// atomic queue batch. Only after that batch is durable does the message
// leave memory; a crash before then means the attempt is repeated after the
// restart (at-least-once), never lost and never double-bounced.
//
// Fresh messages come straight from the inbound session that committed them
// (the body is still in memory: no queue read); deferred and recovered ones
// come from the Loader thread.
//
// Admin operations (relay/admin_action.h, scheduler_admin.cpp) arrive here
// too, so the owner stays the only writer: held messages are never attempted
// (the queue keeps no schedule entry for them), and recipients of a domain
// suspended with `ringmtactl destination suspend` are not attempted but
// postponed by the first retry interval (suspensions live in memory only).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mailbox/service.h"
#include "queue/queue.h"
#include "relay/admin_action.h"
#include "relay/bounce.h"
#include "relay/delivery_job.h"
#include "relay/retry.h"

namespace ringmta::relay {

struct ShardContext;

class Scheduler {
 public:
  explicit Scheduler(ShardContext& shard);

  // The inbound side asks twice about a fresh message: once before its
  // acceptance is written, once after that write is durable.
  struct Intake {
    // Every recipient goes to a destination this shard knows is down
    // (delivery.destination_down_time): the attempt is already recorded in
    // the envelope (deferred, "delivery temporarily suspended", next attempt
    // per the retry schedule, as the delivery agent would answer), so the
    // acceptance is the message's only write and no job runs. The log lines
    // wait for that write.
    bool deferred = false;
    std::vector<std::string> deferred_lines;
    // Otherwise: deliver from memory after the write (no queue read) — the
    // caller keeps a copy of the envelope and the body for after_commit().
    bool keep = false;
  };
  // Before the write (may rewrite `env`, see Intake::deferred).
  Intake before_commit(queue::Envelope& env, size_t body_bytes);
  // The write is durable: log the deferrals, or start delivering a kept
  // message (`env`/`body` as kept; unused otherwise).
  void after_commit(const Intake& intake, const queue::Envelope* env, std::shared_ptr<const std::string> body);
  // A message the loader read (at steady_ms() read_stamp_ms); recipients due
  // by horizon_ms are attempted. A copy read before our last write is dropped.
  void adopt(queue::Envelope env, std::shared_ptr<const std::string> body, int64_t horizon_ms,
             int64_t read_stamp_ms = 0);
  // A destination shard's answer to one of our jobs.
  void on_result(JobResult result);
  // Start nothing new; results still arriving are recorded.
  void shutdown();

  size_t in_memory() const { return active_.size(); }

  // Admin API (scheduler_admin.cpp). `env` (and `body`, needed for Bounce) as
  // the admin thread read them at read_stamp_ms; `reply` runs once, here.
  void admin_apply(AdminAction action, queue::Envelope env, std::shared_ptr<const std::string> body,
                   int64_t read_stamp_ms, AdminReply reply);
  // Stop / restart attempting recipients of `domain` (lower case) here.
  void set_suspended(const std::string& domain, bool suspended);
  // IDs with a delivery attempt (or an admin write) running now.
  std::vector<std::string> in_flight() const;

  // Messages held in memory at most (beyond: left to the loader).
  static constexpr size_t kMaxInMemory = 50000;
  static constexpr size_t kMaxInMemoryBytes = size_t{512} << 20;  // bodies, per shard

 private:
  // Local delivery of one activation (local_delivery.cpp): the recipients
  // at local domains, by mailbox user; each user's owner shard appends to
  // the INBOX and sends its ops back; they are committed with this
  // message's outcome in ONE batch (with the body, once).
  struct LocalPart {
    std::string user;
    mailbox::Service::Ticket ticket;
    queue::Batch batch;  // the user's ops (unsynced)
    bool ok = false;
    std::string enhanced, text;  // why not, when !ok
  };
  struct LocalRun {
    std::map<std::string, std::vector<uint32_t>> users;  // user -> recipient indices
    std::vector<std::pair<uint32_t, smtp::RecipientResult>> fixed;  // decided without a mailbox (unknown...)
    size_t waiting = 0;            // users not answered yet
    std::vector<LocalPart> parts;  // answered
    bool active = false;
    bool empty() const { return users.empty() && fixed.empty(); }
  };
  struct LocalAnswer {
    std::string id;
    uint64_t activation = 0;
    LocalPart part;
  };

  struct Active {
    queue::Envelope env;  // as last committed
    std::shared_ptr<const std::string> body;
    uint64_t activation = 0;
    size_t outstanding = 0;
    std::vector<JobResult> results;
    bool claimed = false;  // loaded: release the loader's claim when done
    // Set while the outcome is being committed:
    bool committing = false;
    queue::Envelope updated;
    bool finished = false;  // every recipient final: remove the message
    std::vector<std::pair<Notice, NoticeMessage>> notices;
    std::vector<uint32_t> postponed;  // due, but their domain is suspended
    LocalRun local;                   // this activation's local deliveries
    std::vector<DeliveryJob> remote_later;  // dispatched once the local part is written
  };
  struct Recent {
    uint64_t attempts = 0;  // attempts written (kRemoved when removed)
    int64_t when = 0;       // unix ms (expiry)
    int64_t steady = 0;     // steady_ms() of the write: reads before it are stale
  };
  struct WaitingAdmin {
    AdminAction action;
    AdminReply reply;
  };

  // A message this shard has just committed. Every pending recipient is due.
  void submit_new(queue::Envelope env, std::shared_ptr<const std::string> body);
  // Whether a fresh message of `bytes` may be kept in memory (count and bytes
  // caps; beyond them the loader reads it back when its lease expires).
  bool has_room(size_t bytes) const {
    return active_.size() < kMaxInMemory && body_bytes_ + bytes <= kMaxInMemoryBytes;
  }
  // Intake::deferred: record the down destinations' deferral in `env`;
  // false (env untouched) when any recipient needs a real attempt.
  bool defer_if_down(queue::Envelope& env, std::vector<std::string>& lines);
  void activate(Active& a, int64_t horizon_ms);
  // The shard whose delivery agent takes `domain`'s jobs (routing.h).
  unsigned delivering_shard(const std::string& domain) const;
  void dispatch(DeliveryJob job);
  void complete(Active& a);
  // A JobResult with rate_limited_ms: its recipients wait that long (scheduler_outcome.cpp).
  void hold_rate_limited(Active& a, const JobResult& jr, int64_t now_ms);
  // One attempt's result applied to r (attempts, reply, state, next attempt
  // per retry.h); the decision says what else is due (a notice).
  Decision record_attempt(const queue::Envelope& env, queue::Recipient& r, const smtp::RecipientResult& rr,
                          const std::string& relay, int64_t now_ms);
  void commit(const std::string& id);
  void retry_commit(const std::string& id, uint64_t activation);
  void on_committed(const std::string& id, uint64_t activation, const queue::Status& status);
  void forget(const std::string& id, uint64_t attempts_written);
  void add_notice(Active& a, Notice kind, const std::vector<NoticeEntry>& entries, int64_t now_ms);
  // local_delivery.cpp
  bool is_local_domain(const std::string& domain) const;
  // Recipient `index` (at a local domain) into a.local (its users, or a fixed result).
  void plan_local(const queue::Envelope& env, uint32_t index, LocalRun& plan);
  void start_local(Active& a);
  void local_finished(const std::string& id, uint64_t activation);
  void on_local_answer(LocalAnswer answer);
  // The local part's ops into the outcome batch (body once + each user's appends).
  void add_local_ops(Active& a, queue::Batch& batch);
  // After the outcome write: finish every user's change; false = the write
  // failed (nothing was delivered; the message stays as last written).
  void end_local(Active& a, bool committed);
  // Ends a user's change on its owner shard.
  void release_ticket(const std::string& user, const mailbox::Service::Ticket& ticket, bool committed);
  // scheduler_admin.cpp
  void postpone_suspended(Active& a, int64_t now_ms);
  void admin_now(const AdminAction& action, const queue::Envelope& env, std::shared_ptr<const std::string> body,
                 AdminReply reply);
  void admin_committed(const std::string& id, const queue::Envelope& written, bool removed,
                       std::vector<NoticeMessage> notices, const std::vector<std::string>& lines,
                       std::shared_ptr<const std::string> body,
                       const queue::Status& status, AdminReply reply, const std::string& what);
  void run_waiting(const std::string& id, const queue::Envelope* latest, std::shared_ptr<const std::string> body);
  void remember(const std::string& id, uint64_t attempts_written);

  ShardContext& shard_;
  RetryPolicy policy_;
  std::unordered_map<std::string, Active> active_;
  size_t body_bytes_ = 0;  // sum of the bodies held by active_
  uint64_t next_activation_ = 1;
  bool stopping_ = false;
  std::mt19937_64 rng_;
  // Recently finished ids -> attempts written (kRemoved when removed): a copy
  // the loader read before our last write must not revive or repeat them.
  std::unordered_map<std::string, Recent> recent_;
  std::deque<std::pair<int64_t, std::string>> recent_order_;
  // Admin state (scheduler_admin.cpp).
  std::unordered_set<std::string> suspended_;       // recipient domains not attempted
  std::unordered_set<std::string> admin_writing_;   // an admin batch is being committed
  std::unordered_map<std::string, std::vector<WaitingAdmin>> waiting_;  // until the running write ends
};

}  // namespace ringmta::relay
