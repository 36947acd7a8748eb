// relay/local_directory.h — who lives at the local domains, at run time: the
// users file's users with a mailbox (names in relay.local_domains, or bare
// names of the first one) with their quotas, and the aliases file
// (mail/aliases.h), as one immutable snapshot the shards read without I/O.
//
// The files are read at start (main thread) and again when they change: a
// watcher thread stats both once a second and swaps in a new snapshot (never
// a shard thread: the shards only copy a shared_ptr under a mutex). A file
// that becomes unreadable keeps the snapshot read before
// (logged once).
//
// Used by the RCPT check (local_recipients.h) and by the scheduler's local
// delivery (a recipient's mailboxes at delivery time).
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "mail/aliases.h"

namespace ringmta::config {
struct Config;
}

namespace ringmta::relay {

struct LocalSnapshot {
  mail::AliasTable aliases;
  std::set<std::string> users;                        // canonical (mail::canonical_user)
  std::unordered_map<std::string, uint64_t> quotas;   // per-user overrides (users file "quota=")
};

class LocalDirectory {
 public:
  explicit LocalDirectory(const config::Config& config);
  ~LocalDirectory();  // stops the watcher
  LocalDirectory(const LocalDirectory&) = delete;
  LocalDirectory& operator=(const LocalDirectory&) = delete;

  // Reads both files now (main thread, before the shards): "" or why not (an
  // unreadable file stops the start). Logs bad lines and the role addresses
  // (postmaster@, abuse@ of each local domain) that reach nobody.
  std::string load();
  // Starts the watcher thread (after load()).
  void start();

  std::shared_ptr<const LocalSnapshot> current() const;
  const mail::LocalDomains& domains() const { return domains_; }
  // The user's quota in bytes (0 = none): the users file's override, else mailbox.quota.
  uint64_t quota_of(const LocalSnapshot& s, const std::string& user) const;

  // The snapshot built from file texts (tests; load and reload use it too).
  static std::shared_ptr<const LocalSnapshot> build(const std::string& users_text, const std::string& aliases_text,
                                                    const mail::LocalDomains& domains, const std::string& users_source,
                                                    const std::string& aliases_source);

 private:
  struct FileStamp {
    ino_t ino = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    bool operator==(const FileStamp&) const = default;
  };
  // Reads both files; "" and `out` set, or why not.
  std::string read_both(std::string& users, std::string& aliases, FileStamp& us, FileStamp& as) const;
  void watch();

  const std::string users_file_;
  const std::string aliases_file_;
  const uint64_t default_quota_;
  const mail::LocalDomains domains_;

  mutable std::mutex mu_;
  std::shared_ptr<const LocalSnapshot> snapshot_;

  // Watcher thread only (after start()).
  FileStamp users_stamp_, aliases_stamp_;
  bool reported_ = false;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace ringmta::relay
