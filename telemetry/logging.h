// telemetry/logging.h — process-wide logging set-up (spdlog).
//
// Shard threads must not block on stderr: a shard formats the line into a
// buffer and a writer thread writes batches every 100 ms, at once for a
// warning or worse (log_sink.h).
// log.format = "json" swaps the line format for JSON objects (log_json.h);
// the messages themselves are the same in both formats. In both, control
// bytes from clients never reach the log raw: text lines escape them
// (mail/text_escape.h), JSON escapes every control character.
#pragma once

#include <string>

namespace ringmta::telemetry {

// Level names as in the config: trace, debug, info, warn, error.
// Format: "text" (default) or "json".
// buffered = false: every line is handed to the writer at once (log.buffered).
void init_logging(const std::string& level, const std::string& format = "text", bool buffered = true);
// Flush and stop the logging thread (call before exit).
void shutdown_logging();

}  // namespace ringmta::telemetry
