// relay/local_directory.cpp — see local_directory.h.
#include "relay/local_directory.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/auth_users.h"
#include "config/config.h"

namespace ringmta::relay {
namespace {

mail::LocalDomains domains_of(const config::Config& c) {
  return mail::LocalDomains{c.relay.local_domains, c.relay.recipient_delimiter};
}

}  // namespace

LocalDirectory::LocalDirectory(const config::Config& config)
    : users_file_(config.auth.users_file),
      aliases_file_(config.relay.aliases_file),
      default_quota_(config.mailbox.quota),
      domains_(domains_of(config)) {}

LocalDirectory::~LocalDirectory() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<const LocalSnapshot> LocalDirectory::build(const std::string& users_text,
                                                           const std::string& aliases_text,
                                                           const mail::LocalDomains& domains,
                                                           const std::string& users_source,
                                                           const std::string& aliases_source) {
  auto snap = std::make_shared<LocalSnapshot>();
  const std::string first = domains.domains.empty() ? std::string() : domains.domains.front();
  auth::UsersDb db = auth::parse_users(users_text, users_source);
  for (const auto& p : db.problems) spdlog::warn("{}", p);
  for (const auto& [name, rec] : db.users) {
    std::string user = mail::canonical_user(name, first);
    const size_t at = user.rfind('@');
    // A user of another domain (a relay-only login) has no mailbox here.
    if (user.empty() || !domains.contains(std::string_view(user).substr(at + 1))) continue;
    if (rec.quota) snap->quotas[user] = *rec.quota;
    snap->users.insert(std::move(user));
  }
  if (!aliases_text.empty() || !aliases_source.empty()) {
    snap->aliases = mail::parse_aliases(aliases_text, aliases_source, first);
    for (const auto& p : snap->aliases.problems) spdlog::warn("{}", p);
  }
  return snap;
}

uint64_t LocalDirectory::quota_of(const LocalSnapshot& s, const std::string& user) const {
  auto it = s.quotas.find(user);
  return it != s.quotas.end() ? it->second : default_quota_;
}

std::shared_ptr<const LocalSnapshot> LocalDirectory::current() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

std::string LocalDirectory::read_both(std::string& users, std::string& aliases, FileStamp& us,
                                      FileStamp& as) const {
  auto read = [](const std::string& path, std::string& out, FileStamp& stamp) -> std::string {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
    std::ifstream in(path, std::ios::binary);
    if (!in) return path + ": " + std::strerror(errno);
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) return path + ": read error";
    out = s.str();
    stamp = FileStamp{st.st_ino, st.st_size, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
    return "";
  };
  if (std::string e = read(users_file_, users, us); !e.empty()) return e;
  if (!aliases_file_.empty())
    if (std::string e = read(aliases_file_, aliases, as); !e.empty()) return e;
  return "";
}

std::string LocalDirectory::load() {
  std::string users, aliases;
  FileStamp us, as;
  if (std::string e = read_both(users, aliases, us, as); !e.empty()) return e;
  auto snap = build(users, aliases, domains_, users_file_, aliases_file_);
  spdlog::info("local delivery: {} users with mailboxes, {} aliases", snap->users.size(), snap->aliases.entries.size());
  for (const std::string& a : mail::missing_role_addresses(snap->aliases, snap->users, domains_))
    spdlog::warn("local delivery: {} reaches nobody (RFC 5321 4.5.1 / RFC 2142 want it): add an alias", a);
  users_stamp_ = us;
  aliases_stamp_ = as;
  std::lock_guard lock(mu_);
  snapshot_ = std::move(snap);
  return "";
}

void LocalDirectory::start() {
  watcher_ = std::thread([this] { watch(); });
}

void LocalDirectory::watch() {
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    auto stamp = [](const std::string& path) {
      struct stat st {};
      if (path.empty() || ::stat(path.c_str(), &st) != 0) return FileStamp{};
      return FileStamp{st.st_ino, st.st_size, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
    };
    if (stamp(users_file_) != users_stamp_ || (!aliases_file_.empty() && stamp(aliases_file_) != aliases_stamp_)) {
      std::string users, aliases;
      FileStamp us, as;
      if (std::string e = read_both(users, aliases, us, as); !e.empty()) {
        if (!reported_) spdlog::error("local delivery: {} (keeping the users and aliases read before)", e);
        reported_ = true;
      } else {
        reported_ = false;
        users_stamp_ = us;
        aliases_stamp_ = as;
        auto snap = build(users, aliases, domains_, users_file_, aliases_file_);
        spdlog::info("local delivery: re-read: {} users with mailboxes, {} aliases", snap->users.size(),
                     snap->aliases.entries.size());
        std::lock_guard g(mu_);
        snapshot_ = std::move(snap);
      }
    }
    lock.lock();
  }
}

}  // namespace ringmta::relay
