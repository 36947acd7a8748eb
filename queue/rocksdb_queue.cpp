// queue/rocksdb_queue.cpp — opening, closing and reading the RocksDB queue.
//
// Read-only access (ringmtactl) uses a RocksDB *secondary* instance rather
// than OpenForReadOnly: a secondary is built to follow a live primary — it
// reads the MANIFEST and replays the primary's WAL (so data acknowledged but
// not yet flushed is visible) and keeps its SSTs open so the primary's
// compactions cannot pull files from under it. It works just as well when the
// daemon is stopped. It needs a private directory for its own info log; we
// make one under $TMPDIR and remove it on close.
#include <rocksdb/snapshot.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "queue/codec.h"
#include "queue/rocksdb_layout.h"
#include "queue/rocksdb_queue.h"

namespace ringmta::queue {

Status from_rocksdb(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  std::string msg = s.ToString();
  using C = Status::Code;
  if (s.IsNoSpace() || msg.find("No space") != std::string::npos || msg.find("ENOSPC") != std::string::npos)
    return {C::NoSpace, msg};
  if (s.IsNotFound()) return {C::NotFound, msg};
  if (s.IsCorruption()) return {C::Corruption, msg};
  if (s.IsInvalidArgument() || s.IsNotSupported()) return {C::InvalidArgument, msg};
  if (s.IsShutdownInProgress()) return {C::ShuttingDown, msg};
  return {C::IoError, msg};
}

RocksDbQueue::RocksDbQueue(Parts parts, const RocksDbOptions& options)
    : db_(std::move(parts.db)),
      cfs_(std::move(parts.cfs)),
      read_only_(parts.read_only),
      secondary_dir_(std::move(parts.secondary_dir)),
      durability_(options.durability),
      max_batch_bytes_(options.max_batch_bytes),
      commit_wait_(options.durability == Durability::Fsync ? options.commit_wait : std::chrono::microseconds(0)),
      commit_wait_batches_(options.commit_wait_batches),
      on_commit_(options.on_commit),
      extra_count_(options.extra_families.size()) {
  if (!read_only_) thread_ = std::thread([this] { commit_loop(); });
}

RocksDbQueue::~RocksDbQueue() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    thread_.join();  // the loop drains pending_ (calling every done) first
    if (durability_ == Durability::Wal) db_->FlushWAL(/*sync=*/true);
  }
  for (rocksdb::ColumnFamilyHandle* h : cfs_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

namespace {

// A snapshot for one read call; none on a secondary, which changes only when
// it catches up (at open) and so is consistent as it is.
class ReadView {
 public:
  ReadView(rocksdb::DB* db, bool read_only) : db_(db), snap_(read_only ? nullptr : db->GetSnapshot()) {}
  ~ReadView() {
    if (snap_) db_->ReleaseSnapshot(snap_);
  }
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

}  // namespace

Status RocksDbQueue::read_recipients(rocksdb::Iterator& it, std::string_view id, uint32_t count, Envelope& out) {
  out.recipients.clear();
  out.recipients.reserve(count);
  std::string prefix = codec::recipient_prefix(id);
  for (it.Seek(prefix); it.Valid() && it.key().starts_with(prefix); it.Next()) {
    if (out.recipients.size() == count || it.key() != codec::recipient_key(id, out.recipients.size()))
      return {Status::Code::Corruption, "recipient records of " + std::string(id) + " do not match the envelope"};
    Recipient r;
    if (Status s = codec::decode_recipient(it.value().ToStringView(), r); !s.ok()) return s;
    out.recipients.push_back(std::move(r));
  }
  if (!it.status().ok()) return from_rocksdb(it.status());
  if (out.recipients.size() != count)
    return {Status::Code::Corruption, "recipient records of " + std::string(id) + " missing"};
  return Status::Ok();
}

Status RocksDbQueue::read_envelope(std::string_view id, Envelope& out) {
  if (Status s = codec::validate_id(id); !s.ok()) return s;
  ReadView view(db_.get(), read_only_);
  rocksdb::ReadOptions ro;
  ro.snapshot = view.get();
  rocksdb::PinnableSlice value;
  if (Status s = from_rocksdb(db_->Get(ro, cf(kMessagesIdx), codec::envelope_key(id), &value)); !s.ok()) return s;
  uint32_t count = 0;
  Envelope env;
  if (Status s = codec::decode_envelope_header(value.ToStringView(), env, count); !s.ok()) return s;
  env.id = std::string(id);
  // Bound the iterator to this id's records: id + '\0' .. id + '\1'.
  std::string upper(id);
  upper.push_back('\1');
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kRecipientsIdx)));
  if (Status s = read_recipients(*it, id, count, env); !s.ok()) return s;
  out = std::move(env);
  return Status::Ok();
}

