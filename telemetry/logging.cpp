// telemetry/logging.cpp — see logging.h.
#include "telemetry/logging.h"

#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>

#include "mail/text_escape.h"
#include "telemetry/log_json.h"
#include "telemetry/log_sink.h"

namespace ringmta::telemetry {

namespace {

// One JSON object per line (log.format = "json"). Runs on the thread that
// logs (the sink formats before buffering).
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto t = msg.time;
    const std::time_t secs = system_clock::to_time_t(t);
    const auto micros = duration_cast<microseconds>(t.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line = json_log_line(ts, std::string_view(level.data(), level.size()),
                                           std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// log.format = "text": the line pattern around the message, with the message
// escaped first (mail/text_escape.h). Messages carry client and remote text
// (HELO names, addresses, ENVID, SNI, SMTP replies, header values); escaping
// here, once for every line, means no call site can forget it and no byte a
// client sends can end the line, forge another or drive the operator's
// terminal. Plain lines (the common case) are checked in one scan, not copied.
class EscapingFormatter final : public spdlog::formatter {
 public:
  explicit EscapingFormatter(std::string pattern)
      : pattern_(std::move(pattern)),
        inner_(std::make_unique<spdlog::pattern_formatter>(pattern_, spdlog::pattern_time_type::utc)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!mail::needs_log_escape(payload)) return inner_->format(msg, dest);
    const std::string escaped = mail::escape_for_log(payload);
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->format(copy, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<EscapingFormatter>(pattern_); }

 private:
  std::string pattern_;
  std::unique_ptr<spdlog::pattern_formatter> inner_;
};

}  // namespace

void init_logging(const std::string& level, const std::string& format, bool buffered) {
  // A plain (synchronous) logger over the batching sink: the shard formats
  // the line and appends it to a buffer; the sink's thread does the I/O (see
  // log_sink.h for why this replaced spdlog's async logger).
  BatchingSink::Options options;
  if (!buffered) options.urgent = spdlog::level::trace;  // every line wakes the writer
  auto sink = std::make_shared<BatchingSink>(options);
  auto logger = std::make_shared<spdlog::logger>("ringmta", sink);
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    // The pid goes in as text: spdlog's %P calls getpid() for every line.
    logger->set_formatter(
        std::make_unique<EscapingFormatter>(fmt::format("%Y-%m-%dT%H:%M:%S.%fZ ringmta[{}]: %l: %v", ::getpid())));
  }
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

void shutdown_logging() {
  spdlog::default_logger()->flush();
  spdlog::shutdown();  // drops the logger; the sink's destructor stops its thread
}

}  // namespace ringmta::telemetry
