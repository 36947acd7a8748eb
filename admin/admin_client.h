// admin/admin_client.h — where the admin API listens (shared by the daemon
// and ringmtactl, so both read admin.listen the same way) and a blocking
// client for it: connect, send one JSON request line, read one response line.
// Used by ringmtactl only (never on a shard thread).
#pragma once

#include <optional>
#include <string>

#include "engine/address.h"
#include "base/json.h"
#include "base/result.h"

namespace ringmta::admin {

struct AdminEndpoint {
  enum class Kind { Off, Unix, Tcp };
  Kind kind = Kind::Off;
  std::string path;              // Unix
  engine::SocketAddress address; // Tcp
  std::string text;              // "unix:/path" or "127.0.0.1:9588" (messages)
};

// admin.listen (see admin_server.h) with server.data_dir -> the endpoint.
// Fails (with the message) for a value the config validator would refuse.
base::Result<AdminEndpoint> admin_endpoint(const std::string& listen, const std::string& data_dir);

class AdminClient {
 public:
  AdminClient() = default;
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  enum class ConnectResult { Ok, NotRunning, Error };
  // NotRunning: nothing listens there (no socket file, connection refused).
  ConnectResult connect(const AdminEndpoint& endpoint, std::string* error);
  // One request, one response; fails on I/O failure, timeout or a response
  // that is not a JSON object.
  base::Result<base::json::Value> call(const base::json::Value& request, int timeout_seconds);

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace ringmta::admin
