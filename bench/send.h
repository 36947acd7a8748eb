// bench/send.h — `ringmta-bench send`: an io_uring SMTP load generator.
//
// N sessions spread over T shard threads each run a lean SMTP client state
// machine (send_session.cpp) against one target; run_send() (send_run.cpp)
// starts them, draws the live progress line, enforces the count / duration /
// hard time limit, and prints the report (text or --json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/address.h"

namespace ringmta::bench {

enum class TlsMode { None, StartTls, Implicit };

struct SendConfig {
  engine::SocketAddress target;
  std::string target_text;         // as given, for the report
  std::string tls_server_name;     // SNI (empty: none; IP literals never get SNI)
  unsigned sessions = 50;          // concurrent SMTP sessions
  uint64_t messages = 0;           // total to send; 0 = until --duration
  double duration = 0;             // seconds; 0 = until --messages
  double time_limit = 0;           // hard stop (seconds); 0 = derived (see send_run.cpp)
  uint64_t size = 4096;            // generated message size
  std::string message_path;        // --message-file: file or directory
  unsigned rcpts = 1;              // recipients per message
  std::vector<std::string> domains{"example.com"};
  std::string sender = "bench@ringmta-bench.test";
  std::string helo = "ringmta-bench.test";
  bool pipelining = true;
  TlsMode tls = TlsMode::None;
  std::string auth_user, auth_password;  // AUTH PLAIN when auth_user is set
  double rate = 0;                 // messages/s over all sessions; 0 = as fast as possible
  unsigned threads = 1;
  unsigned per_connection = 0;     // messages per connection, then QUIT and reconnect; 0 = no limit
  uint64_t max_failures = 0;       // connection failures tolerated before the run stops (exit 1)
  double connect_timeout = 10;     // seconds
  double reply_timeout = 60;       // seconds without a reply while one is awaited
  bool json = false;
  bool progress = true;            // live line on stderr (only drawn when it is a terminal)
};

// Runs the load; returns the process exit code (0 ok, 1 failures/limit, 2 setup error).
int run_send(const SendConfig& config);

}  // namespace ringmta::bench
