// tests/unit/telemetry/log_sink_test.cpp — telemetry::BatchingSink: order, batching,
// urgent lines written at once, back-pressure without loss.
#include "telemetry/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace ringmta::telemetry {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    ::close(r);
    ::close(w);
  }
  // Reads until `want` bytes arrived or `limit` passed.
  std::string read_for(size_t want, std::chrono::milliseconds limit) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      pollfd p{r, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[65536];
      ssize_t n = ::read(r, buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

std::shared_ptr<spdlog::logger> make_logger(std::shared_ptr<telemetry::BatchingSink> sink) {
  auto logger = std::make_shared<spdlog::logger>("test", std::move(sink));
  logger->set_pattern("%l %v");
  logger->set_level(spdlog::level::info);
  return logger;
}

std::string expected_lines(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += "info line " + std::to_string(i) + "\n";
  return s;
}

TEST(BatchingSink, ManyLinesFewWritesInOrder) {
  Pipe pipe;
  telemetry::BatchingSink::Options o;
  o.fd = pipe.w;
  o.interval = 50ms;
  auto sink = std::make_shared<telemetry::BatchingSink>(o);
  auto logger = make_logger(sink);
  for (int i = 0; i < 2000; ++i) logger->info("line {}", i);
  const std::string want = expected_lines(0, 2000);
  EXPECT_EQ(pipe.read_for(want.size(), 5s), want);
  EXPECT_LT(sink->writes(), 100u) << "one write per line would be 2000";
}

TEST(BatchingSink, WarningIsWrittenWithoutWaitingForTheInterval) {
  Pipe pipe;
  telemetry::BatchingSink::Options o;
  o.fd = pipe.w;
  o.interval = 60s;  // an info line alone would wait this long
  auto sink = std::make_shared<telemetry::BatchingSink>(o);
  auto logger = make_logger(sink);
  logger->info("quiet");
  EXPECT_EQ(pipe.read_for(1, 300ms), "");
  logger->warn("loud");
  // The earlier info line comes along, in order.
  EXPECT_EQ(pipe.read_for(18, 10s), "info quiet\nwarning loud\n");
}

TEST(BatchingSink, FlushWritesEverythingNow) {
  Pipe pipe;
  telemetry::BatchingSink::Options o;
  o.fd = pipe.w;
  o.interval = 60s;
  auto sink = std::make_shared<telemetry::BatchingSink>(o);
  auto logger = make_logger(sink);
  for (int i = 0; i < 10; ++i) logger->info("line {}", i);
  logger->flush();
  const std::string want = expected_lines(0, 10);
  EXPECT_EQ(pipe.read_for(want.size(), 1s), want);
}

TEST(BatchingSink, ABlockedOutputSlowsLoggersButLosesNothing) {
  Pipe pipe;  // nobody reads it at first: it fills (64 KiB) and write() blocks
  telemetry::BatchingSink::Options o;
  o.fd = pipe.w;
  o.interval = 10ms;
  o.batch_bytes = 1024;
  o.max_bytes = 4096;
  auto sink = std::make_shared<telemetry::BatchingSink>(o);
  auto logger = make_logger(sink);
  constexpr int kLines = 20000;  // ~330 KB: far more than the pipe and the buffer hold
  std::atomic<int> logged{0};
  std::thread producer([&] {
    for (int i = 0; i < kLines; ++i) {
      logger->info("line {}", i);
      logged++;
    }
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_LT(logged.load(), kLines) << "the producer should be waiting for room";
  const std::string want = expected_lines(0, kLines);
  EXPECT_EQ(pipe.read_for(want.size(), 20s), want);
  producer.join();
}

TEST(BatchingSink, DestructionWritesWhatIsLeft) {
  Pipe pipe;
  {
    telemetry::BatchingSink::Options o;
    o.fd = pipe.w;
    o.interval = 60s;
    auto logger = make_logger(std::make_shared<telemetry::BatchingSink>(o));
    logger->info("last words");
  }
  EXPECT_EQ(pipe.read_for(16, 1s), "info last words\n");
}

}  // namespace
}  // namespace ringmta::telemetry
