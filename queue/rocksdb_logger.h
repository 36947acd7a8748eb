// queue/rocksdb_logger.h — RocksDB's info log, written with plain stdio
// (private to queue/).
//
// Why not RocksDB's own: Debian's librocksdb 7.8 is built with assertions on,
// and its file logger asserts (aborting the daemon) on the first line it logs
// after one failed write — i.e. as soon as the disk is full, exactly when the
// queue must stay up and answer 452. This logger drops lines it cannot write.
#pragma once

#include <rocksdb/env.h>

#include <memory>
#include <string>

namespace ringmta::queue {

// A logger appending to `path` (rotated to path.old past `max_bytes`).
std::shared_ptr<rocksdb::Logger> make_queue_logger(const std::string& path, size_t max_bytes,
                                                   rocksdb::InfoLogLevel level);

}  // namespace ringmta::queue
