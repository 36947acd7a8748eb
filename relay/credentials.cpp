// relay/credentials.cpp — see credentials.h. Standard library only, so the
// fuzz target compiles it alone.
#include "relay/credentials.h"

#include <string>

namespace ringmta::relay {
namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Host names: letters, digits, '-', '.', '_' (IPv6 literals also ':' inside brackets).
bool host_chars(std::string_view h, bool ipv6_ok) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || (ipv6_ok && c == ':');
    if (!ok) return false;
  }
  return true;
}

// The key's text -> map key ("host:port", "host", "@domain"), or why not.
std::string parse_key(std::string_view k, std::string& out) {
  if (k.starts_with("@")) {
    std::string_view d = k.substr(1);
    if (!host_chars(d, false)) return "'@' must be followed by a domain name";
    out = "@" + lower(d);
    return "";
  }
  if (k.starts_with("[")) {
    const size_t close = k.find(']');
    if (close == std::string_view::npos) return "'[' without ']'";
    std::string_view host = k.substr(1, close - 1);
    if (!host_chars(host, true)) return "bad host name inside [ ]";
    std::string_view rest = k.substr(close + 1);
    if (rest.empty()) {
      out = lower(host);
      return "";
    }
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return "expected ':port' after ']'";
    uint32_t port = 0;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return "the port is not a number";
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return "the port is not a number from 1 to 65535";
    out = "[" + lower(host) + "]:" + std::to_string(port);
    return "";
  }
  if (k.find(':') != std::string_view::npos) return "a port needs the host in brackets: [host]:port";
  if (!host_chars(k, false)) return "bad host name";
  out = lower(k);
  return "";
}

}  // namespace

CredentialTable parse_credentials(std::string_view text, std::string_view source) {
  CredentialTable t;
  uint32_t line_no = 0;
  size_t pos = 0;
  auto problem = [&](const std::string& why) {
    t.problems.push_back(std::string(source) + ":" + std::to_string(line_no) + ": " + why);
  };
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t i = 0;
    while (i < line.size() && blank(line[i])) ++i;
    if (i == line.size() || line[i] == '#') continue;
    if (line.size() > kMaxCredentialLine) {
      problem("line too long (more than " + std::to_string(kMaxCredentialLine) + " bytes); skipped");
      continue;
    }
    bool control = false;
    for (char c : line) control |= (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
    if (control) {
      problem("control character in the line; skipped");
      continue;
    }
    size_t key_end = i;
    while (key_end < line.size() && !blank(line[key_end])) ++key_end;
    std::string_view key_text = line.substr(i, key_end - i);
    size_t v = key_end;
    while (v < line.size() && blank(line[v])) ++v;
    std::string_view value = line.substr(v);
    while (!value.empty() && blank(value.back())) value.remove_suffix(1);
    std::string key;
    if (std::string why = parse_key(key_text, key); !why.empty()) {
      problem("bad key: " + why + "; skipped");
      continue;
    }
    if (value.empty()) {
      problem("no user:password after the key; skipped");
      continue;
    }
    const size_t colon = value.find(':');
    if (colon == std::string_view::npos) {
      problem("expected user:password (no ':' found); skipped");
      continue;
    }
    Credential c;
    c.user = std::string(value.substr(0, colon));
    c.password = std::string(value.substr(colon + 1));
    c.line = line_no;
    if (c.user.empty()) {
      problem("empty user name; skipped");
      continue;
    }
    if (c.user.find_first_of(" \t") != std::string::npos) {
      problem("blank inside the user name; skipped");
      continue;
    }
    if (c.password.empty()) {
      problem("empty password; skipped");
      continue;
    }
    if (auto it = t.entries.find(key); it != t.entries.end()) {
      problem("duplicate entry for " + key + " (first on line " + std::to_string(it->second.line) +
              ", which is kept); skipped");
      continue;
    }
    t.entries.emplace(std::move(key), std::move(c));
  }
  return t;
}

const Credential* CredentialTable::find(std::string_view host, uint16_t port, std::string_view domain) const {
  if (entries.empty()) return nullptr;
  // An address-literal target is named "[192.0.2.1]" by the agent.
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string h = lower(host);
  if (auto it = entries.find("[" + h + "]:" + std::to_string(port)); it != entries.end()) return &it->second;
  if (auto it = entries.find(h); it != entries.end()) return &it->second;
  if (!domain.empty())
    if (auto it = entries.find("@" + lower(domain)); it != entries.end()) return &it->second;
  return nullptr;
}

}  // namespace ringmta::relay
