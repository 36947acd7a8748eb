// relay/ctl_main.cpp — `ringmtactl`, the operator's tool.
//
//   ringmtactl (--data-dir DIR | --config FILE) queue list [--json]
//   ringmtactl (--data-dir DIR | --config FILE) queue cat ID
//   ringmtactl user add|passwd|del NAME [--users-file FILE | --config FILE]
//
// Reads the queue through a read-only RocksDB open, so it works both while
// the daemon runs and while it is stopped. Exit codes: 0 ok, 1 not found or
// queue error, 2 bad command line or configuration.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "queue/queue.h"
#include "relay/config.h"
#include "relay/ctl_user.h"

namespace {

std::string iso8601(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// JSON string literal (RFC 8259): quotes, backslash and control characters escaped.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

int open_queue(const std::string& data_dir, std::unique_ptr<ringmta::queue::Queue>& q) {
  auto path = (std::filesystem::path(data_dir) / "queue").string();
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "ringmtactl: no queue at %s (wrong --data-dir?)\n", path.c_str());
    return 1;
  }
  auto st = ringmta::queue::open_rocksdb_queue_readonly(path, q);
  if (!st.ok()) {
    std::fprintf(stderr, "ringmtactl: cannot open the queue at %s: %s\n", path.c_str(), st.message.c_str());
    return 1;
  }
  return 0;
}

int queue_list(ringmta::queue::Queue& q, bool json) {
  auto st = q.scan([json](const ringmta::queue::Envelope& e) {
    if (json) {
      std::string line = "{\"id\":" + json_string(e.id) + ",\"sender\":" + json_string(e.sender) + ",\"recipients\":[";
      for (size_t i = 0; i < e.recipients.size(); ++i) {
        if (i) line += ',';
        line += json_string(e.recipients[i].address);
      }
      line += "],\"size\":" + std::to_string(e.size) + ",\"arrival\":" + json_string(iso8601(e.arrival_ms)) +
              ",\"arrival_unix\":" + std::to_string(e.arrival_ms / 1000) + "}\n";
      std::fputs(line.c_str(), stdout);
    } else {
      std::string line = e.id + "  " + std::to_string(e.size) + "  " + iso8601(e.arrival_ms) + "  <" + e.sender + ">";
      for (const auto& r : e.recipients) line += " <" + r.address + ">";
      line += '\n';
      std::fputs(line.c_str(), stdout);
    }
    return true;
  });
  if (!st.ok()) {
    std::fprintf(stderr, "ringmtactl: queue scan failed: %s\n", st.message.c_str());
    return 1;
  }
  return 0;
}

int queue_cat(ringmta::queue::Queue& q, const std::string& id) {
  std::string body;
  auto st = q.read_body(id, body);
  if (st.code == ringmta::queue::Status::Code::NotFound) {
    std::fprintf(stderr, "ringmtactl: no message with queue ID %s\n", id.c_str());
    return 1;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "ringmtactl: cannot read %s: %s\n", id.c_str(), st.message.c_str());
    return 1;
  }
  std::fwrite(body.data(), 1, body.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ringmtactl: manage a ringmta relay", "ringmtactl"};
  std::string data_dir, config_path;
  app.add_option("--data-dir", data_dir, "The daemon's data directory (server.data_dir)");
  app.add_option("-c,--config", config_path, "The daemon's configuration file (to find its data directory)");
  app.add_flag_callback("-V,--version", [] {
    std::printf("ringmtactl %s\n", RINGMTA_VERSION);
    std::exit(0);
  }, "Print the version and exit");
  app.require_subcommand(1);

  auto* queue_cmd = app.add_subcommand("queue", "Inspect the queue");
  queue_cmd->require_subcommand(1);
  bool json = false;
  auto* list_cmd = queue_cmd->add_subcommand("list", "One line per queued message, starting with its queue ID");
  list_cmd->add_flag("--json", json, "JSON lines: id, sender, recipients, size, arrival, arrival_unix");
  std::string cat_id;
  auto* cat_cmd = queue_cmd->add_subcommand("cat", "Write a queued message's stored bytes to stdout");
  cat_cmd->add_option("id", cat_id, "Queue ID")->required();

  auto* user_cmd = app.add_subcommand("user", "Edit the SMTP AUTH users file (auth.users_file)");
  user_cmd->require_subcommand(1);
  user_cmd->fallthrough();  // --config after "user ..." still reaches the top level
  std::string users_file, user_name;
  user_cmd->add_option("--users-file", users_file, "The users file (default: auth.users_file of --config)");
  struct UserSub {
    CLI::App* cmd;
    ringmta::relay::UserAction action;
  };
  std::vector<UserSub> user_subs;
  for (auto [verb, action, help] : {std::tuple{"add", ringmta::relay::UserAction::Add, "Add a user (password from the terminal or one line on stdin)"},
                                    std::tuple{"passwd", ringmta::relay::UserAction::Passwd, "Set a user's password"},
                                    std::tuple{"del", ringmta::relay::UserAction::Del, "Remove a user"}}) {
    auto* sub = user_cmd->add_subcommand(verb, help);
    sub->fallthrough();
    sub->add_option("name", user_name, "User name")->required();
    user_subs.push_back({sub, action});
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (user_cmd->parsed()) {
    if (users_file.empty()) {
      auto result = config_path.empty() ? ringmta::relay::default_config()
                                        : ringmta::relay::load_config_file(config_path);
      if (!result.config) {
        std::fprintf(stderr, "ringmtactl: %s\n", result.error.c_str());
        return 2;
      }
      users_file = result.config->auth.users_file;
      if (users_file.empty()) {
        std::fprintf(stderr, "ringmtactl: no users file: give --users-file FILE, or --config FILE with auth.users_file set\n");
        return 2;
      }
    }
    for (const auto& s : user_subs)
      if (s.cmd->parsed()) return ringmta::relay::run_user_command(s.action, user_name, users_file);
    return 2;
  }

  if (data_dir.empty()) {
    auto result = config_path.empty() ? ringmta::relay::default_config()
                                      : ringmta::relay::load_config_file(config_path);
    if (!result.config) {
      std::fprintf(stderr, "ringmtactl: %s\n", result.error.c_str());
      return 2;
    }
    data_dir = result.config->server.data_dir;
  }

  std::unique_ptr<ringmta::queue::Queue> q;
  if (int rc = open_queue(data_dir, q); rc != 0) return rc;
  if (list_cmd->parsed()) return queue_list(*q, json);
  if (cat_cmd->parsed()) return queue_cat(*q, cat_id);
  return 2;
}
