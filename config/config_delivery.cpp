// config/config_delivery.cpp — the outbound side of the configuration: the
// [queue] retry policy, the [dns] resolver settings and [delivery] (port,
// relayhost, [delivery.routes], connection limits and timeouts, outbound TLS
// with [delivery.tls_policy]).
//
// Same rules as the other tables (config.cpp): every problem is an error with
// file, line and full key; a value that fails leaves the default in place only
// because parse_config refuses the whole configuration anyway.
#include <algorithm>
#include <map>
#include <vector>

#include "config/config_internal.h"
#include "config/self_addresses.h"

namespace ringmta::config::detail {
namespace {

constexpr std::string_view kTargetExample = "\"[smtp.example.net]:587\"";

constexpr std::pair<std::string_view, OutboundTls> kTlsLevels[] = {
    {"none", OutboundTls::None},
    {"may", OutboundTls::May},
    {"encrypt", OutboundTls::Encrypt},
    {"verify", OutboundTls::Verify},
};
constexpr std::string_view kTlsLevelsText = "one of \"none\", \"may\", \"encrypt\", \"verify\"";

// An outbound TLS level from a string node; lower case only, like every
// other enumerated value.
std::optional<OutboundTls> read_tls_level(Validator& v, const toml::node& node, std::string_view key) {
  if (const auto* s = node.as_string())
    for (const auto& [name, level] : kTlsLevels)
      if (s->get() == name) return level;
  v.expected(node, key, kTlsLevelsText);
  return std::nullopt;
}

// A RouteTarget from a string node, or nullopt after reporting why not.
std::optional<RouteTarget> read_target(Validator& v, const toml::node& node, std::string_view key) {
  const auto* s = node.as_string();
  if (!s) {
    v.expected(node, key, "a route target string such as " + std::string(kTargetExample));
    return std::nullopt;
  }
  std::string why;
  auto target = parse_route_target(s->get(), &why);
  if (!target)
    v.error(Validator::line_of(node), key, "invalid route target " + describe(node) + ": " + why);
  return target;
}

// [delivery.routes]: "domain" = "target". Keys are domains, so the schema
// cannot list them; each is checked as a domain name instead.
void read_routes(Validator& v, const toml::node& node, std::map<std::string, RouteTarget>& out) {
  const auto* table = node.as_table();
  if (!table) {
    v.expected(node, "delivery.routes", "a table of \"domain\" = \"target\" entries ([delivery.routes])");
    return;
  }
  std::map<std::string, uint32_t> lines;  // lower-case domain -> line, for duplicates
  for (const auto& [key, value] : *table) {
    const toml::value<std::string> key_text{std::string(key.str())};
    const std::string full = "delivery.routes." + describe(key_text);
    const uint32_t line = key.source().begin.line ? key.source().begin.line : Validator::line_of(value);
    if (value.is_table()) {
      // example.com = "..." unquoted is TOML for example -> com -> "...".
      v.error(line, full,
              "expected a route target string, got a table (a domain with dots must be quoted: "
              "\"example.com\" = " + std::string(kTargetExample) + ")");
      continue;
    }
    const std::string domain = base::to_lower_ascii(key.str());
    if (auto why = domain_problem(domain); !why.empty()) {
      v.error(line, full, "invalid domain name " + describe(key_text) + ": " + why);
      continue;
    }
    auto target = read_target(v, value, full);
    if (!target) continue;
    if (auto [it, inserted] = lines.emplace(domain, line); !inserted) {
      // TOML refuses exact duplicates; these differ only in case.
      v.error(line, full,
              "duplicate route for domain '" + domain + "' (also on line " + std::to_string(it->second) + ")");
      continue;
    }
    out.emplace(domain, std::move(*target));
  }
}

// [delivery.tls_policy]: "domain" = "level", checked like [delivery.routes].
void read_tls_policy(Validator& v, const toml::node& node, std::map<std::string, OutboundTls>& out) {
  const auto* table = node.as_table();
  if (!table) {
    v.expected(node, "delivery.tls_policy", "a table of \"domain\" = \"level\" entries ([delivery.tls_policy])");
    return;
  }
  // In file order (the table iterates sorted by key), so a duplicate is
  // reported on its later line.
  std::vector<std::pair<uint32_t, std::pair<const toml::key*, const toml::node*>>> entries;
  for (const auto& [key, value] : *table)
    entries.push_back({key.source().begin.line ? key.source().begin.line : Validator::line_of(value), {&key, &value}});
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::map<std::string, uint32_t> lines;  // lower-case domain -> line, for duplicates
  for (const auto& [line, entry] : entries) {
    const toml::key& key = *entry.first;
    const toml::node& value = *entry.second;
    const toml::value<std::string> key_text{std::string(key.str())};
    const std::string full = "delivery.tls_policy." + describe(key_text);
    if (value.is_table()) {
      v.error(line, full,
              "expected " + std::string(kTlsLevelsText) +
                  ", got a table (a domain with dots must be quoted: \"example.com\" = \"verify\")");
      continue;
    }
    const std::string domain = base::to_lower_ascii(key.str());
    if (auto why = domain_problem(domain); !why.empty()) {
      v.error(line, full, "invalid domain name " + describe(key_text) + ": " + why);
      continue;
    }
    auto level = read_tls_level(v, value, full);
    if (!level) continue;
    if (auto [it, inserted] = lines.emplace(domain, line); !inserted) {
      v.error(line, full,
              "duplicate TLS policy for domain '" + domain + "' (also on line " + std::to_string(it->second) + ")");
      continue;
    }
    out.emplace(domain, *level);
  }
}

}  // namespace

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
  if (const auto* n = t.get("retry_schedule")) {
    const auto* array = n->as_array();
    if (!array) {
      v.expected(*n, "queue.retry_schedule", "an array of durations such as [\"5m\", \"30m\", \"2h\"]");
    } else if (array->empty()) {
      v.error(Validator::line_of(*n), "queue.retry_schedule",
              "at least one retry delay is needed, e.g. [\"5m\", \"30m\", \"2h\"]");
    } else {
      std::vector<std::chrono::seconds> delays;
      for (size_t i = 0; i < array->size(); ++i) {
        // A zero delay would retry a failing destination in a tight loop.
        if (auto d = v.duration(*array->get(i), "queue.retry_schedule[" + std::to_string(i) + "]", false))
          delays.push_back(*d);
      }
      if (delays.size() == array->size()) out.retry_schedule = std::move(delays);
    }
  }
  if (const auto* n = t.get("max_lifetime"))
    if (auto d = v.duration(*n, "queue.max_lifetime", false)) out.max_lifetime = *d;
  if (const auto* n = t.get("delay_warning"))
    if (auto d = v.duration(*n, "queue.delay_warning", true)) out.delay_warning = *d;
  if (const auto* n = t.get("commit_wait_us"))
    if (auto i = v.integer(*n, "queue.commit_wait_us", 0, 100000, "an integer from 0 (no wait) to 100000"))
      out.commit_wait = std::chrono::microseconds(*i);
  if (const auto* n = t.get("commit_wait_batches"))
    if (auto i = v.integer(*n, "queue.commit_wait_batches", 2, 100000, "an integer from 2 to 100000"))
      out.commit_wait_batches = static_cast<unsigned>(*i);
  if (const auto* n = t.get("min_free_space"))  // 0 = no guard
    if (auto size = v.size(*n, "queue.min_free_space", 0, uint64_t{1} << 50,
                           "a size in bytes (104857600) or with a binary unit (\"100M\", \"1GiB\"), 0 for no "
                           "guard, at most 1 PiB"))
      out.min_free_space = *size;
}