Status RocksDbQueue::read_body(std::string_view id, std::string& out) {
  if (Status s = codec::validate_id(id); !s.ok()) return s;
  return from_rocksdb(db_->Get(rocksdb::ReadOptions(), cf(kMessagesIdx), codec::body_key(id), &out));
}

Status RocksDbQueue::scan(const std::function<bool(const Envelope&)>& fn) {
  ReadView view(db_.get(), read_only_);
  rocksdb::ReadOptions ro;
  ro.snapshot = view.get();
  // Envelope keys only ('E' .. 'F'): bodies ('B') are never touched.
  std::string lower(1, codec::kEnvelopePrefix), upper(1, codec::kEnvelopePrefix + 1);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions env_ro = ro;
  env_ro.iterate_lower_bound = &lower_slice;
  env_ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> envs(db_->NewIterator(env_ro, cf(kMessagesIdx)));
  std::unique_ptr<rocksdb::Iterator> rcpts(db_->NewIterator(ro, cf(kRecipientsIdx)));
  // A damaged record does not hide the rest of the queue: skip it, report the
  // first problem at the end.
  Status first_error;
  for (envs->Seek(lower_slice); envs->Valid(); envs->Next()) {
    Envelope env;
    env.id = envs->key().ToString().substr(1);
    uint32_t count = 0;
    Status s = codec::decode_envelope_header(envs->value().ToStringView(), env, count);
    if (s.ok()) s = read_recipients(*rcpts, env.id, count, env);
    if (!s.ok()) {
      if (first_error.ok()) first_error = {s.code, env.id + ": " + s.message};
      continue;
    }
    if (!fn(env)) return first_error;
  }
  if (!envs->status().ok()) return from_rocksdb(envs->status());
  return first_error;
}

Status RocksDbQueue::last_id(std::string& out) {
  out.clear();
  std::string lower(1, codec::kEnvelopePrefix), upper(1, codec::kEnvelopePrefix + 1);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kMessagesIdx)));
  it->SeekToLast();  // the upper bound keeps bodies ('B' < 'E' < 'F') out
  if (it->Valid()) out = it->key().ToString().substr(1);
  return from_rocksdb(it->status());
}

Status RocksDbQueue::due(int64_t now_ms, size_t max, std::vector<std::string>& ids) {
  ids.clear();
  if (now_ms < 0 || max == 0) return Status::Ok();  // entries are clamped to >= 0
  rocksdb::ReadOptions ro;
  std::string upper;
  rocksdb::Slice upper_slice;
  if (now_ms < INT64_MAX) {
    upper = codec::schedule_bound(now_ms + 1);
    upper_slice = upper;
    ro.iterate_upper_bound = &upper_slice;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kScheduleIdx)));
  int64_t when;
  std::string id;
  for (it->SeekToFirst(); it->Valid() && ids.size() < max; it->Next()) {
    if (!codec::parse_schedule_key(it->key().ToStringView(), when, id))
      return {Status::Code::Corruption, "bad schedule key"};
    ids.push_back(id);
  }
  return from_rocksdb(it->status());
}

rocksdb::ColumnFamilyHandle* RocksDbQueue::extra_cf(uint32_t family) const {
  if (family >= extra_count_) return nullptr;
  return cfs_[kFirstExtraIdx + family];
}

