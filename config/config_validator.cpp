// config/config_validator.cpp — the configuration's key schema and the
// Validator that turns every problem into "FILE:LINE: KEY: message": unknown
// keys with a "did you mean" (near misses, the same key in another table,
// well-known Postfix names), wrong types, out-of-range values.
//
// Validation is strict on purpose: a silently ignored typo in a mail relay's
// config tends to surface as an open relay or lost mail.
#include <algorithm>
#include <array>
#include <sstream>

#include "config/config_internal.h"

namespace ringmta::config::detail {
namespace {

constexpr size_t kMaxErrorsShown = 20;

// The schema: every table and its keys. "listener" is an array of tables.
// [delivery.routes] is a key of "delivery" whose own keys are domains.
struct TableSchema {
  std::string_view name;
  std::vector<std::string_view> keys;
};
const std::vector<TableSchema>& schema() {
  static const std::vector<TableSchema> tables = {
      {"server", {"hostname", "data_dir", "threads", "shutdown_timeout"}},
      {"listener", {"address", "kind", "allow_plaintext_auth", "proxy_protocol"}},
      {"relay", {"trusted_networks", "local_domains", "aliases_file", "recipient_delimiter"}},
      {"mailbox", {"enabled", "quota"}},
      {"limits", {"max_message_size", "max_recipients", "max_line_length", "max_errors", "max_hops",
                  "command_timeout", "data_timeout", "min_data_rate", "inflight_memory", "max_connections",
                  "max_connections_per_ip", "tls_handshake_rate", "tls_handshake_rate_per_ip"}},
      {"auth", {"users_file", "sender_login_match", "max_failures", "failure_delay", "failure_window"}},
      {"queue", {"durability", "retry_schedule", "max_lifetime", "delay_warning", "commit_wait_us", "commit_wait_batches",
                 "min_free_space"}},
      {"dns", {"servers", "timeout"}},
      {"delivery", {"port", "relayhost", "routes", "max_connections_per_domain", "max_messages_per_connection",
                    "max_recipients_per_transaction", "connection_idle_timeout", "connect_timeout",
                    "command_timeout", "data_timeout", "chunking", "no_chunking_hosts", "destination_down_time",
                    "tls", "tls_policy", "tls_ca_file", "tls_resumption", "mta_sts", "mta_sts_port", "dane",
                    "dnssec_resolver", "credentials_file", "source_address", "source_addresses", "rate"}},
      {"tls", {"certificate", "private_key", "sni", "resumption"}},
      {"tls.sni", {"names", "certificate", "private_key"}},
      {"log", {"level", "format", "buffered"}},
      {"metrics", {"listen", "top_destinations"}},
      {"admin", {"listen", "token"}},
      {"pop3", {"allow_plaintext_auth", "autologout", "max_errors"}},
      {"imap", {"allow_plaintext_auth", "autologout", "max_bad_commands", "append_limit"}},
      {"dkim", {"domain", "selector", "key_file", "algorithm", "headers", "canonicalization", "over_sign"}},
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
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"myhostname", "server.hostname"},
    {"queue_directory", "server.data_dir"},
    {"mynetworks", "relay.trusted_networks"},
    {"mydestination", "relay.local_domains"},
    {"alias_maps", "relay.aliases_file"},
    {"alias_database", "relay.aliases_file"},
    {"mailbox_size_limit", "mailbox.quota"},
    {"message_size_limit", "limits.max_message_size"},
    {"smtpd_recipient_limit", "limits.max_recipients"},
    {"line_length_limit", "limits.max_line_length"},
    {"smtpd_hard_error_limit", "limits.max_errors"},
    {"hopcount_limit", "limits.max_hops"},
    {"smtpd_timeout", "limits.command_timeout"},
    {"smtpd_min_data_rate", "limits.min_data_rate"},
    {"smtpd_client_new_tls_session_rate_limit", "limits.tls_handshake_rate_per_ip"},
    {"listeners", "[[listener]]"},
    {"log_level", "log.level"},
    {"loglevel", "log.level"},
    {"minimal_backoff_time", "queue.retry_schedule"},
    {"maximal_backoff_time", "queue.retry_schedule"},
    {"maximal_queue_lifetime", "queue.max_lifetime"},
    {"delay_warning_time", "queue.delay_warning"},
    {"queue_minfree", "queue.min_free_space"},
    {"nameserver", "dns.servers"},
    {"nameservers", "dns.servers"},
    {"transport_maps", "delivery.routes"},
    {"transport", "delivery.routes"},
    {"default_destination_concurrency_limit", "delivery.max_connections_per_domain"},
    {"smtp_destination_concurrency_limit", "delivery.max_connections_per_domain"},
    {"smtp_connection_reuse_count_limit", "delivery.max_messages_per_connection"},
    {"default_destination_recipient_limit", "delivery.max_recipients_per_transaction"},
    {"smtp_destination_recipient_limit", "delivery.max_recipients_per_transaction"},
    {"smtp_connection_cache_time_limit", "delivery.connection_idle_timeout"},
    {"smtp_connect_timeout", "delivery.connect_timeout"},
    {"smtp_data_done_timeout", "delivery.data_timeout"},
    {"smtp_tls_security_level", "delivery.tls"},
    {"smtp_tls_policy_maps", "delivery.tls_policy"},
    {"smtp_tls_CAfile", "delivery.tls_ca_file"},
    {"smtp_dns_support_level", "delivery.dane"},
    {"smtp_sasl_password_maps", "delivery.credentials_file"},
    {"smtp_bind_address", "delivery.source_address"},
    {"smtp_bind_address6", "delivery.source_address"},
    {"smtpd_client_connection_count_limit", "limits.max_connections_per_ip"},
    {"smtpd_sasl_password_maps", "auth.users_file"},
    {"smtpd_sender_login_maps", "auth.sender_login_match"},
    {"smtpd_tls_auth_only", "listener.allow_plaintext_auth"},
    {"smtpd_tls_cert_file", "tls.certificate"},
    {"smtpd_tls_chain_files", "tls.certificate"},
    {"smtpd_tls_key_file", "tls.private_key"},
    {"domainkeys", "[[dkim]]"},
    {"opendkim", "[[dkim]]"},
};

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
  // Then the same leaf name in another table ("threads" at top level) —
  // except a name that is also a table: "tls" in [server] or a listener
  // means [tls] as much as delivery.tls, so suggest neither.
  const bool names_a_table =
      std::any_of(schema().begin(), schema().end(), [&](const TableSchema& s) { return s.name == name; });
  for (const auto& t : schema()) {
    if (t.name == table || names_a_table) continue;
    for (auto key : t.keys) consider(key, join(t.name, key));
  }
  return best;
}

}  // namespace

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
        out += "\\x";
        base::append_hex_byte(out, c);
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


