// queue/rocksdb_queue.h — the RocksDB Queue (private to queue/; callers use
// open_rocksdb_queue / open_rocksdb_queue_readonly from queue.h).
//
// Split over two files: rocksdb_queue.cpp opens/closes the database and serves
// reads; rocksdb_commit.cpp holds the commit thread (group commit).
//
// Threads: any thread may call commit() and the reads. commit() only queues
// the batch under mu_ (shard threads never wait for I/O); the commit thread
// "ringmta-commit" is the only writer. Reads go straight to RocksDB, which
// is safe concurrently with writes; each read uses one snapshot so an
// envelope and its recipients come from the same commit.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "queue/queue.h"

namespace ringmta::queue {

// RocksDB status -> queue Status (NoSpace for ENOSPC, IoError for other I/O).
Status from_rocksdb(const rocksdb::Status& s);

class RocksDbQueue final : public Queue {
 public:
  struct Parts {
    std::unique_ptr<rocksdb::DB> db;
    std::vector<rocksdb::ColumnFamilyHandle*> cfs;  // CfIndex order
    bool read_only = false;
    std::string secondary_dir;  // removed on close (read-only instances)
  };
  RocksDbQueue(Parts parts, const RocksDbOptions& options);
  ~RocksDbQueue() override;

  void commit(Batch batch, Done done) override;
  Status read_envelope(std::string_view id, Envelope& out) override;
  Status read_body(std::string_view id, std::string& out) override;
  Status scan(const std::function<bool(const Envelope&)>& fn) override;
  Status last_id(std::string& out) override;
  Status due(int64_t now_ms, size_t max, std::vector<std::string>& ids) override;
  Status get_extra(uint32_t family, std::string_view key, std::string& out) override;
  Status scan_extra(uint32_t family, std::string_view begin, std::string_view end, const ExtraVisitor& fn) override;
  Status flush() override;
  QueueStats stats() const override;

 private:
  struct Pending {
    Batch batch;
    Done done;
    size_t bytes;
    std::chrono::steady_clock::time_point submitted;  // bounds the gather wait (rocksdb_commit.cpp)
  };

  // rocksdb_commit.cpp
  void commit_loop();
  void take_pending(std::vector<Pending>& group, size_t& bytes);
  void gather(std::unique_lock<std::mutex>& lock, std::vector<Pending>& group, size_t& bytes);
  void write_group(std::vector<Pending>& group);
  rocksdb::Status append_op(rocksdb::WriteBatch& wb, const Batch::Op& op);

  // rocksdb_queue.cpp
  Status read_recipients(rocksdb::Iterator& it, std::string_view id, uint32_t count, Envelope& out);

  rocksdb::ColumnFamilyHandle* cf(int index) const { return cfs_[index]; }
  // Extra family `family`'s handle, or null for an unregistered id.
  rocksdb::ColumnFamilyHandle* extra_cf(uint32_t family) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  const bool read_only_;
  const std::string secondary_dir_;
  const Durability durability_;
  const size_t max_batch_bytes_;
  const std::chrono::microseconds commit_wait_;
  const size_t commit_wait_batches_;
  const CommitObserver on_commit_;
  const size_t extra_count_;  // extra families, at cfs_[kFirstExtraIdx...]

  // Submission queue, shared by callers and the commit thread.
  std::mutex mu_;
  std::condition_variable work_cv_;      // commit thread: work or stop
  std::condition_variable finished_cv_;  // flush(): a group finished
  std::deque<Pending> pending_;
  uint64_t submitted_ = 0;  // batches accepted by commit()
  uint64_t finished_ = 0;   // batches whose done() has returned
  bool stopping_ = false;
  size_t wake_at_ = 1;  // commit() wakes the commit thread at this many pending

  // Commit thread only.
  size_t last_synced_round_ = 0;  // batches needing a sync in the last round
  rocksdb::WriteBatch write_batch_;  // reused: keeps its buffer between rounds
  bool need_resume_ = false;         // the last write failed: Resume() first

  mutable std::mutex stats_mu_;
  QueueStats stats_;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace ringmta::queue
