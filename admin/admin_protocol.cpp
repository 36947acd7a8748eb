// admin/admin_protocol.cpp — see admin_protocol.h.
#include "admin/admin_protocol.h"

#include <algorithm>
#include <ctime>

#include "base/text.h"
#include "mail/address.h"
#include "queue/queue_id.h"

namespace ringmta::admin {

namespace {

constexpr std::pair<MessageState, std::string_view> kStates[] = {
    {MessageState::Scheduled, "scheduled"}, {MessageState::Ready, "ready"},
    {MessageState::InFlight, "in_flight"},  {MessageState::Held, "held"},
    {MessageState::Deferred, "deferred"},
};

constexpr std::pair<Command, std::string_view> kCommands[] = {
    {Command::Ping, "ping"},         {Command::Summary, "summary"}, {Command::List, "list"},
    {Command::Show, "show"},         {Command::Flush, "flush"},     {Command::Delete, "delete"},
    {Command::Hold, "hold"},         {Command::Release, "release"}, {Command::Bounce, "bounce"},
    {Command::Suspend, "suspend"},   {Command::Resume, "resume"},   {Command::Destinations, "destinations"},
    {Command::Reload, "reload"},
};

constexpr size_t kMaxIds = 100000;      // ids in one request
constexpr size_t kMaxReason = 1000;     // bytes of a bounce reason

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7F; });
}

// The fields each command may carry (anything else is refused: a misspelt
// selector must not silently widen or narrow what a command touches).
bool field_allowed(Command c, std::string_view key) {
  if (key == "cmd" || key == "token") return true;
  const bool selector = key == "ids" || key == "domain" || key == "sender" || key == "state" || key == "all";
  switch (c) {
    case Command::List:
    case Command::Flush:
    case Command::Delete:
    case Command::Hold:
    case Command::Release: return selector;
    case Command::Bounce: return selector || key == "reason";
    case Command::Show: return key == "id";
    case Command::Suspend:
    case Command::Resume: return key == "domain";
    default: return false;
  }
}

const std::string* string_field(const base::json::Value& v, std::string_view key, std::string* error) {
  const base::json::Value* f = v.get(key);
  if (!f) return nullptr;
  if (!f->is_string()) {
    *error = "'" + std::string(key) + "' must be a string";
    return nullptr;
  }
  return &f->as_string();
}

}  // namespace

