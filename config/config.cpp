// config/config.cpp — reads ringmta's TOML configuration (toml++) and validates
// it into config::Config: the server, listener, relay, limits and log tables,
// the embedded default and the entry points (parse_config, load_config_file).
//
// The operator-facing documentation of every key is deploy/ringmta.toml; keep
// the two in step. The schema and the error collector live in
// config_validator.cpp, value syntaxes in config_values.cpp, the outbound
// tables (queue, dns, delivery) in config_delivery.cpp. All problems are
// reported at once, in file order.
#include "config/config.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "config/config_internal.h"

namespace ringmta::config {
namespace {

using namespace detail;

constexpr std::string_view kEmbeddedSource = "<embedded default>";
constexpr std::string_view kDefaultListener = "127.0.0.1:2525";
constexpr uint64_t kMaxMessageSize = uint64_t{1} << 40;  // 1 TiB: beyond any real mail

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
      } else {
        listener.kind = it->second;
      }
    } else {
      ok = false;
    }
    if (const auto* n = t.get("allow_plaintext_auth"))
      if (auto b = v.boolean(*n, prefix + ".allow_plaintext_auth")) listener.allow_plaintext_auth = *b;
    if (const auto* n = t.get("proxy_protocol"))
      if (auto b = v.boolean(*n, prefix + ".proxy_protocol")) listener.proxy_protocol = *b;
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
      if (auto cidr = Cidr::parse(s))
        out.trusted_networks.push_back(*cidr);
      else
        v.error(Validator::line_of(item), key, "invalid network " + describe(item) + ": " + cidr.error());
    });
  }
  if (const auto* n = t.get("local_domains")) {
    v.strings(*n, "relay.local_domains", [&](const std::string& s, const toml::node& item, const std::string& key) {
      std::string lower = base::to_lower_ascii(s);
      if (auto why = domain_problem(lower); !why.empty())
        v.error(Validator::line_of(item), key, "invalid domain name " + describe(item) + ": " + why);
      else if (std::find(out.local_domains.begin(), out.local_domains.end(), lower) == out.local_domains.end())
        out.local_domains.push_back(lower);
    });
  }
  if (const auto* n = t.get("aliases_file")) {
    if (auto s = v.string(*n, "relay.aliases_file")) {
      if (s->find('\0') != std::string::npos)
        v.expected(*n, "relay.aliases_file", "a file path (or \"\" for no aliases)");
      else
        out.aliases_file = *s;
    }
  }
  if (const auto* n = t.get("recipient_delimiter")) {
    if (auto s = v.string(*n, "relay.recipient_delimiter")) {
      // One character that cannot start or be part of a domain, nor be '@':
      // Postfix's default "+" or "-" are the usual ones.
      if (s->size() > 1 || (s->size() == 1 && ((*s)[0] == '@' || static_cast<unsigned char>((*s)[0]) <= 0x20 ||
                                               static_cast<unsigned char>((*s)[0]) >= 0x7f || (*s)[0] == '"')))
        v.expected(*n, "relay.recipient_delimiter", "one printable ASCII character other than '@' and '\"' (\"+\"), or \"\" for none");
      else
        out.recipient_delimiter = *s;
    }
  }
}

void read_mailbox(Validator& v, const toml::table& t, Config::Mailbox& out) {
  if (const auto* n = t.get("enabled"))
    if (auto b = v.boolean(*n, "mailbox.enabled")) out.enabled = *b;
  if (const auto* n = t.get("quota"))
    if (auto size = v.size(*n, "mailbox.quota", 0, UINT64_MAX,
                           "a size in bytes (0 = no limit) or with a binary unit (\"1G\", \"500MiB\")"))
      out.quota = *size;
}

void read_limits(Validator& v, const toml::table& t, Config::Limits& out) {
  if (const auto* n = t.get("max_message_size"))
    if (auto size = v.size(*n, "limits.max_message_size", 1, kMaxMessageSize,
                           "a positive size in bytes (52428800) or with a binary unit (\"50M\", \"50MiB\"), "
                           "at most 1 TiB"))
      out.max_message_size = *size;
  if (const auto* n = t.get("inflight_memory"))
    if (auto size = v.size(*n, "limits.inflight_memory", 1, kMaxMessageSize,
                           "a positive size in bytes (268435456) or with a binary unit (\"50M\", \"50MiB\"), "
                           "at most 1 TiB"))
      out.inflight_memory = *size;
  if (const auto* n = t.get("min_data_rate"))
    if (auto i = v.integer(*n, "limits.min_data_rate", 0, 1ll << 30,
                           "an integer number of bytes per second from 0 (no minimum) to 1073741824"))
      out.min_data_rate = static_cast<uint64_t>(*i);
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
  if (const auto* n = t.get("max_hops"))
    if (auto i = v.integer(*n, "limits.max_hops", 1, 1000, "an integer from 1 to 1000"))
      out.max_hops = static_cast<unsigned>(*i);
  if (const auto* n = t.get("command_timeout"))
    if (auto d = v.duration(*n, "limits.command_timeout", false)) out.command_timeout = *d;
  if (const auto* n = t.get("data_timeout"))
    if (auto d = v.duration(*n, "limits.data_timeout", false)) out.data_timeout = *d;
  if (const auto* n = t.get("tls_handshake_rate"))
    if (auto i = v.integer(*n, "limits.tls_handshake_rate", 0, kMaxCount, "an integer from 0 (no limit) to 1000000"))
      out.tls_handshake_rate = static_cast<unsigned>(*i);
  if (const auto* n = t.get("tls_handshake_rate_per_ip"))
    if (auto i = v.integer(*n, "limits.tls_handshake_rate_per_ip", 0, kMaxCount,
                           "an integer from 0 (no limit) to 1000000"))
      out.tls_handshake_rate_per_ip = static_cast<unsigned>(*i);
  if (const auto* n = t.get("max_connections"))
    if (auto i = v.integer(*n, "limits.max_connections", 0, kMaxCount, "an integer from 0 (no limit) to 1000000"))
      out.max_connections = static_cast<unsigned>(*i);
  if (const auto* n = t.get("max_connections_per_ip"))
    if (auto i = v.integer(*n, "limits.max_connections_per_ip", 0, kMaxCount,
                           "an integer from 0 (no limit) to 1000000"))
      out.max_connections_per_ip = static_cast<unsigned>(*i);
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
  if (const auto* n = t.get("format")) {
    if (auto s = v.string(*n, "log.format")) {
      if (*s == "text" || *s == "json")
        out.format = *s;
      else
        v.expected(*n, "log.format", "\"text\" or \"json\"");
    }
  }
  if (const auto* n = t.get("buffered"))
    if (auto b = v.boolean(*n, "log.buffered")) out.buffered = *b;
}

