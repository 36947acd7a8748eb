// admin/admin_server.h — the daemon's admin API (what `ringmtactl queue ...`,
// `destination ...` and `reload` talk to): one JSON request per line and one
// JSON response per line (admin/admin_protocol.h lists the commands).
//
// Where it listens (admin.listen, deploy/ringmta.toml):
//   ""                 a Unix socket admin.sock in server.data_dir (default)
//   "/path/x.sock"     a Unix socket there
//   "127.0.0.1:PORT"   TCP on a loopback address; admin.token is required
//   "off"              no admin API
// A Unix socket is created mode 0600 and only peers with the daemon's uid
// (or root) are served (SO_PEERCRED), which also covers the moment between
// bind() and chmod(). With admin.token set, every request must carry it.
//
// Clients: one thread accepts; each client gets its own thread (at most
// kMaxClients at once; more are told to try again), so one that stalls
// mid-request holds only its own thread, never the others or a shard.
// Changes (flush, delete, hold, ...) still run one at a time, so two
// operators' changes never interleave; reads run side by side.
//
// Hostile or broken clients (limits in admin_server.cpp, documented in the
// README): a request line is at most kMaxRequestBytes (8 MiB; more gets
// "request too large" and the connection closes); with a token, a line that
// grows past kTokenFirstBytes (4 KiB) before its end must begin with
// {"token":"..."} (ringmtactl sends it first) and is refused as soon as it
// does not, before the rest of it is read; a request must be complete
// within kRequestTimeoutMs of its first byte.
//
// The threads never block a shard: they read the queue themselves (listing,
// summary, show, and the copy a change starts from), and hand each change
// to the message's owner shard (Scheduler::admin_apply), waiting for the
// answer with a timeout. Up to kWindow changes are in flight at once, so a
// `flush --all` of a big queue shares group commits. A change still waiting
// for a running delivery attempt after kOpTimeout is reported "pending"
// and applied when that attempt ends.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "queue/queue.h"
#include "base/json.h"
#include "admin/admin_protocol.h"
#include "admin/mailbox_protocol.h"
#include "config/config.h"

namespace ringmta::mailbox {
class Service;
}  // namespace ringmta::mailbox

namespace ringmta::relay {
struct ShardContext;
class Loader;
}  // namespace ringmta::relay

namespace ringmta::admin {

using relay::Loader;
using relay::ShardContext;

class AdminServer {
 public:
  struct Hooks {
    queue::Queue* queue = nullptr;
    const std::vector<ShardContext*>* peers = nullptr;  // every shard, by shard id
    Loader* loader = nullptr;
    std::function<std::string()> reload;  // what SIGHUP does; "" = done, else the error
    mailbox::Service* mailbox = nullptr;  // the mail store (mailbox_* commands); null = none
  };

  AdminServer(std::shared_ptr<const config::Config> config, Hooks hooks);
  ~AdminServer();  // stop()

  // Bind and start the thread. false with *error when the socket cannot be
  // made; true (and nothing started) when admin.listen is "off".
  bool start(std::string* error);
  // Stop serving and join the thread (any thread but its own).
  void stop();
  // "unix:/path" or "ip:port"; "" when off.
  const std::string& where() const { return where_; }

  // Handle one request line; returns the response line (no newline). Public
  // so tests can drive it without a socket.
  std::string handle_line(std::string_view line);

  // Whether a partial request line (no newline yet) may be read further: ""
  // when so, else the error to answer (wrong or missing token at its start,
  // or over the size limit). No I/O.
  std::string check_partial_request(std::string_view partial) const;

 private:
  struct Client {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void run();
  void serve(int fd);
  void reap_clients(bool all);
  base::json::Value dispatch(const admin::Request& req);
  base::json::Value do_summary();
  base::json::Value do_list(const admin::Selector& sel);
  base::json::Value do_show(const std::string& id);
  base::json::Value do_change(const admin::Request& req);
  base::json::Value do_suspend(const std::string& domain, bool suspend);
  base::json::Value do_mailbox(const admin::MailboxRequest& req);  // admin_mailbox.cpp
  // Every shard's in-flight ids (empty set if a shard does not answer in time).
  std::set<std::string> in_flight();
  base::json::Value down_destinations();  // every shard's down destinations, merged
  // Sets "suspended" (domains) and "down" (above) on v: `destination list`
  // and `queue summary` both show them.
  void add_destination_state(base::json::Value& v);
  // IDs matching a selector (scan) or the given ones; unknown given IDs go to *missing.
  std::vector<std::string> select(const admin::Selector& sel, std::vector<std::string>* missing, std::string* error);

  std::shared_ptr<const config::Config> config_;
  Hooks hooks_;
  std::string where_;
  std::string unix_path_;  // to unlink on stop
  int listen_fd_ = -1;
  int wake_fd_ = -1;       // eventfd: stop() wakes the thread's poll
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::list<Client> clients_;  // the accept thread's own; each ends by setting done
  std::mutex changes_mu_;      // one change at a time (see the file comment)
  std::mutex mu_;
  std::set<std::string> suspended_;  // what the shards were told (for `destinations`)
};

}  // namespace ringmta::admin
