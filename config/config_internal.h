// config/config_internal.h — shared by the config/config*.cpp files only (not a
// public header): the key schema, the Validator that collects "FILE:LINE: KEY:
// message" errors, the toml-free value parsers (domains, route targets, DNS
// server addresses) and the per-table readers.
//
// Split: config_values.cpp (value parsers, no toml), config_validator.cpp
// (schema, "did you mean", Validator), config.cpp (server, listeners, relay,
// limits, log; parse_config), config_delivery.cpp (queue, dns, delivery).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <toml++/toml.h>

#include "base/text.h"
#include "config/config.h"

namespace ringmta::config::detail {

constexpr int64_t kMaxCount = 1'000'000;  // recipients, errors, connections

// --- value parsers (config_values.cpp) -------------------------------------

// ASCII lower case: base::to_lower_ascii (bytes >= 0x80 are left alone;
// domain_problem refuses them).
// Why `name` is not a usable domain name, or "" when it is.
std::string domain_problem(std::string_view name);
// A RouteTarget from its text (syntax in config.h); on failure nullopt and
// `why` says what is wrong ("the port ... is not a number from 1 to 65535").
std::optional<RouteTarget> parse_route_target(std::string_view text, std::string* why);
// A DNS server as the resolver takes it: "ip", "ip:port", "[ipv6]:port" or a
// bare IPv6 address (port 53). Port 0 is refused. "" when fine, else why not.
std::string dns_server_problem(std::string_view text);

// --- schema and validation (config_validator.cpp) ---------------------------

// A short printable rendering of a value for "got ..." messages.
std::string describe(const toml::node& node);

// Collects errors as "SOURCE:LINE: KEY: message" and offers typed getters that
// report their own errors and return nullopt.
class Validator {
 public:
  explicit Validator(std::string_view source) : source_(source) {}

  static uint32_t line_of(const toml::node& node) { return node.source().begin.line; }

  void error(uint32_t line, std::string_view key, std::string_view message);
  void expected(const toml::node& node, std::string_view key, std::string_view what) {
    error(line_of(node), key, "expected " + std::string(what) + ", got " + describe(node));
  }

  bool ok() const { return errors_.empty(); }
  // All errors in file order (the first kMaxErrorsShown), one per line.
  std::string report();

  // Reports every key of `t` that `table`'s schema does not know.
  void check_keys(const toml::table& t, std::string_view table, std::string_view prefix);
  // The sub-table `name` of root, or null (absent, or reported as not a table).
  const toml::table* table(const toml::table& root, std::string_view name);

  std::optional<std::string> string(const toml::node& node, std::string_view key);
  std::optional<bool> boolean(const toml::node& node, std::string_view key) {
    if (const auto* b = node.as_boolean()) return b->get();
    expected(node, key, "true or false");
    return std::nullopt;
  }
  std::optional<int64_t> integer(const toml::node& node, std::string_view key, int64_t min, int64_t max,
                                 std::string_view what);
  // A duration string ("5m") or a non-negative integer number of seconds.
  std::optional<std::chrono::seconds> duration(const toml::node& node, std::string_view key, bool allow_zero);
  // A byte count, or a string with a binary unit ("50M", "1GiB"), from min
  // to max. `what` describes it in the error, which also explains that
  // "KB"/"MB"/"GB" are ambiguous when the value used one of them.
  std::optional<uint64_t> size(const toml::node& node, std::string_view key, uint64_t min, uint64_t max,
                               std::string_view what);

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

// --- readers for the outbound side (config_delivery.cpp) --------------------

void read_queue(Validator& v, const toml::table& t, Config::Queue& out);
void read_dns(Validator& v, const toml::table& t, Config::Dns& out);
void read_delivery(Validator& v, const toml::table& t, Config::Delivery& out);
// delivery.mta_sts, mta_sts_port, dane, dnssec_resolver (config_tls_policy.cpp).
void read_delivery_tls_policy(Validator& v, const toml::table& t, Config::Delivery& out);
// After the listeners and [delivery] are read: a relayhost or route that is
// one of our own listeners is an error (a mail loop).
void check_self_targets(Validator& v, const toml::table& delivery, const Config& config);

// delivery.credentials_file, source_address, [delivery.source_addresses],
// [delivery.rate] (config_outbound.cpp); called by read_delivery.
void read_outbound(Validator& v, const toml::table& t, Config::Delivery& out);

// --- [auth] (config_auth.cpp) ------------------------------------------------

void read_auth(Validator& v, const toml::table& t, Config::Auth& out);

// --- [pop3] (config_pop3.cpp) -----------------------------------------------

void read_pop3(Validator& v, const toml::table& t, Config::Pop3& out);
void read_imap(Validator& v, const toml::table& t, Config::Imap& out);

// --- [[dkim]] (config_dkim.cpp) ----------------------------------------------

void read_dkim(Validator& v, const toml::node& node, std::vector<Config::Dkim>& out);

// --- [admin] (config_admin.cpp) ---------------------------------------------

void read_admin(Validator& v, const toml::table& t, Config::Admin& out);

// --- [tls] and [[tls.sni]] (config_tls.cpp) --------------------------------

void read_tls(Validator& v, const toml::table& t, Config::Tls& out);

}  // namespace ringmta::config::detail