Status RocksDbQueue::get_extra(uint32_t family, std::string_view key, std::string& out) {
  rocksdb::ColumnFamilyHandle* h = extra_cf(family);
  if (!h) return {Status::Code::InvalidArgument, "unknown extra column family " + std::to_string(family)};
  return from_rocksdb(db_->Get(rocksdb::ReadOptions(), h, rocksdb::Slice(key.data(), key.size()), &out));
}

Status RocksDbQueue::scan_extra(uint32_t family, std::string_view begin, std::string_view end,
                                const ExtraVisitor& fn) {
  rocksdb::ColumnFamilyHandle* h = extra_cf(family);
  if (!h) return {Status::Code::InvalidArgument, "unknown extra column family " + std::to_string(family)};
  // An iterator reads from the implicit snapshot taken at its creation.
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower(begin.data(), begin.size()), upper(end.data(), end.size());
  ro.iterate_lower_bound = &lower;
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, h));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  return from_rocksdb(it->status());
}

namespace {

// Column families present in an existing database but unknown to this
// version are opened with default options (RocksDB insists on all of them).
void add_unknown_families(const std::string& path, std::vector<rocksdb::ColumnFamilyDescriptor>& cfs) {
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok()) return;  // new database
  for (const std::string& name : names) {
    bool known = false;
    for (const auto& d : cfs) known |= d.name == name;
    if (!known) cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
}

}  // namespace

Status open_rocksdb_queue(const RocksDbOptions& options, std::unique_ptr<Queue>& out) {
  if (options.path.empty()) return {Status::Code::InvalidArgument, "queue path is empty"};
  if (Status s = check_extra_families(options.extra_families); !s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return {Status::Code::IoError, "cannot create " + options.path + ": " + ec.message()};
  auto cfs = queue_column_families(options.extra_families);
  add_unknown_families(options.path, cfs);
  rocksdb::DB* db = nullptr;
  RocksDbQueue::Parts parts;
  rocksdb::Status s = rocksdb::DB::Open(queue_db_options(options.path, options.durability), options.path,
                                        cfs, &parts.cfs, &db);
  if (!s.ok()) return from_rocksdb(s);
  parts.db.reset(db);
  out = std::make_unique<RocksDbQueue>(std::move(parts), options);
  return Status::Ok();
}

Status open_rocksdb_queue_readonly(const std::string& path, std::unique_ptr<Queue>& out,
                                   const std::vector<ExtraFamily>& extra_families) {
  if (Status s = check_extra_families(extra_families); !s.ok()) return s;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec))
    return {Status::Code::NotFound, "no queue database at " + path};
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/ringmta-queue-secondary-XXXXXX";
  if (!mkdtemp(tmpl.data())) return {Status::Code::IoError, "mkdtemp " + tmpl + " failed"};

  RocksDbQueue::Parts parts;
  parts.read_only = true;
  parts.secondary_dir = tmpl;
  rocksdb::DB* db = nullptr;
  // A secondary may open a subset of the families, but not one the primary
  // never created (a queue written by a version without the extras): then
  // open without them; get_extra/scan_extra answer InvalidArgument.
  auto wanted = queue_column_families(extra_families);
  RocksDbOptions opts{path};
  opts.extra_families = extra_families;
  std::vector<std::string> names;
  if (rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok()) {
    for (const ExtraFamily& e : extra_families) {
      if (std::find(names.begin(), names.end(), e.name) == names.end()) {
        wanted.resize(kFirstExtraIdx);
        opts.extra_families.clear();
        break;
      }
    }
  }
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(queue_secondary_options(tmpl), path, tmpl, wanted, &parts.cfs, &db);
  // Catch up with the primary's latest MANIFEST and WAL now (open may have
  // raced with a flush of the live daemon).
  if (s.ok()) s = db->TryCatchUpWithPrimary();
  if (!s.ok()) {
    if (db) {
      for (auto* h : parts.cfs) db->DestroyColumnFamilyHandle(h);
      delete db;
    }
    std::filesystem::remove_all(tmpl, ec);
    return from_rocksdb(s);
  }
  parts.db.reset(db);
  out = std::make_unique<RocksDbQueue>(std::move(parts), opts);
  return Status::Ok();
}

}  // namespace ringmta::queue
