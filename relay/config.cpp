// relay/config.cpp — reads ringmta's TOML configuration (toml++) and validates
// it into relay::Config.
//
// The operator-facing documentation of every key is deploy/ringmta.toml; keep
// the two in step. Validation is strict on purpose: an unknown key, a wrong
// type or an out-of-range value is an error naming file, line and full key
// (with a "did you mean" for near misses and well-known Postfix names), because
// a silently ignored typo in a mail relay's config tends to surface as an open
// relay or lost mail. All problems are reported at once, in file order.
#include "relay/config.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>
#include <toml++/toml.h>

namespace ringmta::relay {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kEmbeddedSource = "<embedded default>";
constexpr std::string_view kDefaultListener = "127.0.0.1:2525";
constexpr uint64_t kMaxMessageSize = uint64_t{1} << 40;  // 1 TiB: beyond any real mail
constexpr int64_t kMaxCount = 1'000'000;                  // recipients, errors
constexpr size_t kMaxErrorsShown = 20;

// The schema: every table and its keys. "listener" is an array of tables.
struct TableSchema {
  std::string_view name;
  std::vector<std::string_view> keys;
};
const std::vector<TableSchema>& schema() {
  static const std::vector<TableSchema> tables = {
      {"server", {"hostname", "data_dir", "threads", "shutdown_timeout"}},
      {"listener", {"address", "kind"}},
      {"relay", {"trusted_networks", "local_domains"}},
      {"limits", {"max_message_size", "max_recipients", "max_line_length", "max_errors",
                  "command_timeout", "data_timeout"}},
      {"queue", {"durability"}},
      {"log", {"level"}},
  };
  return tables;
}
const std::vector<std::string_view>& keys_of(std::string_view table) {
  for (const auto& t : schema())
    if (t.name == table) return t.keys;
  static const std::vector<std::string_view> none;
  return none;
}

// Names operators bring from Postfix (and habit), mapped to ours.
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kAliases = {{
    {"myhostname", "server.hostname"},
    {"queue_directory", "server.data_dir"},
    {"mynetworks", "relay.trusted_networks"},
    {"mydestination", "relay.local_domains"},
    {"message_size_limit", "limits.max_message_size"},
    {"smtpd_recipient_limit", "limits.max_recipients"},
    {"line_length_limit", "limits.max_line_length"},
    {"smtpd_hard_error_limit", "limits.max_errors"},
    {"smtpd_timeout", "limits.command_timeout"},
    {"listeners", "[[listener]]"},
    {"log_level", "log.level"},
    {"loglevel", "log.level"},
}};

constexpr std::array<std::pair<std::string_view, ListenerKind>, 7> kKinds = {{
    {"smtp", ListenerKind::Smtp},
    {"submission", ListenerKind::Submission},
    {"submissions", ListenerKind::Submissions},
    {"pop3", ListenerKind::Pop3},
    {"pop3s", ListenerKind::Pop3s},
    {"imap", ListenerKind::Imap},
    {"imaps", ListenerKind::Imaps},
}};

constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn", "error"};

// Optimal-string-alignment distance (Levenshtein plus adjacent transposition).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The key an operator most likely meant by `name` in table `table` (shown with
// `prefix`, e.g. "listener[0]"), or "" when nothing is close.
std::string suggest(std::string_view table, std::string_view prefix, std::string_view name) {
  for (const auto& [alias, target] : kAliases)
    if (alias == name) return std::string(target);
  size_t threshold = name.size() >= 6 ? 2 : 1;
  if (name.size() <= 2) return "";
  std::string best;
  size_t best_distance = threshold + 1;
  // Siblings are considered first and win ties: "[server] hostnme" means
  // server.hostname; another table's key must be strictly closer.
  auto consider = [&](std::string_view candidate, std::string full) {
    if (size_t d = edit_distance(name, candidate); d < best_distance) {
      best_distance = d;
      best = std::move(full);
    }
  };
  auto join = [](std::string_view p, std::string_view k) {
    return p.empty() ? std::string(k) : std::string(p) + "." + std::string(k);
  };
  if (table.empty()) {
    for (const auto& t : schema())
      consider(t.name, t.name == "listener" ? "[[listener]]" : std::string(t.name));
  } else {
    for (auto key : keys_of(table)) consider(key, join(prefix, key));
  }
  // Then the same leaf name in another table ("threads" at top level).
  for (const auto& t : schema()) {
    if (t.name == table) continue;
    for (auto key : t.keys) consider(key, join(t.name, key));
  }
  return best;
}

// A short printable rendering of a value for "got ..." messages.
std::string describe(const toml::node& node) {
  if (node.is_table()) return "a table";
  if (node.is_array()) return "an array";
  if (const auto* s = node.as_string()) {
    std::string out = "\"";
    for (unsigned char c : s->get()) {
      if (out.size() > 64) {
        out += "...";
        break;
      }
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7f) {
        static const char hex[] = "0123456789abcdef";
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  }
  std::ostringstream os;
  node.visit([&](const auto& v) { os << v; });  // TOML rendering of scalars
  return os.str();
}

// Why `name` is not a usable domain name, or "" when it is.
std::string domain_problem(std::string_view name) {
  if (name.empty()) return "it is empty";
  if (name.size() > 253) return "it is longer than 253 characters";
  if (name.back() == '.') return "write it without the trailing dot";
  std::string_view last_label;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty()) return "it has an empty label";
    if (label.size() > 63) return "a label is longer than 63 characters";
    for (unsigned char c : label) {
      if (c >= 0x80) return "it has non-ASCII characters (write it in its xn-- form)";
      if (!std::isalnum(c) && c != '-')
        return std::string("it contains '") + static_cast<char>(c) + "'";
    }
    if (label.front() == '-' || label.back() == '-') return "a label starts or ends with '-'";
    last_label = label;
    start = end + 1;
  }
  if (std::all_of(last_label.begin(), last_label.end(), [](unsigned char c) { return std::isdigit(c); }))
    return "it looks like an IP address, not a domain name";
  return "";
}