void read_dns(Validator& v, const toml::table& t, Config::Dns& out) {
  if (const auto* n = t.get("servers")) {
    out.servers.clear();
    v.strings(*n, "dns.servers", [&](const std::string& s, const toml::node& item, const std::string& key) {
      if (auto why = dns_server_problem(s); !why.empty())
        v.error(Validator::line_of(item), key, "invalid DNS server " + describe(item) + ": " + why);
      else
        out.servers.push_back(s);
    });
  }
  if (const auto* n = t.get("timeout"))
    if (auto d = v.duration(*n, "dns.timeout", false)) out.timeout = *d;
}

void read_delivery(Validator& v, const toml::table& t, Config::Delivery& out) {
  if (const auto* n = t.get("port"))
    if (auto i = v.integer(*n, "delivery.port", 1, 65535, "an integer from 1 to 65535"))
      out.port = static_cast<uint16_t>(*i);
  if (const auto* n = t.get("relayhost")) {
    if (const auto* s = n->as_string(); s && s->get().empty())
      v.error(Validator::line_of(*n), "delivery.relayhost",
              "expected a route target such as " + std::string(kTargetExample) +
                  ", got \"\" (remove the key to deliver to each domain's MX hosts)");
    else if (auto target = read_target(v, *n, "delivery.relayhost"))
      out.relayhost = std::move(*target);
  }
  if (const auto* n = t.get("routes")) read_routes(v, *n, out.routes);

  const std::string_view positive = "a positive integer (at most 1000000)";
  struct Count {
    std::string_view name;
    unsigned* field;
  };
  for (const Count& c : {Count{"max_connections_per_domain", &out.max_connections_per_domain},
                         Count{"max_messages_per_connection", &out.max_messages_per_connection},
                         Count{"max_recipients_per_transaction", &out.max_recipients_per_transaction}}) {
    if (const auto* n = t.get(c.name))
      if (auto i = v.integer(*n, "delivery." + std::string(c.name), 1, kMaxCount, positive))
        *c.field = static_cast<unsigned>(*i);
  }
  struct Timeout {
    std::string_view name;
    std::chrono::seconds* field;
  };
  for (const Timeout& d : {Timeout{"connection_idle_timeout", &out.connection_idle_timeout},
                           Timeout{"connect_timeout", &out.connect_timeout},
                           Timeout{"command_timeout", &out.command_timeout},
                           Timeout{"data_timeout", &out.data_timeout}}) {
    if (const auto* n = t.get(d.name))
      if (auto value = v.duration(*n, "delivery." + std::string(d.name), false)) *d.field = *value;
  }
  if (const auto* n = t.get("chunking"))
    if (auto b = v.boolean(*n, "delivery.chunking")) out.chunking = *b;
  if (const auto* n = t.get("tls_resumption"))
    if (auto b = v.boolean(*n, "delivery.tls_resumption")) out.tls_resumption = *b;
  if (const auto* n = t.get("no_chunking_hosts")) {
    auto each = [&](const std::string& s, const toml::node& item, const std::string& key) {
      std::string lower = base::to_lower_ascii(s);
      const bool ip = engine::SocketAddress::from_ip(lower, 0).has_value();
      if (auto why = ip ? std::string() : domain_problem(lower); !why.empty())
        v.error(Validator::line_of(item), key,
                "expected a host name or an IP address, got " + describe(item) + ": " + why);
      else if (std::find(out.no_chunking_hosts.begin(), out.no_chunking_hosts.end(), lower) ==
               out.no_chunking_hosts.end())
        out.no_chunking_hosts.push_back(lower);
    };
    v.strings(*n, "delivery.no_chunking_hosts", each);
  }
  // 0 is allowed: it turns the memory of down destinations off.
  if (const auto* n = t.get("destination_down_time"))
    if (auto d = v.duration(*n, "delivery.destination_down_time", true)) out.destination_down_time = *d;
  if (const auto* n = t.get("tls"))
    if (auto level = read_tls_level(v, *n, "delivery.tls")) out.tls = *level;
  if (const auto* n = t.get("tls_policy")) read_tls_policy(v, *n, out.tls_policy);
  read_delivery_tls_policy(v, t, out);
  if (const auto* n = t.get("tls_ca_file")) {
    // The file itself is read when the daemon starts (an unreadable one stops it).
    if (auto s = v.string(*n, "delivery.tls_ca_file")) {
      if (s->empty())
        v.error(Validator::line_of(*n), "delivery.tls_ca_file",
                "expected the path of a PEM file of CA certificates, got \"\" (remove the key to trust only the "
                "system store)");
      else
        out.tls_ca_file = *s;
    }
  }
  read_outbound(v, t, out);
}

