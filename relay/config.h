// relay/config.h — the daemon's configuration: TOML file (or the embedded
// default) parsed and validated into plain structs.
//
// Errors name the file, line and key ("ringmta.toml:12: limits.max_recipients:
// expected a positive integer"); the daemon prints them and exits 2.
// Every key, its meaning, default and valid values: deploy/ringmta.toml.
// ConfigResult::error holds every problem found, one per line, in file order.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/address.h"
#include "relay/cidr.h"

namespace ringmta::relay {

enum class ListenerKind { Smtp, Submission, Submissions, Pop3, Pop3s, Imap, Imaps };
std::string_view to_string(ListenerKind kind);

struct ListenerConfig {
  engine::SocketAddress address;
  std::string address_text;       // as written, for logs
  ListenerKind kind = ListenerKind::Smtp;
};

enum class Durability { Fsync, Wal };

struct Config {
  std::string source;  // file path, or "<embedded default>"

  struct Server {
    std::string hostname;                       // default: the system host name
    std::string data_dir = "./ringmta-data";
    unsigned threads = 0;                       // 0 = one per core
    std::chrono::seconds shutdown_timeout{30};  // SIGTERM: time open transactions get to finish
  } server;

  std::vector<ListenerConfig> listeners;         // default: one smtp listener on 127.0.0.1:2525

  struct Relay {
    std::vector<Cidr> trusted_networks;          // default 127.0.0.0/8, ::1/128
    std::vector<std::string> local_domains;      // lower-case
  } relay;

  struct Limits {
    uint64_t max_message_size = 50ull << 20;
    unsigned max_recipients = 1000;
    size_t max_line_length = 4096;
    unsigned max_errors = 20;
    std::chrono::seconds command_timeout{300};
    std::chrono::seconds data_timeout{600};
  } limits;

  struct Queue {
    Durability durability = Durability::Fsync;
  } queue;

  struct Log {
    std::string level = "info";                  // trace, debug, info, warn, error
  } log;
};

struct ConfigResult {
  std::optional<Config> config;
  std::string error;  // set when config is empty
};

// Parse and validate a TOML document. `source_name` is used in messages.
ConfigResult parse_config(std::string_view toml_text, std::string_view source_name);
// Read and parse a file.
ConfigResult load_config_file(const std::string& path);
// The embedded default configuration (parsed through the same code path).
ConfigResult default_config();
std::string_view default_config_text();

// "30s", "5m", "2h", "1d", "1w", "1h30m", "0" -> seconds; nullopt on bad syntax.
// A bare number ("90") is seconds. Units (s, m, h, d, w) are lower-case and appear
// at most once each, largest first. No signs, fractions or spaces. At most 3650d.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// Byte sizes: "52428800", "50M", "50MiB", "512K", "1G" -> bytes. Suffixes are
// binary (K/KiB = 1024, M/MiB = 2^20, G/GiB = 2^30, T/TiB = 2^40; k/m/g/t also);
// decimal "KB"/"MB"/"GB" are refused as ambiguous. nullopt on bad syntax/overflow.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace ringmta::relay
