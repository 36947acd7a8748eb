// limits/disk_guard.cpp — see disk_guard.h.
#include "limits/disk_guard.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ringmta::limits {

bool disk_space_low(std::optional<uint64_t> free_bytes, uint64_t min_free_space) {
  return min_free_space > 0 && free_bytes && *free_bytes < min_free_space;
}

std::optional<uint64_t> free_space(const std::string& path, std::string* error) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    if (error) *error = std::string("statvfs ") + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
}

DiskGuard::DiskGuard(std::string data_dir, uint64_t min_free_space, std::chrono::milliseconds interval)
    : data_dir_(std::move(data_dir)), min_free_(min_free_space), interval_(interval) {
  check();
}

DiskGuard::~DiskGuard() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DiskGuard::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void DiskGuard::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    check();
    lock.lock();
  }
}

void DiskGuard::check() {
  std::string error;
  const std::optional<uint64_t> bytes = free_space(data_dir_, &error);
  if (!bytes) {
    // Keep the last answer; say so once per distinct error.
    if (error != last_error_) spdlog::error("queue.min_free_space: cannot check free space: {}", error);
    last_error_ = std::move(error);
    return;
  }
  last_error_.clear();
  free_.store(*bytes, std::memory_order_relaxed);
  const bool low = disk_space_low(bytes, min_free_);
  if (low_.exchange(low, std::memory_order_relaxed) != low) {
    if (low)
      spdlog::warn("queue.min_free_space: {} bytes free in {}, below {}: new mail gets 452 4.3.1 until there is "
                   "more room (delivery, bounces and removals go on)",
                   *bytes, data_dir_, min_free_);
    else
      spdlog::info("queue.min_free_space: {} bytes free in {} again: taking new mail", *bytes, data_dir_);
  }
}

}  // namespace ringmta::limits