// A relayhost or route given as an IP literal that is one of our own mail
// listeners (config/self_addresses.h) would hand every message back to this
// daemon: refused at start. Names are not resolved here (that would be DNS
// at start); the delivery agent checks what they resolve to at run time.
void check_self_targets(Validator& v, const toml::table& t, const Config& config) {
  const SelfAddresses self = SelfAddresses::of(config);
  auto check = [&](const RouteTarget& target, const toml::node& node, const std::string& key) {
    if (target.mx_lookup) return;
    auto address = engine::SocketAddress::from_ip(target.host, target.port ? target.port : config.delivery.port);
    if (!address) return;  // a host name
    if (const ListenerConfig* l = self.listener_for(*address))
      v.error(Validator::line_of(node), key,
              describe(node) + " is this daemon's own listener " + l->address_text +
                  ": mail sent there would loop back to ringmta itself");
  };
  if (const auto* n = t.get("relayhost"); n && config.delivery.relayhost)
    check(*config.delivery.relayhost, *n, "delivery.relayhost");
  if (const auto* routes = t.get_as<toml::table>("routes")) {
    for (const auto& [key, value] : *routes) {
      auto it = config.delivery.routes.find(base::to_lower_ascii(key.str()));
      if (it == config.delivery.routes.end()) continue;
      const toml::value<std::string> key_text{std::string(key.str())};
      check(it->second, value, "delivery.routes." + describe(key_text));
    }
  }
}

}  // namespace ringmta::config::detail

namespace ringmta::config {

std::string_view to_string(OutboundTls level) {
  for (const auto& [name, l] : detail::kTlsLevels)
    if (l == level) return name;
  return "unknown";
}

}  // namespace ringmta::config
