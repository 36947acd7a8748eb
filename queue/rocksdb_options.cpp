// queue/rocksdb_options.cpp — every RocksDB option the queue sets, and why.
//
// The workload: small envelopes and recipient records, bodies of a few KiB to
// tens of MiB, written once, read once or twice (delivery), and deleted within
// seconds to days. Most messages are deleted before their memtable is flushed,
// so the cost that matters is the WAL write + fsync; the LSM mostly holds the
// retry backlog. Options not listed keep RocksDB's defaults.
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_partitioner.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>

#include "queue/rocksdb_layout.h"
#include "queue/rocksdb_logger.h"

namespace ringmta::queue {
namespace {

// Shared by all column families: one budget for cached blocks, not one per CF.
std::shared_ptr<rocksdb::Cache> block_cache() {
  static std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(32 << 20);
  return cache;
}

rocksdb::ColumnFamilyOptions base_cf_options(size_t write_buffer_size) {
  rocksdb::ColumnFamilyOptions cf;
  // write_buffer_size: memtable size before a flush. Default: 64 MiB.
  // Queue records are short-lived; a modest memtable keeps memory (and the
  // WAL a restart must replay) small while still letting most put+delete pairs
  // cancel out in memory.
  cf.write_buffer_size = write_buffer_size;
  // max_write_buffer_number: memtables per CF (one active, others flushing).
  // Default: 2. 3 lets writes continue while a flush runs on a slow disk.
  cf.max_write_buffer_number = 3;
  // level_compaction_dynamic_level_bytes: size levels from the last level up,
  // giving predictable space amplification. Default: false (true from 8.x).
  cf.level_compaction_dynamic_level_bytes = true;
  // compression: LZ4 is cheap and mail text compresses well. Default: Snappy.
  cf.compression = rocksdb::kLZ4Compression;
  // table_properties_collector_factories: a queue deletes what it wrote, so
  // SSTs fill with tombstones that every range scan (scan(), due()) must step
  // over. This marks an SST for compaction once 64 of any 256 consecutive
  // entries are deletions, so tombstones get dropped. Default: none.
  cf.table_properties_collector_factories.push_back(rocksdb::NewCompactOnDeletionCollectorFactory(256, 64));

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache();
  // filter_policy: read_envelope/read_body are point lookups by id; a 10-bit
  // Bloom filter skips SSTs that do not hold the id. Default: no filter.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

rocksdb::DBOptions queue_db_options(const std::string& path, Durability durability) {
  rocksdb::DBOptions db;
  // create_if_missing / create_missing_column_families: a first start (or a
  // newer version adding a CF) just works. Default: false for both.
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  // max_background_jobs: flush + compaction threads. Default: 2. The host's
  // cores belong to the shards; the queue's LSM is small, so 2 is enough
  // (flushes are never starved by a compaction with 2).
  db.max_background_jobs = 2;
  // bytes_per_sync: sync_file_range() SST/blob files every 1 MiB while writing
  // them, so a flush does not end in one huge fsync that stalls the WAL's
  // fsync behind it on the same disk. Default: 0 (off).
  db.bytes_per_sync = 1 << 20;
  // wal_bytes_per_sync: the same for the WAL. In Fsync mode every group commit
  // syncs anyway; in Wal mode this bounds dirty WAL pages so the OS writeback
  // does not burst. Default: 0 (off).
  db.wal_bytes_per_sync = durability == Durability::Wal ? 1 << 20 : 0;
  // db_write_buffer_size: cap on all memtables together (a flush of the
  // largest CF starts when reached). Default: 0 (none).
  // Note the WAL is preallocated (fallocate) at ~1.1x the largest CF's
  // write_buffer_size, ~35 MiB here: keep that much disk headroom.
  db.db_write_buffer_size = 96 << 20;
  // max_total_wal_size: with several CFs the WAL can only be deleted once
  // every CF with data in it has flushed; the small recipients/schedule CFs
  // would otherwise pin gigabytes of WAL (and restart replay time). Past this
  // size the CFs holding the oldest WAL are flushed. Default: 0 (4x the
  // memtable budget).
  db.max_total_wal_size = 256 << 20;
  // manual_wal_flush stays false (default): each Write() hands the WAL record
  // to the OS at once, so a secondary instance (ringmtactl) sees it and a
  // process kill loses nothing that was acknowledged even in Wal mode.
  // recycle_log_file_num stays 0 (default): recycled WALs need
  // kTolerateCorruptedTailRecords-style recovery, and we keep the default
  // kPointInTimeRecovery, which stops at the first torn record of a crash.
  // info_log: our stdio logger (see rocksdb_logger.h for why), INFO level,
  // rotated at 16 MiB: the queue runs for months. Default: RocksDB's file
  // logger writing <db>/LOG, unbounded.
  db.info_log = make_queue_logger(path + "/LOG", 16 << 20, rocksdb::InfoLogLevel::INFO_LEVEL);
  return db;
}

rocksdb::DBOptions queue_secondary_options(const std::string& secondary_path) {
  rocksdb::DBOptions db;
  // max_open_files = -1: a secondary must keep every SST open, because the
  // primary may compact and delete a file between the secondary reading the
  // MANIFEST and opening it. Default: -1; set here because it is required.
  db.max_open_files = -1;
  db.info_log = make_queue_logger(secondary_path + "/LOG", 1 << 20, rocksdb::InfoLogLevel::WARN_LEVEL);
  return db;
}

std::vector<rocksdb::ColumnFamilyDescriptor> queue_column_families(const std::vector<ExtraFamily>& extras) {
  // messages: envelopes ('E'+id, ~200 B) and bodies ('B'+id).
  rocksdb::ColumnFamilyOptions messages = base_cf_options(32 << 20);
  // enable_blob_files: values >= min_blob_size go to blob files and only a
  // small reference goes through compaction, so a body that sits in the retry
  // backlog is written once instead of once per LSM level. Default: false.
  messages.enable_blob_files = true;
  // min_blob_size: envelopes (~200 B) and tiny bodies stay inline; bodies of
  // 4 KiB and up go to blob files, so memtable flushes and compactions move
  // a 16-byte reference instead of the body. queue_bench (50,000 x 4 KiB
  // bodies, 2 threads, Fsync, 2-core VM): 4 KiB -> 36-38k msgs/s; 8 or 16 KiB
  // (bodies inline) -> 27-33k msgs/s. A blob-resident body costs one extra
  // file read on read_body, which delivery does once. Default: 0.
  messages.min_blob_size = 4 << 10;
  // blob_compression_type: as for SSTs, LZ4. Default: none.
  messages.blob_compression_type = rocksdb::kLZ4Compression;
  // enable_blob_garbage_collection: bodies die fast; compaction relocates the
  // few live blobs of the oldest blob files so those files can be deleted.
  // Without it a blob file holding one long-lived body among dead ones stays
  // until that message leaves: bench/queue-mixed-disk.py (3 x 150,000
  // messages, 2% deferred 4 h) measured blob+SST 7.6 -> 54 -> 116 MiB by round
  // with GC off, 4-18 MiB (about the live deferred bodies) with it on.
  // Default: false.
  messages.enable_blob_garbage_collection = true;
  // blob_garbage_collection_age_cutoff stays 0.25 (default): blobs in the
  // oldest quarter of blob files are relocated when compaction meets their
  // references. That is only cheap if compaction meets few live references,
  // which is what the partitioner below is for.
  // sst_partitioner_factory: no SST spans two key prefixes, so envelopes
  // ('E'+id) and body references ('B'+id) live in separate SSTs. Ids grow with
  // time, so a flushed L0 file spans ['B'+new .. 'E'+new], and that range
  // holds every older envelope: with mixed SSTs (the queue's messages CF is
  // ~20 MiB of SST at 1M queued: one file) each L0 compaction rewrote all body
  // references and the GC above relocated the oldest quarter of all queued
  // bodies, ~225 MiB of blob output per compaction, though none was garbage
  // (perf: 49% of samples in compaction threads, 14.6% blob GC, 9% LZ4). With
  // the split, the old 'B' SSTs do not overlap new data and are left alone; an
  // L0 compaction rewrites the envelopes (~10 MiB) and no blob.
  // bench/queue-restart.py --queued 1000000 --probe 50000 --probe-rounds 5,
  // 2-core VM shared with other jobs, enqueue rate at 1M queued / empty queue:
  // default 67%, 68% (13.6k / 20.3k, 13.6k / 19.9k msgs/s); this 93%, 87%,
  // 81% (18.1k / 19.5k, 18.4k / 21.2k, 17.1k / 21.2k). Tried and not taken: GC off 77-83% but
  // unbounded disk (above); age_cutoff 0.05 81% (still relocates live bodies);
  // also blob_compression_type none 85% but 3.1 GiB instead of 0.8 GiB on disk
  // at 750k queued; 4 MiB target_file_size_base on top 78-83%. Splitting SSTs
  // at the prefix does not stop trivial moves (CanDoTrivialMove allows a file
  // within one prefix). Default: none.
  messages.sst_partitioner_factory = rocksdb::NewSstPartitionerFixedPrefixFactory(1);
  // blob_garbage_collection_force_threshold: once the oldest blob files (those
  // kept alive by the same SSTs) are at least half garbage, those SSTs are
  // compacted even if no new data overlaps them, so their few live bodies move
  // and the files go. That is the backstop for the partitioner: the SSTs of
  // messages deferred for days see no other compaction. Relocation then writes
  // at most as much as it frees; a queue with nothing deleted has no garbage
  // and never triggers it (the 87-93% above are with it on). Default: 1.0
  // (only files that are all garbage).
  messages.blob_garbage_collection_force_threshold = 0.5;
  // memtable_insert_with_hint_prefix_extractor: a group commit inserts
  // 'E'+id and 'B'+id pairs with ids ascending; the skiplist remembers one
  // insert position, so alternating between the two regions made it search
  // from the top each time. With a hint per prefix byte each stream inserts
  // next to its previous key. Default: none.
  messages.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));

