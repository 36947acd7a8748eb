// config/config_outbound.cpp — the [delivery] keys of issue 18 that are about
// who we are on the way out: delivery.credentials_file (upstream AUTH, the
// file itself is read by relay/credential_store.h), delivery.source_address
// and [delivery.source_addresses] (the local address outbound sockets are
// bound to), and [delivery.rate."pattern"] (per-destination rate limits,
// relay/destination_rate.h).
//
// Its own file so the delivery table's reader (config_delivery.cpp) only
// gains one call, and the checks for these keys stay together.
#include <sys/socket.h>

#include <algorithm>

#include "config/config_internal.h"

namespace ringmta::config::detail {
namespace {

// "192.0.2.1", "2001:db8::1" or an array of at most one of each family.
std::optional<Config::Delivery::Source> read_source(Validator& v, const toml::node& node, const std::string& key) {
  Config::Delivery::Source out;
  bool ok = true;
  auto one = [&](const std::string& text, const toml::node& item, const std::string& item_key) {
    std::string ip = text;
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    auto a = engine::SocketAddress::from_ip(ip, 0);
    if (!a) {
      v.error(Validator::line_of(item), item_key,
              "expected an IPv4 or IPv6 address of this host (no port), got " + describe(item));
      ok = false;
      return;
    }
    auto& slot = a->family() == AF_INET6 ? out.v6 : out.v4;
    if (slot) {
      v.error(Validator::line_of(item), item_key,
              std::string("two ") + (a->family() == AF_INET6 ? "IPv6" : "IPv4") +
                  " addresses: give at most one IPv4 and one IPv6 address");
      ok = false;
      return;
    }
    slot = *a;
  };
  if (node.is_array())
    v.strings(node, key, one);
  else if (auto s = v.string(node, key))
    one(*s, node, key);
  else
    return std::nullopt;
  if (!ok) return std::nullopt;
  return out;
}

// Pattern of [delivery.rate]: a domain or host name, or "*." + one.
std::string rate_pattern_problem(const std::string& p) {
  std::string_view name = p;
  if (name.starts_with("*.")) name.remove_prefix(2);
  return domain_problem(name);
}

void read_rates(Validator& v, const toml::node& node, std::vector<Config::Delivery::Rate>& out) {
  const auto* table = node.as_table();
  if (!table) {
    v.expected(node, "delivery.rate",
               "a table of \"pattern\" = { messages_per_minute = N, ... } entries ([delivery.rate.\"gmail.com\"])");
    return;
  }
  std::vector<std::pair<uint32_t, std::pair<const toml::key*, const toml::node*>>> entries;
  for (const auto& [key, value] : *table)
    entries.push_back({key.source().begin.line ? key.source().begin.line : Validator::line_of(value), {&key, &value}});
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [line, entry] : entries) {
    const toml::value<std::string> key_text{std::string(entry.first->str())};
    const std::string full = "delivery.rate." + describe(key_text);
    const auto* t = entry.second->as_table();
    if (!t) {
      v.error(line, full, "expected a table with messages_per_minute / messages_per_hour / connections_per_minute");
      continue;
    }
    Config::Delivery::Rate r;
    r.pattern = base::to_lower_ascii(entry.first->str());
    if (auto why = rate_pattern_problem(r.pattern); !why.empty()) {
      v.error(line, full, "invalid domain or host pattern " + describe(key_text) + ": " + why);
      continue;
    }
    bool any = false;
    for (const auto& [k, value] : *t) {
      const std::string name(k.str());
      unsigned* field = name == "messages_per_minute"      ? &r.messages_per_minute
                        : name == "messages_per_hour"      ? &r.messages_per_hour
                        : name == "connections_per_minute" ? &r.connections_per_minute
                                                           : nullptr;
      if (!field) {
        v.error(Validator::line_of(value), full + "." + name,
                "unknown key (known: messages_per_minute, messages_per_hour, connections_per_minute)");
        continue;
      }
      if (auto i = v.integer(value, full + "." + name, 1, kMaxCount, "a positive integer (at most 1000000)")) {
        *field = static_cast<unsigned>(*i);
        any = true;
      }
    }
    if (!any) continue;
    if (std::any_of(out.begin(), out.end(), [&](const auto& o) { return o.pattern == r.pattern; })) {
      v.error(line, full, "duplicate rate entry for '" + r.pattern + "'");
      continue;
    }
    out.push_back(std::move(r));
  }
}

}  // namespace

void read_outbound(Validator& v, const toml::table& t, Config::Delivery& out) {
  if (const auto* n = t.get("credentials_file")) {
    if (auto s = v.string(*n, "delivery.credentials_file")) out.credentials_file = *s;
  }
  if (const auto* n = t.get("source_address"))
    if (auto s = read_source(v, *n, "delivery.source_address")) out.source_address = *s;
  if (const auto* n = t.get("source_addresses")) {
    const auto* table = n->as_table();
    if (!table) {
      v.expected(*n, "delivery.source_addresses", "a table of \"domain\" = \"address\" entries");
    } else {
      for (const auto& [key, value] : *table) {
        const toml::value<std::string> key_text{std::string(key.str())};
        const std::string full = "delivery.source_addresses." + describe(key_text);
        const uint32_t line = key.source().begin.line ? key.source().begin.line : Validator::line_of(value);
        const std::string domain = base::to_lower_ascii(key.str());
        if (value.is_table()) {
          v.error(line, full, "expected an address or an array of addresses (quote a domain with dots)");
          continue;
        }
        if (auto why = domain_problem(domain); !why.empty()) {
          v.error(line, full, "invalid domain name " + describe(key_text) + ": " + why);
          continue;
        }
        if (auto s = read_source(v, value, full)) out.source_addresses[domain] = *s;
      }
    }
  }
  if (const auto* n = t.get("rate")) read_rates(v, *n, out.rates);
}

}  // namespace ringmta::config::detail