std::string system_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

bool is_wildcard(const engine::SocketAddress& a) {
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr.s_addr == htonl(INADDR_ANY);
  if (a.family() == AF_INET6)
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr);
  return false;
}

bool same_address(const engine::SocketAddress& a, const engine::SocketAddress& b) {
  if (a.family() != b.family() || a.port() != b.port()) return false;
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b.data())->sin_addr.s_addr;
  if (a.family() == AF_INET6)
    return IN6_ARE_ADDR_EQUAL(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr,
                              &reinterpret_cast<const sockaddr_in6*>(b.data())->sin6_addr);
  return false;
}

// Collects errors as "SOURCE:LINE: KEY: message" and offers typed getters that
// report their own errors and return nullopt.
class Validator {
 public:
  explicit Validator(std::string_view source) : source_(source) {}

  static uint32_t line_of(const toml::node& node) { return node.source().begin.line; }

  void error(uint32_t line, std::string_view key, std::string_view message) {
    std::string text = std::string(source_) + ":" + std::to_string(line) + ": ";
    if (!key.empty()) text += std::string(key) + ": ";
    errors_.push_back({line, text + std::string(message)});
  }
  void expected(const toml::node& node, std::string_view key, std::string_view what) {
    error(line_of(node), key, "expected " + std::string(what) + ", got " + describe(node));
  }

