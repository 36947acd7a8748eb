// relay/mta_sts_policy.cpp — see mta_sts_policy.h. Standard library only
// (the fuzz target compiles this file alone).
#include "relay/mta_sts_policy.h"

#include <algorithm>

namespace ringmta::relay::mta_sts {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool equal_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// RFC 8461 §3.2 sts-policy-mx-value: a domain name (letters, digits,
// hyphens, dots), optionally "*." first.
bool valid_mx_pattern(std::string_view p) {
  if (p.size() >= 2 && p[0] == '*' && p[1] == '.') p.remove_prefix(2);
  if (p.empty() || p.size() > 253 || p.front() == '.' || p.back() == '.') return false;
  size_t label = 0;
  for (char c : p) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!is_alnum(c) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return true;
}

}  // namespace

const char* to_string(Mode mode) {
  switch (mode) {
    case Mode::Enforce: return "enforce";
    case Mode::Testing: return "testing";
    case Mode::None: break;
  }
  return "none";
}

std::optional<Policy> parse_policy(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Policy> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (text.size() > kMaxPolicySize) return fail("policy larger than 64 KiB");
  Policy p;
  bool have_version = false, have_mode = false, have_age = false;
  size_t lines = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++lines;
    if (trim(line).empty()) continue;  // blank lines (a trailing one is common)
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail("line " + std::to_string(lines) + ": no ':'");
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (key.empty()) return fail("line " + std::to_string(lines) + ": empty key");
    if (key == "version") {
      if (have_version) continue;
      if (value != "STSv1") return fail("version is not STSv1");
      have_version = true;
    } else if (key == "mode") {
      if (have_mode) continue;
      if (value == "enforce") p.mode = Mode::Enforce;
      else if (value == "testing") p.mode = Mode::Testing;
      else if (value == "none") p.mode = Mode::None;
      else return fail("mode is not enforce, testing or none");
      have_mode = true;
    } else if (key == "max_age") {
      if (have_age) continue;
      if (value.empty() || value.size() > 10 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail("max_age is not 1 to 10 digits");
      uint64_t n = 0;
      for (char c : value) n = n * 10 + static_cast<uint64_t>(c - '0');
      p.max_age = static_cast<uint32_t>(std::min<uint64_t>(n, kMaxAge));
      have_age = true;
    } else if (key == "mx") {
      if (!valid_mx_pattern(value)) return fail("bad mx pattern on line " + std::to_string(lines));
      if (p.mx.size() >= 1000) return fail("more than 1000 mx patterns");
      p.mx.push_back(to_lower(value));
    }
    // Other keys: ignored (extensions, RFC 8461 §3.2).
  }
  if (!have_version) return fail("no version");
  if (!have_mode) return fail("no mode");
  if (!have_age) return fail("no max_age");
  if (p.mode != Mode::None && p.mx.empty()) return fail("no mx");
  return p;
}

std::optional<std::string> parse_txt(std::string_view record, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<std::string> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  std::optional<std::string> id;
  bool first = true;
  while (!record.empty()) {
    size_t semi = record.find(';');
    std::string_view field = trim(record.substr(0, semi));
    record.remove_prefix(semi == std::string_view::npos ? record.size() : semi + 1);
    if (field.empty()) {
      if (first) return fail("not an STSv1 record");
      continue;
    }
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) return fail("field without '='");
    const std::string_view key = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    if (first) {
      if (key != "v" || value != "STSv1") return fail("not an STSv1 record");
      first = false;
      continue;
    }
    if (key == "id" && !id) {
      if (value.empty() || value.size() > 32 || !std::all_of(value.begin(), value.end(), is_alnum))
        return fail("id is not 1 to 32 letters and digits");
      id = std::string(value);
    }
  }
  if (first) return fail("not an STSv1 record");
  if (!id) return fail("no id");
  return id;
}

std::optional<std::string> select_txt(const std::vector<std::string>& records, std::string* error) {
  const std::string_view prefix = "v=STSv1";
  const std::string* chosen = nullptr;
  for (const auto& r : records) {
    if (r.compare(0, prefix.size(), prefix) != 0) continue;
    if (chosen) {
      if (error) *error = "more than one STSv1 TXT record";
      return std::nullopt;
    }
    chosen = &r;
  }
  if (!chosen) {
    if (error) *error = "no STSv1 TXT record";
    return std::nullopt;
  }
  return parse_txt(*chosen, error);
}

bool mx_matches(std::string_view pattern, std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || pattern.empty()) return false;
  if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '.') {
    const std::string_view rest = pattern.substr(1);  // ".example.net"
    const size_t dot = host.find('.');
    if (dot == 0 || dot == std::string_view::npos) return false;
    return equal_nocase(host.substr(dot), rest);
  }
  return equal_nocase(pattern, host);
}

bool policy_allows(const Policy& policy, std::string_view host) {
  return std::any_of(policy.mx.begin(), policy.mx.end(), [&](const std::string& p) { return mx_matches(p, host); });
}

}  // namespace ringmta::relay::mta_sts
