// tools/ctl_queue.cpp — see ctl_queue.h.
#include "tools/ctl_queue.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "mail/text_escape.h"
#include "queue/queue.h"
#include "base/clock.h"

namespace ringmta::tools {

namespace {

using admin::Command;


void out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

int fail(const std::string& message, int rc = 1) {
  std::fprintf(stderr, "ringmtactl: %s\n", message.c_str());
  return rc;
}

std::string age_text(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  if (seconds < 172800) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

// A string field for the terminal. Queue data holds what clients and remote
// servers sent (addresses, HELO, ENVID, replies, headers): control bytes and
// bad UTF-8 come out escaped (mail/text_escape.h), never raw. --json output
// is escaped by the JSON writer instead.
std::string str(const base::json::Value* v) {
  return v && v->is_string() ? mail::escape_for_log(v->as_string()) : std::string();
}
int64_t num(const base::json::Value* v) { return v && v->is_number() ? v->as_int() : 0; }

const std::vector<base::json::Value>& items(const base::json::Value& v, std::string_view key) {
  static const std::vector<base::json::Value> none;
  const base::json::Value* f = v.get(key);
  return f && f->is_array() ? f->items() : none;
}

// ---------------------------------------------------------------- printing

// The `queue list` line, unchanged from earlier versions: ID, size, arrival, <sender> <rcpt>...
void print_list(const base::json::Value& resp, bool as_json) {
  for (const base::json::Value& m : items(resp, "messages")) {
    if (as_json) {
      out(base::json::dump(m) + "\n");
      continue;
    }
    std::string line = str(m.get("id")) + "  " + std::to_string(num(m.get("size"))) + "  " + str(m.get("arrival")) +
                       "  <" + str(m.get("sender")) + ">";
    for (const base::json::Value& r : items(m, "recipients")) line += " <" + str(&r) + ">";
    out(line + "\n");
  }
}

void print_summary(const base::json::Value& resp, bool as_json) {
  if (as_json) {
    out(base::json::dump(resp) + "\n");
    return;
  }
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-32s %8s %8s %8s %6s %7s  %s\n", "DOMAIN", "MESSAGES", "RCPTS", "DEFERRED", "HELD",
                "OLDEST", "LAST ERROR");
  out(buf);
  for (const base::json::Value& d : items(resp, "destinations")) {
    std::snprintf(buf, sizeof buf, "%-32s %8lld %8lld %8lld %6lld %7s  ", str(d.get("domain")).c_str(),
                  static_cast<long long>(num(d.get("messages"))), static_cast<long long>(num(d.get("recipients"))),
                  static_cast<long long>(num(d.get("deferred"))), static_cast<long long>(num(d.get("held"))),
                  age_text(num(d.get("oldest_age_seconds"))).c_str());
    const base::json::Value* e = d.get("last_error");
    const std::string error = e && e->is_string() ? e->as_string().substr(0, 200) : std::string();
    out(std::string(buf) + mail::escape_for_log(error) + "\n");
  }
  out("total: " + std::to_string(num(resp.get("total"))) + " message(s)\n");
  std::string suspended;
  for (const base::json::Value& s : items(resp, "suspended")) suspended += " " + str(&s);
  if (!suspended.empty()) out("suspended destinations:" + suspended + "\n");
  std::string down;
  for (const base::json::Value& d : items(resp, "down"))
    down += " " + str(d.get("destination")) + " (" + std::to_string(num(d.get("seconds_left"))) + "s)";
  if (!down.empty()) out("down destinations:" + down + " (see destination list)\n");
}

void print_show(const base::json::Value& m, bool as_json) {
  if (as_json) {
    out(base::json::dump(m) + "\n");
    return;
  }
  const int64_t now = base::unix_ms();
  out("id: " + str(m.get("id")) + "\n");
  out("state: " + str(m.get("state")) + "\n");
  out("arrival: " + str(m.get("arrival")) + " (" + age_text((now - num(m.get("arrival_ms"))) / 1000) + " ago)\n");
  out("sender: <" + str(m.get("sender")) + ">\n");
  out("size: " + std::to_string(num(m.get("size"))) + "\n");
  out("client: " + str(m.get("helo")) + " [" + str(m.get("client_address")) + "]" +
      (str(m.get("auth_identity")).empty() ? "" : ", authenticated as " + str(m.get("auth_identity"))) + "\n");
  if (!str(m.get("envid")).empty()) out("envid: " + str(m.get("envid")) + "\n");
  if (!str(m.get("ret")).empty()) out("ret: " + str(m.get("ret")) + "\n");
  if (const base::json::Value* n = m.get("notice"); n && n->is_bool() && n->as_bool()) out("notice: yes (a DSN; never bounced)\n");
  out("recipients:\n");
  for (const base::json::Value& r : items(m, "recipient_states")) {
    std::string line = "  <" + str(r.get("address")) + ">  " + str(r.get("state")) +
                       "  attempts=" + std::to_string(num(r.get("attempts")));
    if (!str(r.get("last_attempt")).empty()) line += "  last=" + str(r.get("last_attempt"));
    if (!str(r.get("next_attempt")).empty()) line += "  next=" + str(r.get("next_attempt"));
    out(line + "\n");
    if (!str(r.get("last_reply")).empty()) out("      last reply: " + str(r.get("last_reply")) + "\n");
    if (!str(r.get("remote_mta")).empty()) out("      remote: " + str(r.get("remote_mta")) + "\n");
  }
  out("headers:\n");
  const base::json::Value* h = m.get("headers");
  const std::string headers = h && h->is_string() ? h->as_string() : std::string();
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t nl = headers.find('\n', pos);
    std::string line = headers.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out("  " + mail::escape_for_log(line, /*keep_tabs=*/true) + "\n");
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
}

int print_change(const admin::Request& req, const base::json::Value& resp, bool as_json) {
  const std::string verb(admin::to_string(req.command));
  int rc = 0;
  for (const base::json::Value& id : items(resp, "not_found")) {
    if (!req.selector.ids.empty()) {
      std::fprintf(stderr, "ringmtactl: no message with queue ID %s\n", str(&id).c_str());
      rc = 1;
    }
  }
  for (const base::json::Value& f : items(resp, "failed")) {
    std::fprintf(stderr, "ringmtactl: %s %s: %s\n", verb.c_str(), str(f.get("id")).c_str(), str(f.get("reason")).c_str());
    rc = 1;
  }
  if (as_json) {
    out(base::json::dump(resp) + "\n");
    return rc;
  }
  for (const base::json::Value& id : items(resp, "done")) out(str(&id) + ": " + verb + " done\n");
  for (const base::json::Value& u : items(resp, "unchanged"))
    out(str(u.get("id")) + ": unchanged (" + str(u.get("reason")) + ")\n");
  for (const base::json::Value& p : items(resp, "pending"))
    out(str(&p) + ": pending (a delivery attempt is running; applied when it ends)\n");
  out(verb + ": " + std::to_string(num(resp.get("matched"))) + " matched, " +
      std::to_string(items(resp, "done").size()) + " changed\n");
  if (const base::json::Value* down = resp.get("down_destinations_forgotten"); down && num(down) > 0)
    out(verb + ": " + std::to_string(num(down)) + " down destination(s) forgotten (mail for them is tried again)\n");
  return rc;
}

// ---------------------------------------------------------------- direct reads

int open_queue(const std::string& data_dir, std::unique_ptr<queue::Queue>& q) {
  auto path = (std::filesystem::path(data_dir) / "queue").string();
  if (!std::filesystem::exists(path)) return fail("no queue at " + path + " (wrong --data-dir?)");
  auto st = queue::open_rocksdb_queue_readonly(path, q);
  if (!st.ok()) return fail("cannot open the queue at " + path + ": " + st.message);
  return 0;
}

// summary / list / show without a daemon: the same shapes, built here.
std::optional<base::json::Value> direct(const std::string& data_dir, const admin::Request& req, int* rc) {
  std::unique_ptr<queue::Queue> q;
  if ((*rc = open_queue(data_dir, q)) != 0) return std::nullopt;
  const int64_t now = base::unix_ms();
  base::json::Value resp = base::json::Value::object();
  resp.set("ok", true);
  if (req.command == Command::Show) {
    queue::Envelope e;
    std::string body;
    auto st = q->read_envelope(req.id, e);
    if (st.ok()) st = q->read_body(req.id, body);
    if (st.code == queue::Status::Code::NotFound) {
      *rc = fail("no message with queue ID " + req.id);
      return std::nullopt;
    }
    if (!st.ok()) {
      *rc = fail("cannot read " + req.id + ": " + st.message);
      return std::nullopt;
    }
    resp.set("message", admin::show_json(e, admin::message_state(e, now, false), admin::header_section(body)));
    return resp;
  }
  admin::SummaryBuilder builder;
  base::json::Value messages = base::json::Value::array();
  auto visit = [&](const queue::Envelope& e) {
    const auto state = admin::message_state(e, now, false);
    if (req.command == Command::Summary) {
      builder.add(e, state);
    } else if (admin::matches(req.selector, e, state)) {
      messages.push(admin::list_entry_json(e, state));
    }
  };
  queue::Status st;
  if (!req.selector.ids.empty()) {
    for (const auto& id : req.selector.ids) {
      queue::Envelope e;
      if (q->read_envelope(id, e).ok()) visit(e);
    }
  } else {
    st = q->scan([&](const queue::Envelope& e) {
      visit(e);
      return true;
    });
  }
  if (!st.ok()) {
    *rc = fail("queue scan failed: " + st.message);
    return std::nullopt;
  }
  if (req.command == Command::Summary) {
    resp.set("total", builder.total_messages());
    resp.set("destinations", admin::summary_json(builder.finish(), now));
  } else {
    resp.set("messages", std::move(messages));
  }
  return resp;
}

}  // namespace

int run_ctl_request(const CtlTarget& target, const admin::Request& given, bool as_json) {
  admin::Request raw = given;
  raw.token = target.token;
  // The daemon checks again; checking here gives the same message without it.
  auto parsed = admin::parse_request(admin::encode_request(raw));
  if (!parsed) return fail(parsed.error(), 2);
  const admin::Request& req = *parsed;
  if (!target.endpoint) return 2;

  std::optional<base::json::Value> resp;
  admin::AdminClient client;
  std::string error;
  const auto connected = client.connect(*target.endpoint, &error);
  if (connected == admin::AdminClient::ConnectResult::Ok) {
    auto answer = client.call(admin::encode_request(req), target.timeout_seconds);
    if (!answer) return fail(answer.error());
    resp = std::move(answer).value();
  } else if (admin::mutates(req.command) || req.command == Command::Destinations) {
    if (connected == admin::AdminClient::ConnectResult::NotRunning)
      return fail("the ringmta daemon is not running (nothing listens at " + target.endpoint->text + "); `" +
                  std::string(admin::to_string(req.command)) + "` needs it");
    return fail(error);
  } else {
    int rc = 0;
    resp = direct(target.data_dir, req, &rc);  // no daemon: read the queue itself
    if (!resp) return rc;
  }

  const base::json::Value* ok = resp->get("ok");
  const bool is_change = req.command == Command::Flush || req.command == Command::Delete ||
                         req.command == Command::Hold || req.command == Command::Release ||
                         req.command == Command::Bounce;
  if (is_change && resp->get("matched")) return print_change(req, *resp, as_json);
  if (!ok || !ok->is_bool() || !ok->as_bool()) return fail(str(resp->get("error")).empty() ? "the daemon said no" : str(resp->get("error")));
  switch (req.command) {
    case Command::Summary: print_summary(*resp, as_json); break;
    case Command::List: print_list(*resp, as_json); break;
    case Command::Show: {
      const base::json::Value* m = resp->get("message");
      if (!m) return fail("bad response: no message");
      print_show(*m, as_json);
      break;
    }
    case Command::Suspend:
    case Command::Resume:
      if (as_json) {
        out(base::json::dump(*resp) + "\n");
      } else {
        out("destination " + req.domain + (req.command == Command::Suspend ? " suspended" : " resumed"));
        if (resp->get("flushed")) out(" (" + std::to_string(num(resp->get("flushed"))) + " message(s) flushed)");
        out("\n");
      }
      break;
    case Command::Destinations:
      if (as_json) {
        out(base::json::dump(*resp) + "\n");
      } else {
        for (const base::json::Value& d : items(*resp, "suspended")) out(str(&d) + " suspended\n");
        // Down (delivery.destination_down_time): its jobs fail at once until
        // the time is up, then one probes. Keys are delivery routes:
        // "relayhost", "mx:DOMAIN" or "route:NEXTHOP", with "|tls=LEVEL" when
        // that route's TLS level differs from delivery.tls.
        for (const base::json::Value& d : items(*resp, "down"))
          out(str(d.get("destination")) + " down for " + std::to_string(num(d.get("seconds_left"))) + "s more: " +
              str(d.get("error")) + "\n");
        // [delivery.rate]: "rate gmail.com: 2/min, 0/h, 0 conn/min; 2 messages and 1 connections
        // let through, 3 held back, next in 25s" (summed over the shards).
        for (const base::json::Value& r : items(*resp, "rates")) {
          out("rate " + str(r.get("pattern")) + ": " + std::to_string(num(r.get("messages_per_minute"))) + "/min, " +
              std::to_string(num(r.get("messages_per_hour"))) + "/h, " +
              std::to_string(num(r.get("connections_per_minute"))) + " conn/min; " +
              std::to_string(num(r.get("messages"))) + " messages and " + std::to_string(num(r.get("connections"))) +
              " connections let through, " + std::to_string(num(r.get("limited"))) + " held back, next in " +
              std::to_string(num(r.get("seconds_to_next"))) + "s\n");
        }
      }
      break;
    case Command::Reload: out("reloaded\n"); break;
    default: out(base::json::dump(*resp) + "\n"); break;
  }
  return 0;
}

int run_queue_cat(const std::string& data_dir, const std::string& id) {
  std::unique_ptr<queue::Queue> q;
  if (int rc = open_queue(data_dir, q); rc != 0) return rc;
  std::string body;
  auto st = q->read_body(id, body);
  if (st.code == queue::Status::Code::NotFound) return fail("no message with queue ID " + id);
  if (!st.ok()) return fail("cannot read " + id + ": " + st.message);
  std::fwrite(body.data(), 1, body.size(), stdout);
  return 0;
}

}  // namespace ringmta::tools
