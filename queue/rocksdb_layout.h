// queue/rocksdb_layout.h — the RocksDB side of the queue's layout: column
// family names and the options they are opened with (private to queue/).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <string>
#include <vector>

#include "queue/queue.h"

namespace ringmta::queue {

inline constexpr const char* kMessagesCf = "messages";
inline constexpr const char* kRecipientsCf = "recipients";
inline constexpr const char* kScheduleCf = "schedule";

// Indices into the handle vector returned by open (default CF first, as
// RocksDB requires it to be listed).
// Extra families (queue.h) follow, extra family i at kFirstExtraIdx + i.
enum CfIndex { kDefaultIdx = 0, kMessagesIdx = 1, kRecipientsIdx = 2, kScheduleIdx = 3, kFirstExtraIdx = 4 };

// DB-wide options for the read-write daemon instance at `path`.
rocksdb::DBOptions queue_db_options(const std::string& path, Durability durability);
// Options for a secondary (read-only, follows a live primary) instance whose
// private directory is `secondary_path`.
rocksdb::DBOptions queue_secondary_options(const std::string& secondary_path);
// Descriptors for default, messages, recipients, schedule — in CfIndex order —
// then the extra families in their order.
std::vector<rocksdb::ColumnFamilyDescriptor> queue_column_families(const std::vector<ExtraFamily>& extras = {});
// InvalidArgument if an extra family has an empty name or one already taken.
Status check_extra_families(const std::vector<ExtraFamily>& extras);

}  // namespace ringmta::queue