  bool ok() const { return errors_.empty(); }
  std::string report() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (size_t i = 0; i < errors_.size() && i < kMaxErrorsShown; ++i) {
      if (i) out += '\n';
      out += errors_[i].second;
    }
    if (errors_.size() > kMaxErrorsShown)
      out += "\n(" + std::to_string(errors_.size() - kMaxErrorsShown) + " more errors)";
    return out;
  }

  // Reports every key of `t` that `table`'s schema does not know.
  void check_keys(const toml::table& t, std::string_view table, std::string_view prefix) {
    const auto& known = keys_of(table);
    for (const auto& [key, node] : t) {
      std::string_view name = key.str();
      bool found = table.empty() ? std::any_of(schema().begin(), schema().end(),
                                               [&](const TableSchema& s) { return s.name == name; })
                                 : std::find(known.begin(), known.end(), name) != known.end();
      if (found) continue;
      std::string full = prefix.empty() ? std::string(name) : std::string(prefix) + "." + std::string(name);
      std::string message = std::string(node.is_table() ? "unknown table '" : "unknown key '") + full + "'";
      if (auto s = suggest(table, prefix, name); !s.empty()) message += "; did you mean '" + s + "'?";
      uint32_t line = key.source().begin.line ? key.source().begin.line : line_of(node);
      error(line, "", message);
    }
  }

  // The sub-table `name` of root, or null (absent, or reported as not a table).
  const toml::table* table(const toml::table& root, std::string_view name) {
    const toml::node* node = root.get(name);
    if (!node) return nullptr;
    if (const auto* t = node->as_table()) {
      check_keys(*t, name, name);
      return t;
    }
    expected(*node, name, "a table");
    return nullptr;
  }

  std::optional<std::string> string(const toml::node& node, std::string_view key) {
    if (const auto* s = node.as_string()) return s->get();
    expected(node, key, "a string");
    return std::nullopt;
  }

  std::optional<int64_t> integer(const toml::node& node, std::string_view key, int64_t min, int64_t max,
                                 std::string_view what) {
    if (const auto* i = node.as_integer(); i && i->get() >= min && i->get() <= max) return i->get();
    expected(node, key, what);
    return std::nullopt;
  }

  // A duration string ("5m") or a non-negative integer number of seconds.
  std::optional<std::chrono::seconds> duration(const toml::node& node, std::string_view key, bool allow_zero) {
    std::optional<std::chrono::seconds> value;
    if (const auto* s = node.as_string()) value = parse_duration(s->get());
    if (const auto* i = node.as_integer(); i && i->get() >= 0) value = parse_duration(std::to_string(i->get()));
    if (value && (allow_zero || value->count() > 0)) return value;
    expected(node, key,
             std::string(allow_zero ? "a duration" : "a positive duration") +
                 " such as \"30s\", \"5m\", \"1h30m\" (units s, m, h, d, w; at most 3650d)");
    return std::nullopt;
  }

  // Each element of an array of strings, with its own error key "key[i]".
  template <typename F>
  void strings(const toml::node& node, std::string_view key, F&& each) {
    const auto* array = node.as_array();
    if (!array) {
      expected(node, key, "an array of strings");
      return;
    }
    for (size_t i = 0; i < array->size(); ++i) {
      std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
      if (auto s = string(*array->get(i), item_key)) each(*s, *array->get(i), item_key);
    }
  }

 private:
  std::string_view source_;
  std::vector<std::pair<uint32_t, std::string>> errors_;
};

void read_server(Validator& v, const toml::table& t, Config::Server& out) {
  if (const auto* n = t.get("hostname")) {
    if (auto s = v.string(*n, "server.hostname")) {
      if (auto why = domain_problem(*s); !why.empty())
        v.error(Validator::line_of(*n), "server.hostname", "invalid host name " + describe(*n) + ": " + why);
      else
        out.hostname = *s;
    }
  }
  if (const auto* n = t.get("data_dir")) {
    if (auto s = v.string(*n, "server.data_dir")) {
      if (s->empty() || s->find('\0') != std::string::npos)
        v.expected(*n, "server.data_dir", "a directory path");
      else
        out.data_dir = *s;
    }
  }
  if (const auto* n = t.get("threads"))
    if (auto i = v.integer(*n, "server.threads", 0, 1024, "an integer from 0 (one per core) to 1024"))
      out.threads = static_cast<unsigned>(*i);
  if (const auto* n = t.get("shutdown_timeout"))
    if (auto d = v.duration(*n, "server.shutdown_timeout", true)) out.shutdown_timeout = *d;
}