std::string iso8601(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string_view to_string(MessageState state) {
  for (const auto& [s, name] : kStates)
    if (s == state) return name;
  return "unknown";
}

std::optional<MessageState> parse_state(std::string_view text) {
  for (const auto& [s, name] : kStates)
    if (name == text) return s;
  if (text == "due") return MessageState::Ready;
  if (text == "in-flight" || text == "active") return MessageState::InFlight;
  return std::nullopt;
}

MessageState message_state(const queue::Envelope& env, int64_t now_ms, bool in_flight) {
  if (env.flags & queue::kFlagHeld) return MessageState::Held;
  if (in_flight) return MessageState::InFlight;
  bool due = false, tried = false;
  for (const auto& r : env.recipients) {
    if (r.state != queue::RecipientState::Pending) continue;
    due |= r.next_attempt_ms <= now_ms;
    tried |= r.attempts > 0;
  }
  if (due) return MessageState::Ready;
  return tried ? MessageState::Deferred : MessageState::Scheduled;
}

bool recipient_selected(const Selector& sel, const queue::Recipient& r) {
  if (r.state != queue::RecipientState::Pending) return false;
  return sel.domain.empty() || mail::recipient_domain(r.address) == sel.domain;
}

bool matches(const Selector& sel, const queue::Envelope& env, MessageState state) {
  if (sel.state && *sel.state != state) return false;
  if (!sel.sender.empty()) {
    if (sel.sender == "<>") {
      if (!env.sender.empty()) return false;
    } else if (sel.sender.front() == '@') {
      if (env.sender.empty() || "@" + mail::recipient_domain(env.sender) != sel.sender) return false;
    } else if (base::to_lower_ascii(env.sender) != sel.sender) {
      return false;
    }
  }
  if (!sel.domain.empty()) {
    bool any = false;
    for (const auto& r : env.recipients) any |= recipient_selected(sel, r);
    if (!any) return false;
  }
  return true;
}

std::string_view to_string(Command command) {
  for (const auto& [c, name] : kCommands)
    if (c == command) return name;
  return "unknown";
}

bool mutates(Command c) {
  switch (c) {
    case Command::Flush:
    case Command::Delete:
    case Command::Hold:
    case Command::Release:
    case Command::Bounce:
    case Command::Suspend:
    case Command::Resume:
    case Command::Reload: return true;
    default: return false;
  }
}

base::Result<std::string> normalize_id(std::string_view text) {
  std::string id = base::to_upper_ascii(text);
  if (!queue::queue_id_time_ms(id)) {
    return base::Error("bad queue ID '" + std::string(text.substr(0, 64)) + "' (16 characters 0-9 A-Z, as `queue list` shows)");
  }
  return id;
}

base::Result<std::string> normalize_domain(std::string_view text) {
  std::string d = base::to_lower_ascii(text);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (!d.empty() && d.front() == '@') d.erase(0, 1);
  const bool literal = d.size() > 2 && d.front() == '[' && d.back() == ']';
  bool ok = !d.empty() && d.size() <= 255 && !has_control(d);
  for (char c : d) ok &= c != ' ' && c != '@' && c != '<' && c != '>' && c != ',' && c != '"';
  if (!literal) ok &= d.find('[') == std::string::npos && d.find(']') == std::string::npos;
  ok &= d.find("..") == std::string::npos && d.front() != '.';
  if (!ok) {
    return base::Error("bad domain '" + std::string(text.substr(0, 64)) + "' (a domain name like example.org, or an address literal [192.0.2.1])");
  }
  return d;
}

base::Result<std::string> normalize_sender(std::string_view text) {
  if (text == "<>" || text == "\"\"") return "<>";
  std::string s(text);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  if (!s.empty() && s.front() == '@') {
    auto d = normalize_domain(s);
    if (!d) return d;
    return "@" + *d;
  }
  const size_t at = s.rfind('@');
  if (s.empty() || s.size() > 512 || has_control(s) || at == std::string::npos || at == 0 || at + 1 == s.size() ||
      s.find(' ') != std::string::npos) {
    return base::Error("bad sender '" + std::string(text.substr(0, 64)) +
             "' (an address user@example.org, @example.org for a whole domain, or <> for the null sender)");
  }
  return base::to_lower_ascii(s);
}

base::Result<Request> parse_request(const base::json::Value& v) {
  // string_field() notes a field that is not a string here; checked after
  // the fields that may carry one, so the first wrong field is named.
  std::string type_error;
  std::string* error = &type_error;
  if (!v.is_object()) return base::Error("a request is a JSON object");
  const std::string* cmd = string_field(v, "cmd", error);
  if (!cmd) return base::Error(type_error.empty() ? "the request has no 'cmd'" : type_error);
  Request req;
  auto known = std::find_if(std::begin(kCommands), std::end(kCommands), [&](const auto& c) { return c.second == *cmd; });
  if (known == std::end(kCommands)) return base::Error("unknown command '" + cmd->substr(0, 32) + "'");
  req.command = known->first;
  for (const auto& [key, value] : v.members()) {
    if (!field_allowed(req.command, key)) {
      return base::Error("'" + key.substr(0, 32) + "' is not a field of '" + *cmd + "'");
    }
  }
  if (const std::string* t = string_field(v, "token", error)) req.token = *t;
  if (!type_error.empty()) return base::Error(type_error);

  Selector& sel = req.selector;
  if (const base::json::Value* ids = v.get("ids")) {
    if (!ids->is_array() || ids->items().empty() || ids->items().size() > kMaxIds) {
      return base::Error("'ids' must be a non-empty array of queue IDs (at most 100000)");
    }
    for (const base::json::Value& item : ids->items()) {
      if (!item.is_string()) {
        return base::Error("'ids' must hold strings");
      }
      auto id = normalize_id(item.as_string());
      if (!id) return base::Error(id.error());
      sel.ids.push_back(std::move(*id));
    }
  }
  if (const std::string* d = string_field(v, "domain", error)) {
    auto domain = normalize_domain(*d);
    if (!domain) return base::Error(domain.error());
    (req.command == Command::Suspend || req.command == Command::Resume ? req.domain : sel.domain) = *domain;
  }
  if (const std::string* s = string_field(v, "sender", error)) {
    auto sender = normalize_sender(*s);
    if (!sender) return base::Error(sender.error());
    sel.sender = std::move(*sender);
  }
  if (const std::string* s = string_field(v, "state", error)) {
    sel.state = parse_state(*s);
    if (!sel.state) {
      return base::Error("unknown state '" + s->substr(0, 32) + "' (scheduled, ready, in_flight, held, deferred)");
    }
  }
  if (const base::json::Value* all = v.get("all")) {
    if (!all->is_bool()) {
      return base::Error("'all' must be true or false");
    }
    sel.all = all->as_bool();
  }
  if (const std::string* id = string_field(v, "id", error)) {
    auto normal = normalize_id(*id);
    if (!normal) return base::Error(normal.error());
    req.id = std::move(*normal);
  }
  if (const std::string* r = string_field(v, "reason", error)) req.reason = *r;
  if (!type_error.empty()) return base::Error(type_error);

  // With IDs, --domain may still narrow which recipients a flush or bounce
  // touches; any other mix is ambiguous.
  const bool domain_narrows = req.command == Command::Flush || req.command == Command::Bounce;
  if (!sel.ids.empty() && (sel.all || (!sel.domain.empty() && !domain_narrows) || !sel.sender.empty() || sel.state)) {
    return base::Error("give either queue IDs or a selector (--domain, --sender, --state, --all), not both");
  }
  if (sel.all && (!sel.domain.empty() || !sel.sender.empty() || sel.state)) {
    return base::Error("--all cannot be combined with --domain, --sender or --state");
  }
  if (mutates(req.command) && req.command != Command::Suspend && req.command != Command::Resume &&
      req.command != Command::Reload && sel.empty()) {
    return base::Error(std::string(to_string(req.command)) +
             " needs queue IDs or a selector (--domain D, --sender S, --state S or --all)");
  }
  if (req.command == Command::Show && req.id.empty()) {
    return base::Error("show needs a queue ID");
  }
  if ((req.command == Command::Suspend || req.command == Command::Resume) && req.domain.empty()) {
    return base::Error(std::string(to_string(req.command)) + " needs a destination domain");
  }
  if (req.command == Command::Bounce) {
    if (req.reason.empty() || req.reason.size() > kMaxReason || has_control(req.reason)) {
      return base::Error("bounce needs --reason TEXT (one line, at most 1000 bytes): it goes into the DSN");
    }
  }
  return req;
}

base::json::Value encode_request(const Request& req) {
  base::json::Value v = base::json::Value::object();
  // The token first: the server checks the start of a long request (many
  // IDs) before reading the rest of it (admin_server.h).
  if (!req.token.empty()) v.set("token", req.token);
  v.set("cmd", to_string(req.command));
  const Selector& sel = req.selector;
  if (!sel.ids.empty()) {
    base::json::Value ids = base::json::Value::array();
    for (const auto& id : sel.ids) ids.push(id);
    v.set("ids", std::move(ids));
  }
  if (!sel.domain.empty()) v.set("domain", sel.domain);
  if (!req.domain.empty()) v.set("domain", req.domain);
  if (!sel.sender.empty()) v.set("sender", sel.sender);
  if (sel.state) v.set("state", to_string(*sel.state));
  if (sel.all) v.set("all", true);
  if (!req.id.empty()) v.set("id", req.id);
  if (!req.reason.empty()) v.set("reason", req.reason);
  return v;
}

void SummaryBuilder::add(const queue::Envelope& env, MessageState state) {
  ++total_;
  std::map<std::string, uint64_t> here;  // domain -> pending recipients in this message
  for (const auto& r : env.recipients) {
    if (r.state != queue::RecipientState::Pending) continue;
    const std::string domain = mail::recipient_domain(r.address);
    ++here[domain];
    DomainSummary& d = by_domain_[domain];
    if (r.last_attempt_ms > d.last_attempt_ms && !r.last_reply.empty()) {
      d.last_attempt_ms = r.last_attempt_ms;
      d.last_error = r.last_reply;
    }
  }
  for (const auto& [domain, count] : here) {
    DomainSummary& d = by_domain_[domain];
    d.domain = domain;
    ++d.messages;
    d.recipients += count;
    d.deferred += state == MessageState::Deferred;
    d.held += state == MessageState::Held;
    if (d.oldest_arrival_ms == 0 || env.arrival_ms < d.oldest_arrival_ms) d.oldest_arrival_ms = env.arrival_ms;
  }
}

std::vector<DomainSummary> SummaryBuilder::finish() const {
  std::vector<DomainSummary> out;
  out.reserve(by_domain_.size());
  for (const auto& [domain, d] : by_domain_) out.push_back(d);
  std::stable_sort(out.begin(), out.end(), [](const DomainSummary& a, const DomainSummary& b) {
    return a.messages > b.messages;
  });
  return out;
}

base::json::Value summary_json(const std::vector<DomainSummary>& rows, int64_t now_ms) {
  base::json::Value arr = base::json::Value::array();
  for (const DomainSummary& d : rows) {
    base::json::Value o = base::json::Value::object();
    o.set("domain", d.domain);
    o.set("messages", d.messages);
    o.set("recipients", d.recipients);
    o.set("deferred", d.deferred);
    o.set("held", d.held);
    o.set("oldest_age_seconds", std::max<int64_t>(0, (now_ms - d.oldest_arrival_ms) / 1000));
    o.set("oldest_arrival", iso8601(d.oldest_arrival_ms));
    o.set("last_attempt", d.last_attempt_ms ? base::json::Value(iso8601(d.last_attempt_ms)) : base::json::Value());
    o.set("last_error", d.last_error);
    arr.push(std::move(o));
  }
  return arr;
}

base::json::Value list_entry_json(const queue::Envelope& e, MessageState state) {
  base::json::Value o = base::json::Value::object();
  o.set("id", e.id);
  o.set("sender", e.sender);
  base::json::Value rcpts = base::json::Value::array();
  for (const auto& r : e.recipients) rcpts.push(r.address);
  o.set("recipients", std::move(rcpts));
  o.set("size", e.size);
  o.set("arrival", iso8601(e.arrival_ms));
  o.set("arrival_unix", e.arrival_ms / 1000);
  o.set("state", to_string(state));
  return o;
}

base::json::Value show_json(const queue::Envelope& e, MessageState state, std::string_view headers) {
  base::json::Value o = list_entry_json(e, state);
  o.set("arrival_ms", e.arrival_ms);
  o.set("held", (e.flags & queue::kFlagHeld) != 0);
  o.set("notice", (e.flags & queue::kFlagBounce) != 0);
  o.set("helo", e.helo);
  o.set("client_address", e.client_address);
  o.set("auth_identity", e.auth_identity);
  o.set("envid", e.envid);
  o.set("ret", e.ret == queue::Ret::Full ? "FULL" : e.ret == queue::Ret::Headers ? "HDRS" : "");
  o.set("smtputf8", e.smtputf8);
  base::json::Value rcpts = base::json::Value::array();
  for (const auto& r : e.recipients) {
    base::json::Value x = base::json::Value::object();
    x.set("address", r.address);
    x.set("orcpt", r.orcpt);
    x.set("notify", static_cast<int64_t>(r.notify));
    x.set("state", r.state == queue::RecipientState::Delivered ? "delivered"
                   : r.state == queue::RecipientState::Failed  ? "failed"
                                                               : "pending");
    x.set("attempts", static_cast<int64_t>(r.attempts));
    x.set("last_attempt", r.last_attempt_ms ? base::json::Value(iso8601(r.last_attempt_ms)) : base::json::Value());
    x.set("next_attempt", r.state == queue::RecipientState::Pending ? base::json::Value(iso8601(r.next_attempt_ms))
                                                                    : base::json::Value());
    x.set("next_attempt_ms", r.next_attempt_ms);
    x.set("last_reply", r.last_reply);
    x.set("remote_mta", r.remote_mta);
    x.set("delay_warned", r.delay_warned);
    rcpts.push(std::move(x));
  }
  o.set("recipient_states", std::move(rcpts));
  o.set("headers", std::string(headers));
  return o;
}

std::string header_section(std::string_view body, size_t max_bytes) {
  size_t end = body.find("\r\n\r\n");
  size_t lf = body.find("\n\n");
  if (end != std::string_view::npos) end += 2;
  if (lf != std::string_view::npos && (end == std::string_view::npos || lf + 1 < end)) end = lf + 1;
  if (end == std::string_view::npos) end = body.size();
  return std::string(body.substr(0, std::min(end, max_bytes)));
}

}  // namespace ringmta::admin
