// queue/queue.h — the durable message queue: a narrow API (in the spirit of
// OpenSMTPD's queue backend) with two implementations: RocksDB (production,
// group commit on a dedicated commit thread) and memory (unit tests).
//
// Data model (RocksDB column families, see ARCHITECTURE.md):
//   messages   : id -> envelope, and id -> body (bodies may live in blob files)
//   recipients : id/index -> per-recipient state
//   schedule   : big-endian due time (unix ms) + id -> "" (range scan finds due work)
// All writes go through commit(Batch): one Batch is applied atomically, and
// many Batches from many shards are merged into one synced write (group commit).
//
// Extra column families: another module (the mail store, mailbox/) may keep
// its own records in the same database, so that one of its changes and a
// queue change are ONE atomic write (local delivery: the message appended to
// a mailbox and the recipient marked delivered). It registers its families
// when the queue is opened (RocksDbOptions::extra_families, or
// make_memory_queue's argument), addresses them by their index in that list
// ("family id"), adds generic put/delete ops to a Batch, and reads them back
// with get_extra / scan_extra. The queue knows nothing of their contents.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringmta::queue {

// DSN NOTIFY bits (RFC 3461 §4.1). 0 means "not given" (treated as FAILURE,DELAY).
enum NotifyBits : uint8_t { kNotifyNever = 1, kNotifySuccess = 2, kNotifyFailure = 4, kNotifyDelay = 8 };
enum class Ret : uint8_t { Unspecified = 0, Full = 1, Headers = 2 };                 // RFC 3461 §4.3
enum class BodyType : uint8_t { Unspecified = 0, SevenBit = 1, EightBitMime = 2, BinaryMime = 3 };
enum class RecipientState : uint8_t { Pending = 0, Delivered = 1, Failed = 2 };

struct Recipient {
  std::string address;        // forward-path without angle brackets
  std::string orcpt;          // ORCPT, decoded ("rfc822;user@example.org"); empty if not given
  uint8_t notify = 0;         // NotifyBits
  RecipientState state = RecipientState::Pending;
  uint32_t attempts = 0;
  int64_t next_attempt_ms = 0;  // unix ms; when this recipient is due
  int64_t last_attempt_ms = 0;
  std::string last_reply;       // last remote reply or local diagnostic
  std::string remote_mta;       // host[ip]:port of the last attempt
  bool delay_warned = false;    // a delay DSN was already sent
};

enum EnvelopeFlags : uint32_t { kFlagBounce = 1, kFlagHeld = 2 };

struct Envelope {
  std::string id;                     // queue ID (see queue_id.h)
  std::string sender;                 // reverse-path; "" is the null sender <>
  std::vector<Recipient> recipients;
  std::string envid;                  // ENVID, decoded; empty if not given
  Ret ret = Ret::Unspecified;
  BodyType body_type = BodyType::Unspecified;
  bool smtputf8 = false;
  std::string helo;                   // client's HELO/EHLO argument
  std::string client_address;         // client IP
  std::string auth_identity;          // SMTP AUTH user; empty if none
  int64_t arrival_ms = 0;             // unix ms when the message was accepted
  uint64_t size = 0;                  // body bytes as stored
  uint32_t flags = 0;                 // EnvelopeFlags
};

struct Status {
  enum class Code { Ok, NotFound, NoSpace, IoError, Corruption, InvalidArgument, ShuttingDown };
  Code code = Code::Ok;
  std::string message;
  bool ok() const { return code == Code::Ok; }
  static Status Ok() { return {}; }
};

// An atomic set of changes. Schedule index entries are maintained by the queue
// from the recipients' next_attempt_ms (pending recipients only; none while
// the envelope has kFlagHeld).
class Batch {
 public:
  // A generic write to extra column family `family` (an index into the
  // families registered at open). Keys are opaque bytes, 1..64 KiB.
  void put_extra(uint32_t family, std::string key, std::string value);
  void delete_extra(uint32_t family, std::string key);
  // Moves every op of `other` to the end of this batch (one atomic write
  // made of changes built on several threads). needs_sync is or-ed.
  void merge(Batch other);

  // A new message (envelope + body).
  void put_message(Envelope envelope, std::string body);
  // Rewrite an existing message's envelope (recipient states, attempts,
  // schedule). `previous` is the envelope as last stored, so stale schedule
  // entries can be removed without a read.
  void update_envelope(const Envelope& previous, Envelope updated);
  // Delete a message, its recipients and its schedule entries.
  void remove_message(const Envelope& stored);

  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }

  // Whether done() must wait for an fsync (Fsync mode). Acceptances need it:
  // the 250 promises the message survives a power cut. Delivery outcomes do
  // not: written unsynced, they are already safe from a process crash (the WAL
  // record is in the OS), and an OS crash that loses one only means the
  // message is tried again (a duplicate, as with Postfix, whose queue-file
  // updates after delivery are not fsynced either). The next synced write, or
  // the OS's own writeback, makes them durable; the WAL keeps them in order,
  // so an outcome is never durable without everything written before it.
  void set_needs_sync(bool v) { needs_sync_ = v; }
  bool needs_sync() const { return needs_sync_; }

  struct Op {
    enum class Kind { Put, Update, Remove, ExtraPut, ExtraDelete } kind;
    Envelope envelope;       // new state (Put/Update) or the stored one (Remove)
    Envelope previous;       // Update only
    std::string body;        // Put only; the value for ExtraPut
    uint32_t family = 0;     // ExtraPut/ExtraDelete
    std::string key;         // ExtraPut/ExtraDelete
    bool is_extra() const { return kind == Kind::ExtraPut || kind == Kind::ExtraDelete; }
  };
  const std::vector<Op>& ops() const { return ops_; }
  // Hands the ops over, leaving the batch empty (queues consume batches this way).
  std::vector<Op> take_ops() { return std::exchange(ops_, {}); }

 private:
  std::vector<Op> ops_;
  bool needs_sync_ = true;
};

