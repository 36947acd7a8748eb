// bench/sink.h — `ringmta-bench sink`: a fast SMTP sink with injected faults.
//
// It accepts mail and throws it away, counting messages, recipients, bytes,
// concurrent connections (peak) and the arrival rate. To exercise a relay's
// delivery and retry paths it can answer a share of RCPTs or ends of DATA with
// 4xx/5xx, delay replies or the greeting, refuse connections, and offer
// STARTTLS (or speak implicit TLS). --record writes one JSON line per
// message for tests. sink_conn.cpp holds the per-connection protocol,
// sink_run.cpp the threads, signals and reports.
#pragma once

#include <cstdint>
#include <string>

#include "engine/address.h"

namespace ringmta::bench {

struct SinkConfig {
  engine::SocketAddress listen;
  std::string listen_text;
  std::string hostname = "sink.ringmta-bench.test";
  double rcpt_temp_fail = 0;   // percent of RCPTs answered 451 4.3.0
  double rcpt_perm_fail = 0;   // percent of RCPTs answered 550 5.1.1
  double data_temp_fail = 0;   // percent of ends of DATA answered 451 4.3.0
  double data_perm_fail = 0;   // percent of ends of DATA answered 554 5.3.0
  double refuse = 0;           // percent of connections closed at once, no greeting
  unsigned reply_delay_ms = 0; // every batch of replies waits this long
  unsigned greeting_delay_ms = 0;
  std::string tls_cert, tls_key;  // STARTTLS offered when set
  bool implicit_tls = false;      // TLS from the first byte (needs the certificate)
  bool chunking = true;           // offer CHUNKING (BDAT, RFC 3030), as Postfix 3.4+ does
  unsigned threads = 1;
  double duration = 0;         // seconds; 0 = until SIGINT/SIGTERM
  double report_interval = 5;  // seconds between progress lines on stderr; 0 = none
  std::string record_path;     // JSONL, one line per end of DATA
  uint64_t seed = 0;           // injected-fault dice (0 = from the clock)
  bool json = false;
};

// Runs until the duration ends or a signal; returns the process exit code.
int run_sink(const SinkConfig& config);

}  // namespace ringmta::bench