std::string kind_list() {
  std::string out;
  for (const auto& [name, kind] : kKinds) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

void read_listeners(Validator& v, const toml::node& node, std::vector<ListenerConfig>& out) {
  const auto* array = node.as_array();
  if (array && array->empty()) {
    v.error(Validator::line_of(node), "listener",
            "at least one listener is needed (remove the key to get the default smtp listener on " +
                std::string(kDefaultListener) + ")");
    return;
  }
  if (!array || !array->is_array_of_tables()) {
    v.expected(node, "listener", "an array of tables ([[listener]] sections)");
    return;
  }
  std::vector<uint32_t> lines;
  for (size_t i = 0; i < array->size(); ++i) {
    const auto& t = *array->get(i)->as_table();
    std::string prefix = "listener[" + std::to_string(i) + "]";
    v.check_keys(t, "listener", prefix);
    ListenerConfig listener;
    bool ok = true;

    const toml::node* address = t.get("address");
    if (!address) {
      v.error(Validator::line_of(t), prefix + ".address", "required key is missing");
      ok = false;
    } else if (auto text = v.string(*address, prefix + ".address")) {
      auto parsed = engine::SocketAddress::parse(*text);
      if (!parsed) {
        v.expected(*address, prefix + ".address", "\"ip:port\" or \"[ipv6]:port\" with a numeric IP address");
        ok = false;
      } else if (parsed->port() == 0) {
        v.error(Validator::line_of(*address), prefix + ".address", "port 0 is not allowed");
        ok = false;
      } else {
        listener.address = *parsed;
        listener.address_text = *text;
      }
    } else {
      ok = false;
    }

    const toml::node* kind = t.get("kind");
    if (!kind) {
      v.error(Validator::line_of(t), prefix + ".kind", "required key is missing (e.g. kind = \"smtp\")");
      ok = false;
    } else if (auto text = v.string(*kind, prefix + ".kind")) {
      auto it = std::find_if(kKinds.begin(), kKinds.end(), [&](const auto& k) { return k.first == *text; });
      if (it == kKinds.end()) {
        v.error(Validator::line_of(*kind), prefix + ".kind",
                "unknown listener kind " + describe(*kind) + " (expected one of " + kind_list() + ")");
        ok = false;
      } else if (it->second != ListenerKind::Smtp) {
        v.error(Validator::line_of(*kind), prefix + ".kind",
                "listener kind '" + *text + "' is not available in this version of ringmta");
        ok = false;
      } else {
        listener.kind = it->second;
      }
    } else {
      ok = false;
    }
    if (!ok) continue;

    // Two sockets on one address (or a wildcard plus a specific address of the
    // same family and port) would split connections between listeners.
    for (size_t j = 0; j < out.size(); ++j) {
      const auto& other = out[j];
      bool dup = same_address(other.address, listener.address);
      bool overlap = !dup && other.address.family() == listener.address.family() &&
                     other.address.port() == listener.address.port() &&
                     (is_wildcard(other.address) || is_wildcard(listener.address));
      if (dup || overlap) {
        v.error(Validator::line_of(*address), prefix + ".address",
                std::string(dup ? "duplicate listener address '" : "listener address '") +
                    listener.address_text + "'" + (dup ? " (" : " overlaps '" + other.address_text + "' (") +
                    "the listener on line " + std::to_string(lines[j]) + ")");
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    lines.push_back(Validator::line_of(*address));
    out.push_back(std::move(listener));
  }
}

void read_relay(Validator& v, const toml::table& t, Config::Relay& out) {
  if (const auto* n = t.get("trusted_networks")) {
    out.trusted_networks.clear();  // an explicit (even empty) list replaces the default
    v.strings(*n, "relay.trusted_networks", [&](const std::string& s, const toml::node& item, const std::string& key) {
      std::string why;
      if (auto cidr = Cidr::parse(s, &why))
        out.trusted_networks.push_back(*cidr);
      else
        v.error(Validator::line_of(item), key, "invalid network " + describe(item) + ": " + why);
    });
  }
  if (const auto* n = t.get("local_domains")) {
    v.strings(*n, "relay.local_domains", [&](const std::string& s, const toml::node& item, const std::string& key) {
      std::string lower = s;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(c < 0x80 ? std::tolower(c) : c); });
      if (auto why = domain_problem(lower); !why.empty())
        v.error(Validator::line_of(item), key, "invalid domain name " + describe(item) + ": " + why);
      else if (std::find(out.local_domains.begin(), out.local_domains.end(), lower) == out.local_domains.end())
        out.local_domains.push_back(lower);
    });
  }
}

void read_limits(Validator& v, const toml::table& t, Config::Limits& out) {
  if (const auto* n = t.get("max_message_size")) {
    std::optional<uint64_t> size;
    if (const auto* i = n->as_integer(); i && i->get() > 0) size = static_cast<uint64_t>(i->get());
    if (const auto* s = n->as_string()) size = parse_size(s->get());
    if (size && *size > 0 && *size <= kMaxMessageSize) {
      out.max_message_size = *size;
    } else {
      std::string what = "a positive size in bytes (52428800) or with a binary unit (\"50M\", \"50MiB\"), at most 1 TiB";
      if (const auto* s = n->as_string(); s && s->get().find('B') != std::string::npos &&
                                          s->get().find("iB") == std::string::npos)
        what += "; \"KB\"/\"MB\"/\"GB\" are ambiguous, write \"M\" or \"MiB\" (2^20 bytes)";
      v.expected(*n, "limits.max_message_size", what);
    }
  }
  if (const auto* n = t.get("max_recipients"))
    if (auto i = v.integer(*n, "limits.max_recipients", 1, kMaxCount, "a positive integer (at most 1000000)"))
      out.max_recipients = static_cast<unsigned>(*i);
  if (const auto* n = t.get("max_line_length"))
    if (auto i = v.integer(*n, "limits.max_line_length", 512, 1 << 20,
                           "an integer from 512 (the RFC 5321 minimum) to 1048576"))
      out.max_line_length = static_cast<size_t>(*i);
  if (const auto* n = t.get("max_errors"))
    if (auto i = v.integer(*n, "limits.max_errors", 1, kMaxCount, "a positive integer (at most 1000000)"))
      out.max_errors = static_cast<unsigned>(*i);
  if (const auto* n = t.get("command_timeout"))
    if (auto d = v.duration(*n, "limits.command_timeout", false)) out.command_timeout = *d;
  if (const auto* n = t.get("data_timeout"))
    if (auto d = v.duration(*n, "limits.data_timeout", false)) out.data_timeout = *d;
}

void read_queue(Validator& v, const toml::table& t, Config::Queue& out) {
  if (const auto* n = t.get("durability")) {
    if (auto s = v.string(*n, "queue.durability")) {
      if (*s == "fsync")
        out.durability = Durability::Fsync;
      else if (*s == "wal")
        out.durability = Durability::Wal;
      else
        v.expected(*n, "queue.durability", "one of \"fsync\", \"wal\"");
    }
  }
}

void read_log(Validator& v, const toml::table& t, Config::Log& out) {
  if (const auto* n = t.get("level")) {
    if (auto s = v.string(*n, "log.level")) {
      if (std::find(kLogLevels.begin(), kLogLevels.end(), *s) != kLogLevels.end())
        out.level = *s;
      else
        v.expected(*n, "log.level", "one of \"trace\", \"debug\", \"info\", \"warn\", \"error\"");
    }
  }
}

constexpr std::string_view kDefaultConfigText = R"(# ringmta embedded default configuration: used when no configuration file
# is given. The reference with every key documented is deploy/ringmta.toml.

[server]
data_dir = "./ringmta-data"
threads = 0                 # one shard thread per core

[[listener]]
address = "127.0.0.1:2525"
kind = "smtp"

[relay]
trusted_networks = ["127.0.0.0/8", "::1/128"]
)";

}  // namespace

