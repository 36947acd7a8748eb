// relay/credential_store.cpp — see credential_store.h.
#include "relay/credential_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace ringmta::relay {

namespace {
constexpr size_t kMaxFile = size_t{16} * 1024 * 1024;
}

CredentialStore::CredentialStore(std::string path)
    : path_(std::move(path)), table_(std::make_shared<CredentialTable>()) {}

CredentialStore::~CredentialStore() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

CredentialStore::Stamp CredentialStore::stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Stamp{};
  return Stamp{st.st_ino, st.st_size, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec, st.st_mode};
}

// The mode is checked on the open descriptor, so what is read is what was checked.
std::string CredentialStore::read_checked(const std::string& path, std::string& text) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return path + ": " + std::strerror(errno);
  struct stat st {};
  std::string why;
  if (::fstat(fd, &st) != 0) {
    why = path + ": " + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = path + ": not a regular file";
  } else if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    why = path + ": mode " + mode + " lets group or others at the passwords; refused (chmod 600 it)";
  } else if (static_cast<size_t>(st.st_size) > kMaxFile) {
    why = path + ": larger than 16 MiB; refused";
  }
  if (why.empty()) {
    text.clear();
    char buf[8192];
    for (;;) {  // bounded: stops at EOF or past kMaxFile
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        why = path + ": " + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
      if (text.size() > kMaxFile) {
        why = path + ": larger than 16 MiB; refused";
        break;
      }
    }
  }
  ::close(fd);
  return why;
}

void CredentialStore::install(const std::string& text, bool reload) {
  auto table = std::make_shared<CredentialTable>(parse_credentials(text, path_));
  for (const auto& p : table->problems) spdlog::warn("delivery: credentials: {}", p);
  spdlog::info("delivery: credentials {}{}: {} entries", reload ? "re-read from " : "from ", path_,
               table->entries.size());
  std::lock_guard lock(mu_);
  table_ = std::move(table);
}

std::string CredentialStore::load() {
  stamp_ = stamp_of(path_);
  std::string text;
  if (std::string e = read_checked(path_, text); !e.empty()) return e;
  install(text, false);
  return "";
}

void CredentialStore::start() {
  watcher_ = std::thread([this] { watch(); });
}

std::shared_ptr<const CredentialTable> CredentialStore::current() const {
  std::lock_guard lock(mu_);
  return table_;
}

void CredentialStore::watch() {
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    const Stamp now = stamp_of(path_);
    if (!(now == stamp_)) {
      std::string text;
      if (std::string e = read_checked(path_, text); !e.empty()) {
        if (!reported_) spdlog::error("delivery: credentials: {} (keeping the entries read before)", e);
        reported_ = true;
      } else {
        reported_ = false;
        install(text, true);
      }
      stamp_ = now;  // a failure is reported once per change, not every second
    }
    lock.lock();
  }
}

}  // namespace ringmta::relay