void Validator::error(uint32_t line, std::string_view key, std::string_view message) {
  std::string text = std::string(source_) + ":" + std::to_string(line) + ": ";
  if (!key.empty()) text += std::string(key) + ": ";
  errors_.push_back({line, text + std::string(message)});
}

std::string Validator::report() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (size_t i = 0; i < errors_.size() && i < kMaxErrorsShown; ++i) {
    if (i) out += '\n';
    out += errors_[i].second;
  }
  if (errors_.size() > kMaxErrorsShown)
    out += "\n(" + std::to_string(errors_.size() - kMaxErrorsShown) + " more errors)";
  return out;
}

void Validator::check_keys(const toml::table& t, std::string_view table, std::string_view prefix) {
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

const toml::table* Validator::table(const toml::table& root, std::string_view name) {
  const toml::node* node = root.get(name);
  if (!node) return nullptr;
  if (const auto* t = node->as_table()) {
    check_keys(*t, name, name);
    return t;
  }
  expected(*node, name, "a table");
  return nullptr;
}

std::optional<std::string> Validator::string(const toml::node& node, std::string_view key) {
  if (const auto* s = node.as_string()) return s->get();
  expected(node, key, "a string");
  return std::nullopt;
}

std::optional<int64_t> Validator::integer(const toml::node& node, std::string_view key, int64_t min, int64_t max,
                                          std::string_view what) {
  if (const auto* i = node.as_integer(); i && i->get() >= min && i->get() <= max) return i->get();
  expected(node, key, what);
  return std::nullopt;
}

std::optional<uint64_t> Validator::size(const toml::node& node, std::string_view key, uint64_t min, uint64_t max,
                                        std::string_view what) {
  std::optional<uint64_t> value;
  if (const auto* i = node.as_integer(); i && i->get() >= 0) value = static_cast<uint64_t>(i->get());
  if (const auto* s = node.as_string()) value = parse_size(s->get());
  if (value && *value >= min && *value <= max) return value;
  std::string text(what);
  if (const auto* s = node.as_string(); s && s->get().find('B') != std::string::npos &&
                                        s->get().find("iB") == std::string::npos)
    text += "; \"KB\"/\"MB\"/\"GB\" are ambiguous, write \"M\" or \"MiB\" (2^20 bytes)";
  expected(node, key, text);
  return std::nullopt;
}

std::optional<std::chrono::seconds> Validator::duration(const toml::node& node, std::string_view key,
                                                        bool allow_zero) {
  std::optional<std::chrono::seconds> value;
  if (const auto* s = node.as_string()) value = parse_duration(s->get());
  if (const auto* i = node.as_integer(); i && i->get() >= 0) value = parse_duration(std::to_string(i->get()));
  if (value && (allow_zero || value->count() > 0)) return value;
  expected(node, key,
           std::string(allow_zero ? "a duration" : "a positive duration") +
               " such as \"30s\", \"5m\", \"1h30m\" (units s, m, h, d, w; at most 3650d)");
  return std::nullopt;
}

}  // namespace ringmta::config::detail
