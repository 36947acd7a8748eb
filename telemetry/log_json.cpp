// telemetry/log_json.cpp — see log_json.h.
#include "telemetry/log_json.h"

#include <utility>
#include <vector>

#include "base/json.h"

namespace ringmta::telemetry {

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// "ID: " at the start: 16 Crockford base32 characters (queue_id.h), upper case.
size_t queue_id_length(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && n < 32 && ((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' && s[n] <= 'Z'))) ++n;
  return n >= 12 && s.substr(n, 2) == ": " ? n : 0;
}

// "<a@b>" -> "a@b"; "<a>,<b>" -> "a,b"; anything else unchanged.
std::string strip_angles(std::string_view v) {
  if (v.size() < 2 || v.front() != '<' || v.back() != '>') return std::string(v);
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    if (v[i] != '<') return std::string(v);
    size_t close = v.find('>', i);
    if (close == std::string_view::npos) return std::string(v);
    out.append(v.substr(i + 1, close - i - 1));
    i = close + 1;
    if (i < v.size()) {
      if (v[i] != ',') return std::string(v);
      out.push_back(',');
      ++i;
    }
  }
  return out;
}

// key=value fields anywhere in `s`. A value ends at a space or comma outside
// <>, [] and (); "status=X (text)" also gives reply=text.
void scan_fields(std::string_view s, Fields& out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t k = i;
    while (k < s.size() && ((s[k] >= 'a' && s[k] <= 'z') || s[k] == '_')) ++k;
    const bool at_word_start = i == 0 || s[i - 1] == ' ' || s[i - 1] == ',';
    if (k == i || k >= s.size() || s[k] != '=' || !at_word_start) {
      ++i;
      continue;
    }
    std::string key(s.substr(i, k - i));
    size_t v = k + 1, e = v;
    int depth = 0;
    for (; e < s.size(); ++e) {
      const char c = s[e];
      if (c == '<' || c == '[' || c == '(') ++depth;
      if ((c == '>' || c == ']' || c == ')') && depth > 0) --depth;
      if (depth == 0 && (c == ' ' || (c == ',' && (e + 1 >= s.size() || s[e + 1] == ' ')))) break;
    }
    std::string_view raw = s.substr(v, e - v);
    if (!raw.empty() && raw.back() == ':' && (e >= s.size() || s[e] == ' ')) raw.remove_suffix(1);  // "user=<x>: ..."
    std::string value = strip_angles(raw);
    i = e;
    if (key == "status" && s.substr(e, 2) == " (" && s.back() == ')') {
      out.emplace_back(std::move(key), std::move(value));
      out.emplace_back("reply", std::string(s.substr(e + 2, s.size() - e - 3)));
      return;  // the reply is the rest of the line
    }
    out.emplace_back(std::move(key), std::move(value));
  }
}

// "session N [ip]:port: rest" -> fields session, client; returns rest.
std::string_view session_prefix(std::string_view s, Fields& out) {
  if (!s.starts_with("session ")) return s;
  size_t sp = s.find(' ', 8);
  size_t colon = s.find("]:", sp == std::string_view::npos ? s.size() : sp);
  if (sp == std::string_view::npos || colon == std::string_view::npos || s.substr(sp, 2) != " [") return s;
  size_t end = s.find(": ", colon + 2);
  if (end == std::string_view::npos) return s;
  out.emplace_back("session", std::string(s.substr(8, sp - 8)));
  out.emplace_back("client", std::string(s.substr(sp + 1, end - sp - 1)));
  return s.substr(end + 2);
}

// The event name and its fields, from the line after any queue ID.
std::string classify(std::string_view s, Fields& f) {
  static const std::pair<std::string_view, std::string_view> notices[] = {
      {"sender non-delivery notification: ", "bounce"},
      {"sender delay notification: ", "delay_notice"},
      {"sender delivery status notification: ", "success_notice"},
  };
  for (const auto& [prefix, event] : notices) {
    if (s.starts_with(prefix)) {
      f.emplace_back("notice_id", std::string(s.substr(prefix.size())));
      return std::string(event);
    }
  }
  if (s.starts_with("to=<")) return scan_fields(s, f), "delivery";
  if (s.starts_with("accepted ")) return scan_fields(s, f), "accept";
  if (s == "removed") return "removed";
  if (s.starts_with("queue write failed")) return "commit_failed";
  if (s.starts_with("connect ")) return scan_fields(s, f), "connect";
  if (s.starts_with("PROXY protocol:")) return scan_fields(s, f), "proxy_refused";
  if (s.starts_with("authenticated: ")) return scan_fields(s, f), "auth";
  if (s.starts_with("authentication failed: ") || s.starts_with("authentication refused: "))
    return scan_fields(s, f), "auth_failed";
  if (s.starts_with("connection from [") && s.find(" refused") != std::string_view::npos) {
    f.emplace_back("client", std::string(s.substr(17, s.find(']') - 17)));
    return "connection_refused";
  }
  if (s.starts_with("session ")) {
    Fields sf;
    std::string_view rest = session_prefix(s, sf);
    if (rest.data() != s.data() && rest.starts_with("TLS ")) {
      f.insert(f.end(), sf.begin(), sf.end());
      const bool failed = rest.find("failed") != std::string_view::npos && rest.find(": ") != std::string_view::npos;
      if (failed) {
        f.emplace_back("error", std::string(rest.substr(rest.find(": ") + 2)));
        return "tls_failed";
      }
      std::string_view v = rest.substr(4);
      f.emplace_back("tls_version", std::string(v.substr(0, v.find(' '))));
      if (size_t sp = v.find(' '); sp != std::string_view::npos) {
        std::string_view c = v.substr(sp + 1);
        f.emplace_back("cipher", std::string(c.substr(0, c.find(' '))));
      }
      return "tls";
    }
  }
  return {};
}

}  // namespace

// The admin API's JSON escaper: every control byte (C0, DEL, C1) escaped,
// bad UTF-8 as U+FFFD. One escaper for every JSON the daemon writes.

std::string json_log_line(std::string_view ts, std::string_view level, std::string_view msg) {
  Fields fields;
  std::string queue_id;
  std::string_view rest = msg;
  if (size_t n = queue_id_length(msg)) {
    queue_id = std::string(msg.substr(0, n));
    rest = msg.substr(n + 2);
  }
  const std::string event = classify(rest, fields);
  std::string out = "{\"ts\":" + base::json::quote(ts) + ",\"level\":" + base::json::quote(level);
  if (!event.empty()) out += ",\"event\":" + base::json::quote(event);
  if (!queue_id.empty()) out += ",\"queue_id\":" + base::json::quote(queue_id);
  std::vector<std::string> used = {"ts", "level", "event", "queue_id", "msg"};
  for (const auto& [k, v] : fields) {
    bool dup = false;
    for (const auto& u : used) dup |= u == k;
    if (dup) continue;  // first occurrence wins; never a duplicate member
    used.push_back(k);
    out += "," + base::json::quote(k) + ":" + base::json::quote(v);
  }
  out += ",\"msg\":" + base::json::quote(msg) + "}";
  return out;
}

}  // namespace ringmta::telemetry