// Called once the batch is durable (per the durability mode) or has failed.
// Runs on the queue's commit thread: keep it short and hop to your own thread.
using Done = std::function<void(Status)>;

// An extra column family (see the top of this file) and the few RocksDB
// options its owner may choose; everything else is the queue's base options.
struct ExtraFamily {
  std::string name;                      // RocksDB column family name; unique
  size_t write_buffer_size = 4 << 20;    // memtable size before a flush
  // Values of min_blob_size bytes and more go to blob files with garbage
  // collection (as the queue's bodies do): for large, long-lived values.
  bool blob_files = false;
  size_t min_blob_size = 4 << 10;
};

// The visitor of scan_extra: return false to stop.
using ExtraVisitor = std::function<bool(std::string_view key, std::string_view value)>;

struct QueueStats {
  uint64_t batches = 0;       // Batches committed
  uint64_t writes = 0;        // RocksDB writes (one per group commit)
  uint64_t syncs = 0;         // synced writes (fsyncs of the WAL); a group
                              // is synced if any of its batches needs_sync()
  uint64_t messages_put = 0;  // put_message ops committed
};

class Queue {
 public:
  virtual ~Queue() = default;
  // Apply `batch` atomically; `done` runs when it is durable or failed.
  virtual void commit(Batch batch, Done done) = 0;
  // Reads (any thread; they see committed data).
  virtual Status read_envelope(std::string_view id, Envelope& out) = 0;
  virtual Status read_body(std::string_view id, std::string& out) = 0;
  // Visit every envelope in queue-ID order; return false from fn to stop early.
  virtual Status scan(const std::function<bool(const Envelope&)>& fn) = 0;
  // The greatest message ID in the queue ("" when empty). Start-up uses its
  // time as the ID generator's floor, so a clock that stepped back across a
  // restart cannot reissue a queued message's ID.
  virtual Status last_id(std::string& out) = 0;
  // IDs with a schedule entry due at or before now_ms, earliest first, at most max.
  virtual Status due(int64_t now_ms, size_t max, std::vector<std::string>& ids) = 0;
  // Extra column families (any thread; blocking reads, never on a shard).
  // InvalidArgument for a family id that was not registered at open.
  virtual Status get_extra(uint32_t family, std::string_view key, std::string& out) = 0;
  // Every key in [begin, end) in key order (end "" = to the last key), from
  // one consistent snapshot taken at the call.
  virtual Status scan_extra(uint32_t family, std::string_view begin, std::string_view end,
                            const ExtraVisitor& fn) = 0;
  // Wait until every batch handed to commit() so far is durable (and its done
  // has run), then return. Blocks: never call it from a done callback or a
  // shard thread; it is for shutdown and tests.
  virtual Status flush() = 0;
  virtual QueueStats stats() const = 0;
};

enum class Durability { Fsync, Wal };  // Fsync: synced WAL; Wal: written, not synced

// Called on the commit thread after each successful group write: how many
// Batches it merged and how long the (synced) RocksDB write took. For
// metrics; must be quick and must not call back into the queue.
using CommitObserver = std::function<void(size_t batches, double write_seconds)>;

struct RocksDbOptions {
  std::string path;                   // directory of the database
  Durability durability = Durability::Fsync;
  size_t max_batch_bytes = 64 << 20;  // cap on one group commit
  CommitObserver on_commit = {};      // optional
  // Gathering (Fsync mode only; PostgreSQL's commit_delay, MySQL's
  // binlog_group_commit_sync_delay): when the last synced round held at least
  // two batches, the commit thread waits for the round to reach
  // commit_wait_batches, until its oldest batch is commit_wait old (counted
  // from that batch's commit(), so no batch waits longer for company, however
  // long it sat behind the previous round). Fewer, fuller fsyncs cost
  // less CPU; a lone sender (rounds of one) never waits. 0 = never wait.
  std::chrono::microseconds commit_wait{0};
  size_t commit_wait_batches = 16;
  // Column families of other modules, created if missing (an existing queue
  // without them opens and gains them). Family id = index in this vector.
  std::vector<ExtraFamily> extra_families = {};
};

// Open (creating if needed) the RocksDB queue and start its commit thread.
Status open_rocksdb_queue(const RocksDbOptions& options, std::unique_ptr<Queue>& out);
// Open read-only while another process may own the database (ringmtactl).
// commit() on the result fails with InvalidArgument. It is a RocksDB secondary
// instance: it shows what the owner had written (WAL included) at open time.
Status open_rocksdb_queue_readonly(const std::string& path, std::unique_ptr<Queue>& out,
                                   const std::vector<ExtraFamily>& extra_families = {});
// In-memory queue with the same semantics, for unit tests. Its done runs
// synchronously inside commit(), on the caller's thread (after its lock is
// released, so done may call back into the queue).
// extra_families: as in RocksDbOptions (only their count matters here).
std::unique_ptr<Queue> make_memory_queue(const std::vector<ExtraFamily>& extra_families = {});

}  // namespace ringmta::queue