std::string_view to_string(ListenerKind kind) {
  for (const auto& [name, k] : kKinds)
    if (k == kind) return name;
  return "unknown";
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  constexpr int64_t kMax = int64_t{3650} * 86400;  // 10 years: safe to convert to ns
  if (text.empty()) return std::nullopt;
  struct Unit {
    char name;
    int64_t seconds;
  };
  static constexpr Unit kUnits[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
  int64_t total = 0;
  size_t next_unit = 0;  // units must appear largest first, each at most once
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      n = n * 10 + (text[i] - '0');
      if (n > kMax) return std::nullopt;
    }
    if (digits == 0) return std::nullopt;
    int64_t multiplier = 0;
    if (i == text.size()) {
      if (total != 0 || next_unit != 0) return std::nullopt;  // "1h30": 30 what?
      multiplier = 1;                                         // bare number: seconds
    } else {
      for (size_t u = next_unit; u < std::size(kUnits); ++u) {
        if (kUnits[u].name == text[i]) {
          multiplier = kUnits[u].seconds;
          next_unit = u + 1;
          break;
        }
      }
      if (multiplier == 0) return std::nullopt;
      ++i;
    }
    total += n * multiplier;  // n <= kMax and multiplier <= 604800: no overflow
    if (total > kMax) return std::nullopt;
  }
  return std::chrono::seconds(total);
}

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t i = 0;
  uint64_t n = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (n > (std::numeric_limits<uint64_t>::max() - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  unsigned shift = 0;
  if (unit.empty()) {
    shift = 0;
  } else {
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0])));
    std::string_view rest = unit.substr(1);
    if (c == 'K') shift = 10;
    else if (c == 'M') shift = 20;
    else if (c == 'G') shift = 30;
    else if (c == 'T') shift = 40;
    else return std::nullopt;
    if (!rest.empty() && (rest != "iB" || unit[0] != c)) return std::nullopt;  // "MiB", not "miB"/"MB"
  }
  if (shift && n > (std::numeric_limits<uint64_t>::max() >> shift)) return std::nullopt;
  return n << shift;
}

