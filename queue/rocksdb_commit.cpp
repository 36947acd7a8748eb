// queue/rocksdb_commit.cpp — group commit: the "ringmta-commit" thread.
//
// commit() appends (batch, done) to pending_ under a short mutex and returns.
// The commit thread takes everything pending (up to max_batch_bytes), merges
// it into ONE rocksdb::WriteBatch, does ONE db->Write (sync=true in Fsync
// mode if any batch needs_sync(): one fsync covers every message in the
// round; a round of delivery outcomes alone is not synced), then calls each done()
// in submission order. While it writes, new submissions pile up for the next
// round — that is what makes rounds grow under load without any timer.
//
// That alone gives rounds of only 3-4 messages when many senders each take
// several round trips per message (smtp-source: a connection per message),
// and on a 2-core VM each appending fdatasync costs ~100 us of CPU beside the
// sessions. So, like PostgreSQL's commit_delay, a round may first gather:
// if the last synced round held >= 2 batches (others are active), wait for
// commit_wait_batches in all, until the round's oldest batch has waited
// commit_wait since its commit() — not commit_wait from now: a batch that sat
// behind a slow fsync has paid its wait already and is not held again, so
// gathering no longer stacks on the tail. (Counted from "now", four
// alternating pairs at half of the peak rate had p50 0.5-2 ms and p99 0-11 ms
// higher, at the same wait.)
// commit() wakes the waiting thread only when that count is reached, not on
// every submission.
//
// Failure rules: a batch that fails validation gets its own error and is left
// out of the write; if the write fails, every batch in it gets that error
// (nothing is reported Ok that RocksDB did not accept), and the next round
// first calls DB::Resume() so one full disk does not wedge the queue forever.
#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "queue/batch_check.h"
#include "queue/codec.h"
#include "queue/rocksdb_layout.h"
#include "queue/rocksdb_queue.h"

namespace ringmta::queue {

void RocksDbQueue::commit(Batch batch, Done done) {
  if (read_only_) {
    if (done) done({Status::Code::InvalidArgument, "queue opened read-only"});
    return;
  }
  size_t bytes = batch_bytes(batch);
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      pending_.push_back(Pending{std::move(batch), std::move(done), bytes, std::chrono::steady_clock::now()});
      submitted_++;
      if (pending_.size() >= wake_at_) work_cv_.notify_one();
      return;
    }
  }
  if (done) done({Status::Code::ShuttingDown, "queue is closing"});
}

Status RocksDbQueue::flush() {
  if (read_only_) return Status::Ok();
  {
    std::unique_lock lock(mu_);
    uint64_t target = submitted_;
    finished_cv_.wait(lock, [&] { return finished_ >= target; });
  }
  // Wal mode writes nothing synced, and in Fsync mode the last rounds may have
  // been unsynced delivery outcomes: make everything durable now.
  return from_rocksdb(db_->FlushWAL(/*sync=*/true));
}

QueueStats RocksDbQueue::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void RocksDbQueue::commit_loop() {
  pthread_setname_np(pthread_self(), "ringmta-commit");
  std::vector<Pending> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything is drained
      size_t bytes = 0;
      take_pending(group, bytes);
      gather(lock, group, bytes);
    }
    write_group(group);
    {
      std::lock_guard lock(mu_);
      finished_ += group.size();
    }
    finished_cv_.notify_all();
    group.clear();
  }
}

// Always takes one, however large; then as much as fits the cap. mu_ held.
void RocksDbQueue::take_pending(std::vector<Pending>& group, size_t& bytes) {
  while (!pending_.empty() && (group.empty() || bytes + pending_.front().bytes <= max_batch_bytes_)) {
    bytes += pending_.front().bytes;
    group.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
}

// The optional wait before a synced write (see the top of this file). mu_ held.
void RocksDbQueue::gather(std::unique_lock<std::mutex>& lock, std::vector<Pending>& group, size_t& bytes) {
  if (commit_wait_.count() == 0 || last_synced_round_ < 2 || group.size() >= commit_wait_batches_) return;
  // A round of unsynced delivery outcomes gains nothing from waiting.
  if (std::none_of(group.begin(), group.end(), [](const Pending& p) { return p.batch.needs_sync(); })) return;
  const auto until = group.front().submitted + commit_wait_;  // the oldest: take_pending keeps order
  if (until <= std::chrono::steady_clock::now()) return;
  wake_at_ = commit_wait_batches_ - group.size();
  work_cv_.wait_until(lock, until, [&] { return stopping_ || pending_.size() >= wake_at_; });
  wake_at_ = 1;
  take_pending(group, bytes);
}

void RocksDbQueue::write_group(std::vector<Pending>& group) {
  std::vector<Status> results(group.size());
  std::vector<size_t> merged;  // indices of the batches in write_batch_
  uint64_t puts = 0;
  bool needs_sync = false;
  write_batch_.Clear();
  for (size_t i = 0; i < group.size(); ++i) {
    const Batch& batch = group[i].batch;
    if (results[i] = validate_batch(batch, extra_count_); !results[i].ok()) continue;
    // A save point per batch: if one op cannot be encoded, drop that batch
    // alone and keep the group's other batches.
    write_batch_.SetSavePoint();
    rocksdb::Status s;
    for (const Batch::Op& op : batch.ops()) {
      if (s = append_op(write_batch_, op); !s.ok()) break;
    }
    if (!s.ok()) {
      write_batch_.RollbackToSavePoint();
      results[i] = from_rocksdb(s);
      continue;
    }
    write_batch_.PopSavePoint();
    merged.push_back(i);
    needs_sync |= batch.needs_sync();
    for (const Batch::Op& op : batch.ops()) puts += op.kind == Batch::Op::Kind::Put;
  }

  last_synced_round_ = 0;
  for (size_t i : merged) last_synced_round_ += group[i].batch.needs_sync();
  if (!merged.empty()) {
    if (need_resume_) {
      // After a failed write RocksDB refuses writes until it recovers. For
      // ENOSPC it recovers by itself (its SstFileManager polls free space
      // every few seconds and needs ~one write buffer free), and Resume()
      // then answers Busy; for other errors Resume() is what recovers. If
      // the cause is still there, the Write below fails again and says why.
      db_->Resume();
      need_resume_ = false;
    }
    rocksdb::WriteOptions wo;
    wo.sync = durability_ == Durability::Fsync && needs_sync;
    const auto started = std::chrono::steady_clock::now();
    Status st = from_rocksdb(db_->Write(wo, &write_batch_));
    if (st.ok() && on_commit_)
      on_commit_(merged.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (st.ok()) {
      std::lock_guard lock(stats_mu_);
      stats_.writes++;
      stats_.syncs += wo.sync;
      stats_.batches += merged.size();
      stats_.messages_put += puts;
    } else {
      need_resume_ = true;
      for (size_t i : merged) results[i] = st;
    }
  }
  // Bodies are copied into write_batch_; drop its buffer if one huge round
  // grew it, so a burst does not pin memory for the process lifetime.
  if (write_batch_.GetDataSize() > (size_t{16} << 20)) write_batch_ = rocksdb::WriteBatch();

  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].done) group[i].done(std::move(results[i]));
  }
}

