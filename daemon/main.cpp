// daemon/main.cpp — the `ringmta` daemon's command line.
//
//   ringmta [--config FILE] [--check-config] [--version]
//
// Exit codes: 0 clean stop, 1 start-up failure (data dir, queue, listener),
// 2 bad command line or configuration.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "config/config.h"
#include "daemon/daemon.h"
#include "telemetry/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"ringmta: high-throughput mail relay (SMTP smart host)", "ringmta"};
  std::string config_path;
  bool check_only = false;
  bool show_version = false;
  app.add_option("-c,--config", config_path, "TOML configuration file (default: the embedded configuration)");
  app.add_flag("--check-config", check_only, "Validate the configuration and exit");
  app.add_flag("-V,--version", show_version, "Print the version and exit");
  app.footer(
      "Without --config, ringmta listens for SMTP on 127.0.0.1:2525 and keeps its queue in ./ringmta-data.\n"
      "Every configuration key is documented in deploy/ringmta.toml.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (show_version) {
    std::printf("ringmta %s\n", RINGMTA_VERSION);
    return 0;
  }

  auto result = config_path.empty() ? ringmta::config::default_config()
                                    : ringmta::config::load_config_file(config_path);
  if (!result) {
    std::fprintf(stderr, "ringmta: %s\n", result.error().c_str());
    return 2;
  }
  if (check_only) {
    std::printf("%s: configuration OK\n", result->source.c_str());
    return 0;
  }

  ringmta::telemetry::init_logging(result->log.level, result->log.format, result->log.buffered);
  spdlog::info("ringmta {} starting with {}", RINGMTA_VERSION, result->source);
  int rc = ringmta::daemon::run_daemon(std::make_shared<const ringmta::config::Config>(std::move(result).value()));
  ringmta::telemetry::shutdown_logging();
  return rc;
}
