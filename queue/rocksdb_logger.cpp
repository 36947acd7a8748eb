// queue/rocksdb_logger.cpp — stdio info log for RocksDB (see rocksdb_logger.h).
#include "queue/rocksdb_logger.h"

#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include <cstdarg>
#include <mutex>

namespace ringmta::queue {
namespace {

class StdioLogger final : public rocksdb::Logger {
 public:
  StdioLogger(std::string path, size_t max_bytes, rocksdb::InfoLogLevel level)
      : rocksdb::Logger(level), path_(std::move(path)), max_bytes_(max_bytes) {
    file_ = fopen(path_.c_str(), "a");
  }
  ~StdioLogger() override {
    if (file_) fclose(file_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char stamp[64];
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y/%m/%d-%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%06ld", static_cast<long>(tv.tv_usec));

    std::lock_guard lock(mu_);
    rotate_if_big();
    if (!file_) return;
    // Errors (a full disk) are ignored on purpose: losing a log line is fine.
    fprintf(file_, "%s ", stamp);
    vfprintf(file_, format, ap);
    fputc('\n', file_);
    fflush(file_);
  }

  size_t GetLogFileSize() const override {
    std::lock_guard lock(mu_);
    return file_ ? static_cast<size_t>(ftell(file_)) : 0;
  }

 private:
  void rotate_if_big() {
    if (!file_ || ftell(file_) < static_cast<long>(max_bytes_)) return;
    fclose(file_);
    rename(path_.c_str(), (path_ + ".old").c_str());
    file_ = fopen(path_.c_str(), "a");
  }

  const std::string path_;
  const size_t max_bytes_;
  mutable std::mutex mu_;
  FILE* file_ = nullptr;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_queue_logger(const std::string& path, size_t max_bytes,
                                                   rocksdb::InfoLogLevel level) {
  return std::make_shared<StdioLogger>(path, max_bytes, level);
}

}  // namespace ringmta::queue
