// auth/auth.cpp — see auth.h.
#include "auth/auth.h"

#include <sys/stat.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "limits/client_key.h"

namespace ringmta::auth {
namespace {

constexpr size_t kPruneAbove = 10000;  // throttle entries before old ones are swept

// A user name as the log shows it: printable ASCII, at most 64 characters
// (it comes from the client and may be anything).
std::string loggable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  if (s.size() > 64) out += "...";
  return out;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) {
    error = path + ": read error";
    return false;
  }
  out = ss.str();
  return true;
}

}  // namespace

AuthService::AuthService(AuthOptions options) : opt_(std::move(options)) {
  // Used when the users file has no real hash to model the dummy on (never an
  // empty hash: that would be checked without any hash work).
  fallback_hash_ = hash_password("ringmta unknown user").value_or("");
  dummy_hash_ = fallback_hash_;
  const unsigned n = std::max(1u, opt_.threads);
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { worker(); });
}

AuthService::~AuthService() {
  {
    std::lock_guard lock(q_mu_);
    stopping_ = true;
    queue_.clear();
  }
  q_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::string AuthService::load() {
  struct stat st {};
  if (::stat(opt_.users_file.c_str(), &st) != 0) return opt_.users_file + ": " + std::strerror(errno);
  std::string text, error;
  if (!read_file(opt_.users_file, text, error)) return error;
  adopt(st, text, "");
  return "";
}

// Parse `text` (the file as `st` describes it) and make it the users in force.
void AuthService::adopt(const struct stat& st, const std::string& text, const char* what) {
  auto db = std::make_shared<UsersDb>(parse_users(text, opt_.users_file));
  for (const auto& p : db->problems) spdlog::warn("users file: {} (line skipped)", p);
  spdlog::info("users file {}{}: {} user(s)", opt_.users_file, what, db->users.size());
  // One hash computation per (re)load, on this thread (start-up or a worker).
  std::string dummy = dummy_hash_like(db->first_hash).value_or(fallback_hash_);
  std::lock_guard lock(db_mu_);
  db_ = std::move(db);
  dummy_hash_ = std::move(dummy);
  mtime_ = st.st_mtim;
  ino_ = st.st_ino;
  size_ = st.st_size;
  reported_unreadable_ = false;
}

// On a worker. A stat per check is cheap next to the hash; the file is only
// read again when its inode, size or modification time changed (ringmtactl
// replaces it by rename, editors rewrite it: both show).
void AuthService::reload_if_changed() {
  struct stat st {};
  if (::stat(opt_.users_file.c_str(), &st) != 0) {
    std::lock_guard lock(db_mu_);
    if (!reported_unreadable_) {
      spdlog::error("users file {}: {} (keeping the users read before)", opt_.users_file, std::strerror(errno));
      reported_unreadable_ = true;
    }
    return;
  }
  {
    std::lock_guard lock(db_mu_);
    if (st.st_ino == ino_ && st.st_size == size_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
        st.st_mtim.tv_nsec == mtime_.tv_nsec)
      return;
  }
  std::string text, error;
  if (!read_file(opt_.users_file, text, error)) {
    spdlog::error("users file: {} (keeping the users read before)", error);
    return;
  }
  adopt(st, text, " changed");
}

unsigned AuthService::count(std::unordered_map<std::string, Counter>& map, const std::string& key,
                            std::chrono::steady_clock::time_point now) {
  auto it = map.find(key);
  if (it == map.end()) return 0;
  if (now - it->second.last > opt_.failure_window) {
    map.erase(it);
    return 0;
  }
  return it->second.failures;
}

void AuthService::prune(std::chrono::steady_clock::time_point now) {
  for (auto* map : {&by_client_, &by_user_}) {
    if (map->size() <= kPruneAbove) continue;
    for (auto it = map->begin(); it != map->end();)
      it = now - it->second.last > opt_.failure_window ? map->erase(it) : std::next(it);
  }
}

AuthVerdict AuthService::check_now(const std::string& client, const std::string& user,
                                   const std::string& password) {
  AuthVerdict v;
  const auto now = std::chrono::steady_clock::now();
  const std::string key = limits::client_key(client);
  {
    std::lock_guard lock(throttle_mu_);
    if (count(by_client_, key, now) >= opt_.max_failures) {
      spdlog::warn("authentication refused: client=[{}] user=<{}>: too many failures from {}", client,
                   loggable(user), key == client ? "this address" : key);
      v.result = Outcome::TooManyFailures;
      return v;
    }
  }
  reload_if_changed();
  std::shared_ptr<const UsersDb> db;
  std::string dummy;
  {
    std::lock_guard lock(db_mu_);
    db = db_;
    dummy = dummy_hash_;
  }
  if (!db) {
    spdlog::error("authentication: no users file loaded; client=[{}] user=<{}>", client, loggable(user));
    v.result = Outcome::TempFail;
    return v;
  }
  auto it = db->users.find(user);
  const bool known = it != db->users.end();
  // A locked user ("!$y$...", "*") would fail in verify_password without any
  // hash work; like an unknown one, it is checked against the dummy instead.
  const bool usable = known && !it->second.hash.empty() && it->second.hash.front() == '$';
  const std::string& hash = usable ? it->second.hash : dummy;
  const bool matched = opt_.verify ? opt_.verify(password, hash) : verify_password(password, hash);
  const bool ok = matched && usable;

  std::lock_guard lock(throttle_mu_);
  if (ok) {
    by_client_.erase(key);
    by_user_.erase(user);
    v.result = Outcome::Ok;
    v.senders = it->second.senders;
    spdlog::info("authenticated: client=[{}] user=<{}>", client, loggable(user));
    return v;
  }
  const unsigned from_client = count(by_client_, key, now) + 1;
  const unsigned for_user = count(by_user_, user, now) + 1;
  by_client_[key] = Counter{from_client, now};
  by_user_[user] = Counter{for_user, now};
  prune(now);
  const unsigned n = std::max(from_client, for_user);
  spdlog::warn("authentication failed: client=[{}] user=<{}>{}: {} failure(s) from {}, {} for this user", client,
               loggable(user), !known ? " (unknown user)" : usable ? "" : " (locked user)", from_client,
               key == client ? "this address" : key, for_user);
  if (n >= opt_.max_failures) {
    v.result = Outcome::TooManyFailures;
  } else {
    v.result = Outcome::Invalid;
    v.delay = opt_.failure_delay * n;
  }
  return v;
}

void AuthService::check(engine::Reactor& reactor, std::string client, std::string user, std::string password,
                        std::function<void(AuthVerdict)> done) {
  std::unique_lock lock(q_mu_);
  if (stopping_ || queue_.size() >= opt_.max_pending) {
    lock.unlock();
    // Overloaded (or stopping): answer 454 rather than queue without bound.
    std::fill(password.begin(), password.end(), '\0');
    spdlog::warn("authentication: {} checks pending, answering 454 to [{}]", opt_.max_pending, client);
    reactor.post([done = std::move(done)]() mutable { done(AuthVerdict{}); });
    return;
  }
  queue_.push_back([this, &reactor, client = std::move(client), user = std::move(user),
                    password = std::move(password), done = std::move(done)]() mutable {
    AuthVerdict v = check_now(client, user, password);
    std::fill(password.begin(), password.end(), '\0');
    reactor.post([done = std::move(done), v = std::move(v)]() mutable { done(std::move(v)); });
  });
  lock.unlock();
  q_cv_.notify_one();
}

void AuthService::worker() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(q_mu_);
      q_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace ringmta::auth
