// relay/credential_store.h — delivery.credentials_file at run time: the
// parsed table (credentials.h) as one immutable snapshot that the delivery
// agents read without I/O, re-read when the file changes.
//
// The file holds passwords, so its mode is checked on every read: a file
// that group or others may read or write (any of mode 077), or that is not a
// regular file, is refused — at start the daemon stops with that message
// (Postfix only warns; a leaked relay password sends spam in our name).
// Like relay/local_directory.h, a watcher thread stats the file once a second
// and swaps in a new snapshot (never a shard thread: the shards only copy a
// shared_ptr under a mutex, once per new connection). A re-read that fails
// (unreadable, bad mode) keeps the table read before and says so once.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "relay/credentials.h"

namespace ringmta::relay {

class CredentialStore {
 public:
  explicit CredentialStore(std::string path);
  ~CredentialStore();  // stops the watcher
  CredentialStore(const CredentialStore&) = delete;
  CredentialStore& operator=(const CredentialStore&) = delete;

  // Reads the file now (main thread, before the shards): "" or why not.
  std::string load();
  // Starts the watcher thread (after load()).
  void start();
  std::shared_ptr<const CredentialTable> current() const;
  const std::string& path() const { return path_; }

  // Reads `path` after checking it (regular file, mode 0600 or stricter,
  // at most 16 MiB); "" or why not.
  static std::string read_checked(const std::string& path, std::string& text);

 private:
  struct Stamp {
    ino_t ino = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    mode_t mode = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp_of(const std::string& path);
  void install(const std::string& text, bool reload);
  void watch();

  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const CredentialTable> table_;
  Stamp stamp_;  // watcher thread only (after start())
  bool reported_ = false;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace ringmta::relay
