// mailbox/store.h — the mail store: users' mailboxes in the queue's RocksDB,
// so that local delivery is ONE atomic write (the message appended to the
// user's INBOX and the recipient's queue state changed in the same Batch):
// after a kill -9 at any moment a delivered message is in the mailbox
// exactly once. Keys and values: codec.h.
//
// Threads and ownership
//   A user's mailboxes are owned by one shard, which holds the user's
//   UserState (user_state.h): a pure, in-memory object whose mutating methods
//   check, update memory and append the matching ops to a queue::Batch. The
//   shard commits that Batch (with the queue ops of the delivery, if any)
//   through Queue::commit — the commit thread does the I/O. Nothing in
//   UserState reads or writes RocksDB.
//   Everything in this header BLOCKS (RocksDB reads, or a commit waited for):
//   call it from worker threads (loaders, the admin API, ringmtactl), never
//   from a shard.
//
// Bodies
//   A body is stored once under its body id, however many messages use it
//   (a message for N local users, IMAP COPY): each message has a reference
//   key (codec.h: 'R' body id, user, mailbox, uid) written and deleted with
//   it. Removing the last reference does not delete the body — users on
//   other shards may be adding references at the same moment, and shards
//   share no counters. A removed reference leaves a hint key, and
//   collect_garbage() (a worker thread, now and then) deletes a hinted body
//   when, in this order, (1) the queue holds no message with the body's id and
//   (2) no reference to it is left. Why that is safe: a new reference comes
//   either from a delivery — whose batch changes the queue message of the
//   same id, which (1) saw gone, so no delivery can follow — or from a copy
//   of an existing reference by its owner shard, committed before that
//   reference's removal, so (2) would have seen it.
//   Hence the rules for callers: a body id is the queue ID of the message
//   delivered (or a fresh queue ID for APPEND/import, never used by another
//   message), and every batch appending a message whose body may not be
//   stored yet carries put_body() — a delivery batch always does. The cheapest
//   local delivery to N users is one batch: put_body once + N appends (built
//   by each user's owner shard, joined with queue::Batch::merge) + the
//   envelope update. Separate per-user batches each with put_body are also
//   correct; they rewrite the same key (one stored copy after compaction).
//
// Durability
//   A local delivery batch may be unsynced (set_needs_sync(false), like
//   other delivery outcomes) and stay exactly-once even across a power cut:
//   the append and the recipient's Delivered state are one WAL record, so
//   they are lost together and the message is simply delivered again. Note
//   queue::Batch::merge ORs needs_sync, and a Batch needs a sync by default:
//   clear it on the parts too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mailbox/records.h"
#include "queue/queue.h"

namespace ringmta::mailbox {

using queue::Status;

// The store's family ids in the queue (indices into the ExtraFamily list).
struct Families {
  uint32_t meta = 0;    // "mailbox": accounts, mailboxes, messages
  uint32_t bodies = 0;  // "mailbox_bodies": bodies and structures (blob files)
  uint32_t refs = 0;    // "mailbox_refs": body references and GC hints
};

// Appends the store's column families (with their options) to `extras` and
// returns their ids; pass `extras` to RocksDbOptions::extra_families,
// open_rocksdb_queue_readonly or make_memory_queue.
Families register_families(std::vector<queue::ExtraFamily>& extras);

// Puts a body and its structure blob (see "Bodies" above). Pure: adds ops.
void put_body(queue::Batch& batch, const Families& f, std::string_view body_id, std::string body,
              std::string structure);

// --- blocking readers (worker threads only) ---

class UserState;
// Loads a user's mailboxes and messages into `out` (an empty state if the
// user has nothing stored). No other writer may change the user meanwhile —
// the caller is its owner, loading it before use.
Status load_user(queue::Queue& q, const Families& f, std::string_view user, UserState& out);
// The body / structure stored under body_id (NotFound if none).
Status read_body(queue::Queue& q, const Families& f, std::string_view body_id, std::string& out);
Status read_structure(queue::Queue& q, const Families& f, std::string_view body_id, std::string& out);
// A user's totals as last committed (zero for an unknown user): quota checks
// at RCPT from any thread without asking the owner shard.
Status read_totals(queue::Queue& q, const Families& f, std::string_view user, Totals& out);
// Every user with anything stored, in name order, with totals; fn returns
// false to stop.
Status list_users(queue::Queue& q, const Families& f,
                  const std::function<bool(std::string_view user, const Totals&)>& fn);
// Export: every message of a user with its body, mailbox by mailbox in id
// order, UID order within; fn returns false to stop. Loads the user first
// (same rule as load_user).
Status for_each_message(queue::Queue& q, const Families& f, std::string_view user,
                        const std::function<bool(const Mailbox&, const Message&, const std::string& body)>& fn);

struct GcStats {
  uint64_t hints = 0;           // hints looked at
  uint64_t bodies_deleted = 0;  // bodies (and structures) deleted
  uint64_t kept_queued = 0;     // bodies kept: their queue message is still there
  uint64_t kept_referenced = 0; // bodies kept: still referenced
};
// One step of garbage collection (see "Bodies"): the hints of at most about
// max_hints bodies from `cursor` on ("" = the start), one commit (waited
// for). On return `cursor` is where the next step starts, "" when the pass
// is complete. Hints of bodies still queued stay for a later pass.
Status collect_garbage(queue::Queue& q, const Families& f, std::string& cursor, size_t max_hints, GcStats& stats);

}  // namespace ringmta::mailbox