  // recipients and schedule: small records, rewritten on every attempt.
  rocksdb::ColumnFamilyOptions recipients = base_cf_options(8 << 20);
  rocksdb::ColumnFamilyOptions schedule = base_cf_options(4 << 20);

  std::vector<rocksdb::ColumnFamilyDescriptor> all = {
      {rocksdb::kDefaultColumnFamilyName, base_cf_options(1 << 20)},
      {kMessagesCf, messages},
      {kRecipientsCf, recipients},
      {kScheduleCf, schedule},
  };
  // Extra families: the base options (LZ4, Bloom filter, tombstone-driven
  // compaction) with the owner's memtable size and, for large values, blob
  // files collected as the messages CF's are.
  for (const ExtraFamily& e : extras) {
    rocksdb::ColumnFamilyOptions cf = base_cf_options(e.write_buffer_size);
    if (e.blob_files) {
      cf.enable_blob_files = true;
      cf.min_blob_size = e.min_blob_size;
      cf.blob_compression_type = rocksdb::kLZ4Compression;
      cf.enable_blob_garbage_collection = true;
      cf.blob_garbage_collection_force_threshold = 0.5;
    }
    all.emplace_back(e.name, cf);
  }
  return all;
}

Status check_extra_families(const std::vector<ExtraFamily>& extras) {
  std::vector<std::string> taken = {rocksdb::kDefaultColumnFamilyName, kMessagesCf, kRecipientsCf, kScheduleCf};
  for (const ExtraFamily& e : extras) {
    if (e.name.empty()) return {Status::Code::InvalidArgument, "extra column family without a name"};
    for (const std::string& t : taken)
      if (t == e.name) return {Status::Code::InvalidArgument, "column family name taken twice: " + e.name};
    taken.push_back(e.name);
  }
  return Status::Ok();
}

}  // namespace ringmta::queue
