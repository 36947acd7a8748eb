// telemetry/log_sink.cpp — see log_sink.h.
#include "telemetry/log_sink.h"

#include <pthread.h>
#include <spdlog/pattern_formatter.h>
#include <unistd.h>

#include <cerrno>

namespace ringmta::telemetry {

BatchingSink::BatchingSink(Options options)
    : options_(options), formatter_(std::make_unique<spdlog::pattern_formatter>()) {
  writer_ = std::thread([this] { run(); });
}

BatchingSink::~BatchingSink() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();
  flush();  // anything logged while the writer was stopping
}

void BatchingSink::log(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  std::unique_lock lock(mu_);
  formatter_->format(msg, line);  // under the lock: formatters keep per-instance caches
  // A full buffer means the writer is stuck (stderr blocked): wait for room
  // rather than drop the line. Once stopped there is no writer to wait for.
  space_.wait(lock, [&] { return buffer_.size() < options_.max_bytes || stop_; });
  const bool was_small = buffer_.size() < options_.batch_bytes;
  buffer_.append(line.data(), line.size());
  // Wake the writer only on an edge: an urgent line, or crossing batch_bytes.
  // Every other line just waits for the next interval (no futex per line).
  if (msg.level >= options_.urgent || (was_small && buffer_.size() >= options_.batch_bytes)) {
    lock.unlock();
    wake_.notify_one();
  }
}

void BatchingSink::flush() {
  std::unique_lock lock(mu_);
  write_out(lock);
}

void BatchingSink::set_pattern(const std::string& pattern) {
  set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
}

void BatchingSink::set_formatter(std::unique_ptr<spdlog::formatter> formatter) {
  std::lock_guard lock(mu_);
  formatter_ = std::move(formatter);
}

size_t BatchingSink::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

void BatchingSink::run() {
  pthread_setname_np(pthread_self(), "ringmta-log");
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, options_.interval);
    write_out(lock);
  }
}

// Called with `buffer_lock` (on mu_) held; returns with it held. The write
// itself happens without mu_, so shards keep appending meanwhile; write_mu_
// keeps two writers (the thread and a flush()) from reordering batches.
void BatchingSink::write_out(std::unique_lock<std::mutex>& buffer_lock) {
  buffer_lock.unlock();
  std::lock_guard writing(write_mu_);
  buffer_lock.lock();
  if (buffer_.empty()) return;
  std::string out;
  out.swap(buffer_);
  ++writes_;
  buffer_lock.unlock();
  space_.notify_all();
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::write(options_.fd, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // stderr closed or broken: nothing better to do with the lines
    off += static_cast<size_t>(n);
  }
  buffer_lock.lock();
}

}  // namespace ringmta::telemetry
