// relay/logging.cpp — see logging.h.
#include "relay/logging.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace ringmta::relay {

void init_logging(const std::string& level) {
  // Blocking overflow: under a log storm shards slow down rather than lose
  // lines that operators rely on (accepted-message lines carry queue IDs).
  spdlog::init_thread_pool(16384, 1);
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto async = std::make_shared<spdlog::async_logger>("ringmta", sink, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
  async->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ ringmta[%P]: %l: %v", spdlog::pattern_time_type::utc);
  async->set_level(spdlog::level::from_str(level));
  async->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(async);
  spdlog::flush_every(std::chrono::seconds(1));
}

void shutdown_logging() {
  spdlog::default_logger()->flush();
  spdlog::shutdown();
}

}  // namespace ringmta::relay
