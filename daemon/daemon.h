// daemon/daemon.h — the running relay: opens the queue, starts one shard per
// core with its listeners, waits for signals, and shuts down in order
// (stop accepting → let transactions finish → sync the queue → exit 0).
#pragma once

#include <memory>

#include "config/config.h"

namespace ringmta::daemon {

// Runs until SIGTERM/SIGINT. Returns the process exit code (0 after a clean
// shutdown, 1 when start-up failed: data dir, queue, or a listener).
int run_daemon(std::shared_ptr<const config::Config> config);

}  // namespace ringmta::daemon