rocksdb::Status RocksDbQueue::append_op(rocksdb::WriteBatch& wb, const Batch::Op& op) {
  // Extra families: written as given (validate_batch checked the family id).
  if (op.kind == Batch::Op::Kind::ExtraPut) return wb.Put(extra_cf(op.family), op.key, op.body);
  if (op.kind == Batch::Op::Kind::ExtraDelete) return wb.Delete(extra_cf(op.family), op.key);
  const Envelope& env = op.envelope;
  const std::string& id = env.id;
  rocksdb::ColumnFamilyHandle* msgs = cf(kMessagesIdx);
  rocksdb::ColumnFamilyHandle* rcpts = cf(kRecipientsIdx);
  rocksdb::ColumnFamilyHandle* sched = cf(kScheduleIdx);
  rocksdb::Status s;
  auto put = [&](rocksdb::ColumnFamilyHandle* h, const std::string& k, const rocksdb::Slice& v) {
    if (s.ok()) s = wb.Put(h, k, v);
  };
  auto del = [&](rocksdb::ColumnFamilyHandle* h, const std::string& k) {
    if (s.ok()) s = wb.Delete(h, k);
  };

  switch (op.kind) {
    case Batch::Op::Kind::Put: {
      put(msgs, codec::envelope_key(id), codec::encode_envelope_header(env));
      put(msgs, codec::body_key(id), op.body);
      for (uint32_t i = 0; i < env.recipients.size(); ++i)
        put(rcpts, codec::recipient_key(id, i), codec::encode_recipient(env.recipients[i]));
      if (auto due = codec::schedule_due_ms(env)) put(sched, codec::schedule_key(*due, id), "");
      break;
    }
    case Batch::Op::Kind::Update: {
      // Rewrite only what changed: a retry usually touches one recipient
      // record and the schedule entry, not the header or the other recipients.
      const Envelope& prev = op.previous;
      std::string header = codec::encode_envelope_header(env);
      if (header != codec::encode_envelope_header(prev)) put(msgs, codec::envelope_key(id), header);
      for (uint32_t i = 0; i < env.recipients.size(); ++i) {
        std::string value = codec::encode_recipient(env.recipients[i]);
        if (i >= prev.recipients.size() || value != codec::encode_recipient(prev.recipients[i]))
          put(rcpts, codec::recipient_key(id, i), value);
      }
      for (size_t i = env.recipients.size(); i < prev.recipients.size(); ++i)
        del(rcpts, codec::recipient_key(id, static_cast<uint32_t>(i)));
      auto old_due = codec::schedule_due_ms(prev), new_due = codec::schedule_due_ms(env);
      if (old_due != new_due) {
        if (old_due) del(sched, codec::schedule_key(*old_due, id));
        if (new_due) put(sched, codec::schedule_key(*new_due, id), "");
      }
      break;
    }
    case Batch::Op::Kind::ExtraPut:
    case Batch::Op::Kind::ExtraDelete:
      break;  // handled above
    case Batch::Op::Kind::Remove: {
      del(msgs, codec::envelope_key(id));
      del(msgs, codec::body_key(id));
      for (uint32_t i = 0; i < env.recipients.size(); ++i) del(rcpts, codec::recipient_key(id, i));
      if (auto due = codec::schedule_due_ms(env)) del(sched, codec::schedule_key(*due, id));
      break;
    }
  }
  return s;
}

}  // namespace ringmta::queue
