// config/config_values.cpp — the configuration's value syntaxes, parsed from
// plain text without TOML: durations, byte sizes, domain names, route targets
// (relayhost and [delivery.routes]) and DNS server addresses.
//
// Kept apart from the TOML walk so each syntax can be read (and tested) on its
// own; the messages returned here become the tail of "FILE:LINE: KEY: ..." errors.
#include <algorithm>
#include <cctype>
#include <limits>

#include "engine/address.h"
#include "config/config.h"
#include "config/config_internal.h"

namespace ringmta::config {

namespace detail {
namespace {

// Appended to the messages about the overall shape of a target.
constexpr std::string_view kForms =
    " (forms: \"[host]:port\", \"host:port\", \"ip:port\", \"[ipv6]:port\"; the port is optional)";

// `s` in single quotes, control and non-ASCII bytes as \xNN: the text ends
// up on a terminal or in a log.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      base::append_hex_byte(out, c);
    }
  }
  return out + (s.size() > 80 ? "...'" : "'");
}

// inet_pton stops at a NUL, so "192.0.2.1\0x" would pass as an address:
// control characters are refused before any address parsing.
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

bool digits_and_dots(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) || c == '.'; });
}

// A port after ':': 1 to 65535, decimal digits only.
std::optional<uint16_t> parse_port(std::string_view s, std::string* why) {
  if (s.empty()) {
    *why = "the port after ':' is empty";
    return std::nullopt;
  }
  unsigned value = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || value > 65535) {
      value = 70000;  // not a number, or too long: one message for both
      break;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) {
    *why = "the port " + quoted(s) + " is not a number from 1 to 65535";
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

// Validates a host (without brackets) and fills target.host; `bracketed`
// decides whether a DNS name gets an MX lookup.
bool parse_route_host(std::string_view host, bool bracketed, RouteTarget& target, std::string* why) {
  if (host.empty()) {
    *why = std::string(bracketed ? "the host between '[' and ']' is empty" : "the host is empty") + std::string(kForms);
    return false;
  }
  const std::string lower = base::to_lower_ascii(host);
  if (auto ip = engine::SocketAddress::from_ip(lower, 0)) {
    // An IP literal never gets an MX lookup, bracketed or not. Unbracketed
    // IPv6 never reaches here (the caller refuses its ambiguous colons).
    target.host = lower;
    target.mx_lookup = false;
    return true;
  }
  if (lower.find(':') != std::string::npos) {
    *why = quoted(host) + " is not a valid IPv6 address";
    return false;
  }
  if (digits_and_dots(lower)) {
    *why = quoted(host) + " is not a valid IPv4 address";
    return false;
  }
  if (auto problem = domain_problem(lower); !problem.empty()) {
    *why = "host name " + quoted(host) + ": " + problem;
    return false;
  }
  target.host = lower;
  target.mx_lookup = !bracketed;
  return true;
}

}  // namespace

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
      if (!std::isalnum(c) && c != '-') {
        if (std::isprint(c)) return std::string("it contains '") + static_cast<char>(c) + "'";
        std::string shown = "it contains '\\x";  // control characters shown as \xNN
        base::append_hex_byte(shown, c);
        return shown + "'";
      }
    }
    if (label.front() == '-' || label.back() == '-') return "a label starts or ends with '-'";
    last_label = label;
    start = end + 1;
  }
  if (std::all_of(last_label.begin(), last_label.end(), [](unsigned char c) { return std::isdigit(c); }))
    return "it looks like an IP address, not a domain name";
  return "";
}

std::optional<RouteTarget> parse_route_target(std::string_view text, std::string* why) {
  std::string ignored;
  if (!why) why = &ignored;
  RouteTarget target;
  target.text = std::string(text);
  if (text.empty()) {
    *why = "it is empty";
    return std::nullopt;
  }
  if (has_control(text)) {
    *why = "it contains a control character";
    return std::nullopt;
  }
  std::string_view host;
  std::optional<std::string_view> port;  // the text after ':', when there is one
  bool bracketed = text.front() == '[';
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      *why = "'[' has no matching ']'" + std::string(kForms);
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        *why = "only ':port' may follow ']'" + std::string(kForms);
        return std::nullopt;
      }
      port = rest.substr(1);
    }
  } else {
    size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      // "2001:db8::1:25": which colon starts the port? Brackets say it.
      *why = "an IPv6 address must be in brackets, e.g. \"[2001:db8::1]:25\"";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
  }
  if (!parse_route_host(host, bracketed, target, why)) return std::nullopt;
  if (port) {
    auto p = parse_port(*port, why);
    if (!p) return std::nullopt;
    target.port = *p;
  }
  return target;
}

std::string dns_server_problem(std::string_view text) {
  // The same two tries the resolver makes (dns/resolver_ares.cpp), so that what
  // passes here is what c-ares gets.
  if (has_control(text)) return "it contains a control character";
  auto address = engine::SocketAddress::parse(text);
  if (!address) address = engine::SocketAddress::from_ip(text, 53);
  if (!address) return "expected \"ip\", \"ip:port\" or \"[ipv6]:port\" with a numeric IP address";
  if (address->port() == 0) return "port 0 is not allowed";
  return "";
}

}  // namespace detail

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
    char c = base::to_upper_ascii(unit[0]);
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

}  // namespace ringmta::config