void read_metrics(Validator& v, const toml::table& t, Config::Metrics& out) {
  if (const auto* n = t.get("listen")) {
    if (auto s = v.string(*n, "metrics.listen")) {
      auto parsed = engine::SocketAddress::parse(*s);
      if (s->empty())
        out.listen.clear();
      else if (!parsed || parsed->port() == 0)
        v.expected(*n, "metrics.listen", "\"ip:port\" or \"[ipv6]:port\" with a numeric IP address, or \"\" (off)");
      else
        out.listen = *s;
    }
  }
  if (const auto* n = t.get("top_destinations"))
    if (auto i = v.integer(*n, "metrics.top_destinations", 0, 1000, "an integer from 0 to 1000"))
      out.top_destinations = static_cast<unsigned>(*i);
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

ConfigResult parse_config(std::string_view toml_text, std::string_view source_name) {
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return base::Error(std::string(source_name) + ":" + std::to_string(e.source().begin.line) + ":" +
                       std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
#else
  toml::parse_result parsed = toml::parse(toml_text, source_name);
  if (!parsed) {
    const auto& e = parsed.error();
    return base::Error(std::string(source_name) + ":" + std::to_string(e.source().begin.line) + ":" +
                       std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
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
  if (const auto* t = v.table(root, "mailbox")) read_mailbox(v, *t, config.mailbox);
  if (const auto* t = v.table(root, "limits")) read_limits(v, *t, config.limits);
  if (const auto* t = v.table(root, "queue")) read_queue(v, *t, config.queue);
  if (const auto* t = v.table(root, "dns")) read_dns(v, *t, config.dns);
  if (const auto* t = v.table(root, "delivery")) {
    read_delivery(v, *t, config.delivery);
    check_self_targets(v, *t, config);
  }
  if (const auto* t = v.table(root, "tls")) read_tls(v, *t, config.tls);
  if (const auto* t = v.table(root, "auth")) read_auth(v, *t, config.auth);
  if (const auto* t = v.table(root, "log")) read_log(v, *t, config.log);
  if (const auto* t = v.table(root, "metrics")) read_metrics(v, *t, config.metrics);
  if (const auto* t = v.table(root, "admin")) read_admin(v, *t, config.admin);
  // Mailboxes belong to the users file's users: without one nobody has a mailbox.
  if (config.mailbox.enabled && config.auth.users_file.empty())
    if (const auto* m = root.get("mailbox"))
      v.error(Validator::line_of(*m), "mailbox.enabled", "local delivery needs auth.users_file (the users with mailboxes)");
  if (const auto* t = v.table(root, "pop3")) read_pop3(v, *t, config.pop3);
  if (const auto* t = v.table(root, "imap")) read_imap(v, *t, config.imap);
  if (const auto* n = root.get("dkim")) read_dkim(v, *n, config.dkim);
  // POP3 and IMAP serve the mail store: without [mailbox] enabled there is none.
  if (!config.mailbox.enabled)
    if (const auto* arr = root.get("listener"); arr && arr->is_array())
      for (size_t i = 0; i < config.listeners.size() && i < arr->as_array()->size(); ++i)
        if (config.listeners[i].kind == ListenerKind::Pop3 || config.listeners[i].kind == ListenerKind::Pop3s ||
            config.listeners[i].kind == ListenerKind::Imap || config.listeners[i].kind == ListenerKind::Imaps)
          v.error(Validator::line_of(*arr->as_array()->get(i)), "listener.kind",
                  "a pop3/pop3s/imap/imaps listener needs [mailbox] enabled = true (the users' mailboxes)");

  if (!v.ok()) return base::Error(v.report());
  return config;
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
  if (!ok) return base::Error(path + ": cannot read the configuration file: " + std::strerror(errno));
  return parse_config(text, path);
}

ConfigResult default_config() { return parse_config(kDefaultConfigText, kEmbeddedSource); }

std::string_view default_config_text() { return kDefaultConfigText; }

}  // namespace ringmta::config
