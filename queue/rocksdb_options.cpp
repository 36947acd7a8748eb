// queue/rocksdb_options.cpp — every RocksDB option the queue sets, and why.
//
// The workload: small envelopes and recipient records, bodies of a few KiB to
// tens of MiB, written once, read once or twice (delivery), and deleted within
// seconds to days. Most messages are deleted before their memtable is flushed,
// so the cost that matters is the WAL write + fsync; the LSM mostly holds the
// retry backlog. Options not listed keep RocksDB's defaults.
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
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

std::vector<rocksdb::ColumnFamilyDescriptor> queue_column_families() {
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
  // Default: false.
  messages.enable_blob_garbage_collection = true;

  // recipients and schedule: small records, rewritten on every attempt.
  rocksdb::ColumnFamilyOptions recipients = base_cf_options(8 << 20);
  rocksdb::ColumnFamilyOptions schedule = base_cf_options(4 << 20);

  return {
      {rocksdb::kDefaultColumnFamilyName, base_cf_options(1 << 20)},
      {kMessagesCf, messages},
      {kRecipientsCf, recipients},
      {kScheduleCf, schedule},
  };
}

}  // namespace ringmta::queue