ConfigResult parse_config(std::string_view toml_text, std::string_view source_name) {
  ConfigResult result;
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    result.error = std::string(source_name) + ":" + std::to_string(e.source().begin.line) + ":" +
                   std::to_string(e.source().begin.column) + ": " + std::string(e.description());
    return result;
  }
#else
  toml::parse_result parsed = toml::parse(toml_text, source_name);
  if (!parsed) {
    const auto& e = parsed.error();
    result.error = std::string(source_name) + ":" + std::to_string(e.source().begin.line) + ":" +
                   std::to_string(e.source().begin.column) + ": " + std::string(e.description());
    return result;
  }
  root = std::move(parsed).table();
#endif

  Validator v(source_name);
  Config config;
  config.source = std::string(source_name);
  config.server.hostname = system_hostname();
  config.relay.trusted_networks = {*Cidr::parse("127.0.0.0/8"), *Cidr::parse("::1/128")};

  v.check_keys(root, "", "");
  if (const auto* t = v.table(root, "server")) read_server(v, *t, config.server);
  if (const auto* n = root.get("listener")) {
    read_listeners(v, *n, config.listeners);
  } else if (auto address = engine::SocketAddress::parse(kDefaultListener)) {
    config.listeners.push_back({*address, std::string(kDefaultListener), ListenerKind::Smtp});
  } else {
    v.error(0, "listener", "cannot parse the default listener address");  // engine bug
  }
  if (const auto* t = v.table(root, "relay")) read_relay(v, *t, config.relay);
  if (const auto* t = v.table(root, "limits")) read_limits(v, *t, config.limits);
  if (const auto* t = v.table(root, "queue")) read_queue(v, *t, config.queue);
  if (const auto* t = v.table(root, "log")) read_log(v, *t, config.log);

  if (!v.ok()) {
    result.error = v.report();
    return result;
  }
  result.config = std::move(config);
  return result;
}

ConfigResult load_config_file(const std::string& path) {
  std::string text;
  FILE* f = std::fopen(path.c_str(), "rb");
  bool ok = f != nullptr;
  if (f) {
    char buf[8192];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    ok = !std::ferror(f);
    std::fclose(f);
  }
  if (!ok) {
    ConfigResult result;
    result.error = path + ": cannot read the configuration file: " + std::strerror(errno);
    return result;
  }
  return parse_config(text, path);
}

ConfigResult default_config() { return parse_config(kDefaultConfigText, kEmbeddedSource); }

std::string_view default_config_text() { return kDefaultConfigText; }

}  // namespace ringmta::relay
