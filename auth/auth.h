// auth/auth.h — password checks for every protocol (SMTP AUTH, POP3, IMAP): the users file (re-read when it
// changes), a small worker pool that runs the deliberately slow crypt(3)
// checks off the shard threads, and throttling of failed attempts per client
// address and per user name.
//
// A shard calls check() with the credentials of a session's Action::AuthCheck;
// the verdict is posted back to that shard's reactor, with the delay the
// session must wait before it answers 535 (the waiting is a reactor timer on
// the shard, not a sleeping worker). One AuthService serves every shard.
//
// Throttling policy (operator view in deploy/ringmta.toml, [auth]):
//  * each failure counts for its client address and its user name, and is
//    forgotten after failure_window; an IPv6 client counts by its /64 (one
//    attacker gets a whole /64 and could otherwise rotate addresses in it);
//  * the n-th failure (n = the larger count) waits n x failure_delay, and the
//    max_failures-th answers TooManyFailures (421 and close);
//  * an address already at the limit gets TooManyFailures at once, without a
//    hash check; a user at the limit does not (no lock-out of a real user by
//    someone guessing from elsewhere), but its failures still close at once;
//  * a success resets both counts.
//
// Unknown users and locked ones ("!..." / "*" hashes) are checked against a
// dummy hash made with the scheme, cost and salt of the users file's first
// real hash, so every answer costs the same hash work and its timing does not
// tell which user names exist or are locked.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/reactor.h"
#include "auth/auth_users.h"

namespace ringmta::auth {

struct AuthOptions {
  std::string users_file;
  unsigned max_failures = 5;
  std::chrono::milliseconds failure_delay{1000};
  std::chrono::seconds failure_window{900};
  unsigned threads = 2;
  size_t max_pending = 1000;  // queued checks beyond this get TempFail (overload)
  // Tests only: called instead of verify_password (to see which hash each
  // check runs against). Empty: verify_password.
  std::function<bool(std::string_view password, const std::string& hash)> verify;
};

// The verdict on one set of credentials; each protocol maps it to its reply
// (SMTP 235/535/454/421, POP3 +OK/-ERR [AUTH]/[SYS/TEMP], IMAP OK/NO).
enum class Outcome {
  Ok,               // the password matches
  Invalid,          // wrong user or password (the throttling delay is in AuthVerdict::delay)
  TempFail,         // the users file is unreadable, or the workers are overloaded
  TooManyFailures,  // throttled: too many failures from this client or for this user
};

struct AuthVerdict {
  Outcome result = Outcome::TempFail;
  std::vector<std::string> senders;           // with Ok
  std::chrono::milliseconds delay{0};         // wait this long before answering
};

class AuthService {
 public:
  explicit AuthService(AuthOptions options);
  ~AuthService();  // stops and joins the workers; pending checks are dropped
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  // Read the users file now (at start-up, on the caller's thread). "" or the
  // reason it cannot be read; problems with single lines are logged.
  std::string load();

  // Check off-thread; `done` runs on `reactor`'s thread. `client` is the IP
  // address as text (logged with the user name on failure).
  void check(engine::Reactor& reactor, std::string client, std::string user, std::string password,
             std::function<void(AuthVerdict)> done);

  // The verdict logic without threads (tests, and the workers' body).
  AuthVerdict check_now(const std::string& client, const std::string& user, const std::string& password);

 private:
  struct Counter {
    unsigned failures = 0;
    std::chrono::steady_clock::time_point last;
  };
  void worker();
  void reload_if_changed();
  void adopt(const struct stat& st, const std::string& text, const char* what);
  unsigned count(std::unordered_map<std::string, Counter>& map, const std::string& key,
                 std::chrono::steady_clock::time_point now);
  void prune(std::chrono::steady_clock::time_point now);

  AuthOptions opt_;

  std::mutex db_mu_;
  std::shared_ptr<const UsersDb> db_;
  // Checked for unknown and locked users, so they cost the same time: made
  // like db_->first_hash (or a default yescrypt hash when it has none).
  std::string dummy_hash_;
  std::string fallback_hash_;  // the default yescrypt one, made at start
  struct timespec mtime_ {};
  ino_t ino_ = 0;
  off_t size_ = -1;
  bool reported_unreadable_ = false;

  std::mutex throttle_mu_;
  std::unordered_map<std::string, Counter> by_client_;
  std::unordered_map<std::string, Counter> by_user_;

  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ringmta::auth
