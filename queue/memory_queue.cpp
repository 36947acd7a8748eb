// queue/memory_queue.cpp — the in-memory Queue, for unit tests of other modules.
//
// Same semantics as the RocksDB queue: batches are validated as a whole and
// applied atomically under one mutex, writes are blind (an update or remove of
// an unknown id is not an error), and the schedule index is maintained from
// `previous`/`stored` envelopes exactly as on disk, so a caller handing in a
// wrong `previous` sees the same stale entry it would see in production.
//
// done() is called synchronously, on the caller's thread, before commit()
// returns — after the queue's mutex is released, so done() may call back into
// the queue (even commit()). flush() has nothing to wait for.
#include <map>
#include <mutex>
#include <set>

#include "queue/batch_check.h"
#include "queue/codec.h"
#include "queue/queue.h"

namespace ringmta::queue {
namespace {

class MemoryQueue final : public Queue {
 public:
  explicit MemoryQueue(size_t extra_families) : extras_(extra_families) {}

  void commit(Batch batch, Done done) override {
    Status st = validate_batch(batch, extras_.size());
    if (st.ok()) {
      std::lock_guard lock(mu_);
      for (Batch::Op& op : batch.take_ops()) apply(op);
      stats_.batches++;
      stats_.writes++;
    }
    if (done) done(std::move(st));
  }

  Status read_envelope(std::string_view id, Envelope& out) override {
    std::lock_guard lock(mu_);
    auto it = envelopes_.find(id);
    if (it == envelopes_.end()) return not_found(id);
    out = it->second;
    return Status::Ok();
  }

  Status read_body(std::string_view id, std::string& out) override {
    std::lock_guard lock(mu_);
    auto it = bodies_.find(id);
    if (it == bodies_.end()) return not_found(id);
    out = it->second;
    return Status::Ok();
  }

  Status scan(const std::function<bool(const Envelope&)>& fn) override {
    // Copy first so fn runs without the lock (it may call back into the queue).
    std::vector<Envelope> all;
    {
      std::lock_guard lock(mu_);
      all.reserve(envelopes_.size());
      for (const auto& [id, env] : envelopes_) all.push_back(env);
    }
    for (const Envelope& env : all)
      if (!fn(env)) break;
    return Status::Ok();
  }

  Status last_id(std::string& out) override {
    std::lock_guard lock(mu_);
    out = envelopes_.empty() ? std::string() : envelopes_.rbegin()->first;
    return Status::Ok();
  }

  Status due(int64_t now_ms, size_t max, std::vector<std::string>& ids) override {
    ids.clear();
    std::lock_guard lock(mu_);
    for (const auto& [when, id] : schedule_) {
      if (when > now_ms || ids.size() >= max) break;
      ids.push_back(id);
    }
    return Status::Ok();
  }

  Status get_extra(uint32_t family, std::string_view key, std::string& out) override {
    std::lock_guard lock(mu_);
    if (family >= extras_.size()) return bad_family(family);
    auto it = extras_[family].find(key);
    if (it == extras_[family].end()) return {Status::Code::NotFound, "no such key"};
    out = it->second;
    return Status::Ok();
  }

  Status scan_extra(uint32_t family, std::string_view begin, std::string_view end,
                    const ExtraVisitor& fn) override {
    // Copy the range first (a snapshot, as on disk) so fn runs without the lock.
    std::vector<std::pair<std::string, std::string>> range;
    {
      std::lock_guard lock(mu_);
      if (family >= extras_.size()) return bad_family(family);
      const auto& m = extras_[family];
      for (auto it = m.lower_bound(begin); it != m.end() && (end.empty() || it->first < end); ++it)
        range.emplace_back(it->first, it->second);
    }
    for (const auto& [k, v] : range)
      if (!fn(k, v)) break;
    return Status::Ok();
  }

  Status flush() override { return Status::Ok(); }

  QueueStats stats() const override {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  static Status bad_family(uint32_t family) {
    return {Status::Code::InvalidArgument, "unknown extra column family " + std::to_string(family)};
  }
  static Status not_found(std::string_view id) {
    return {Status::Code::NotFound, "no message " + std::string(id)};
  }

  void unschedule(const Envelope& env) {
    if (auto due = codec::schedule_due_ms(env)) schedule_.erase({*due, env.id});
  }
  void schedule(const Envelope& env) {
    if (auto due = codec::schedule_due_ms(env)) schedule_.insert({*due, env.id});
  }

  void apply(Batch::Op& op) {
    switch (op.kind) {
      case Batch::Op::Kind::Put:
        schedule(op.envelope);
        bodies_[op.envelope.id] = std::move(op.body);
        stats_.messages_put++;
        envelopes_[op.envelope.id] = std::move(op.envelope);
        break;
      case Batch::Op::Kind::Update:
        unschedule(op.previous);
        schedule(op.envelope);
        envelopes_[op.envelope.id] = std::move(op.envelope);
        break;
      case Batch::Op::Kind::Remove:
        unschedule(op.envelope);
        envelopes_.erase(op.envelope.id);
        bodies_.erase(op.envelope.id);
        break;
      case Batch::Op::Kind::ExtraPut:
        extras_[op.family][std::move(op.key)] = std::move(op.body);
        break;
      case Batch::Op::Kind::ExtraDelete:
        if (auto it = extras_[op.family].find(op.key); it != extras_[op.family].end()) extras_[op.family].erase(it);
        break;
    }
  }

  mutable std::mutex mu_;
  std::map<std::string, Envelope, std::less<>> envelopes_;
  std::map<std::string, std::string, std::less<>> bodies_;
  std::set<std::pair<int64_t, std::string>> schedule_;  // (due ms, id), clamped like on disk
  std::vector<std::map<std::string, std::string, std::less<>>> extras_;  // per extra family
  QueueStats stats_;
};

}  // namespace

std::unique_ptr<Queue> make_memory_queue(const std::vector<ExtraFamily>& extra_families) {
  return std::make_unique<MemoryQueue>(extra_families.size());
}

}  // namespace ringmta::queue
