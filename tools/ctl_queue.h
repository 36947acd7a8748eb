// tools/ctl_queue.h — ringmtactl's queue, destination and reload commands.
//
// Read-only commands (queue summary, list, show) ask the running daemon's
// admin API (which knows what is in flight) and, when no daemon answers,
// read the queue directly through a read-only RocksDB instance. Commands
// that change anything go through the admin API only, so the owner shard
// stays the only writer; without a running daemon they fail with a clear
// message. Exit codes: 0 ok, 1 not found / failed / daemon not running,
// 2 bad command line.
#pragma once

#include <optional>
#include <string>

#include "admin/admin_client.h"
#include "admin/admin_protocol.h"

namespace ringmta::tools {

struct CtlTarget {
  std::string data_dir;
  std::optional<admin::AdminEndpoint> endpoint;  // nullopt: admin.listen was unusable (error printed)
  std::string token;
  int timeout_seconds = 600;  // a flush/bounce of a big queue takes a while
};

// `req` was validated by admin::parse_request rules (run_ctl_request checks
// again). json: print the daemon's JSON instead of text.
int run_ctl_request(const CtlTarget& target, const admin::Request& req, bool json);
// queue cat ID (direct read; works with and without the daemon).
int run_queue_cat(const std::string& data_dir, const std::string& id);

}  // namespace ringmta::tools
