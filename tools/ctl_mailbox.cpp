// tools/ctl_mailbox.cpp — see ctl_mailbox.h: the user name rule, the
// read-only store, `mailbox list`, `show` and `purge`. Import and export
// are in ctl_mailbox_io.cpp.
#include "tools/ctl_mailbox.h"

#include <cstdio>
#include <filesystem>

#include "admin/admin_protocol.h"
#include "admin/mailbox_protocol.h"
#include "mail/mime.h"
#include "mail/text_escape.h"
#include "mailbox/user_state.h"
#include "tools/mailbox_formats.h"

namespace ringmta::tools {
namespace {

void out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

// What a user's name or a header shows on a terminal: escaped (mail/text_escape.h).
std::string esc(std::string_view s) { return mail::escape_for_log(s); }

base::json::Value flag_list(const mailbox::Message& m) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {
      {mailbox::kSeen, "\\Seen"},       {mailbox::kAnswered, "\\Answered"}, {mailbox::kFlagged, "\\Flagged"},
      {mailbox::kDeleted, "\\Deleted"}, {mailbox::kDraft, "\\Draft"},
  };
  base::json::Value list = base::json::Value::array();
  for (const auto& [bit, name] : kNames)
    if (m.flags & bit) list.push(name);
  for (const std::string& k : m.keywords) list.push(k);
  return list;
}

std::string flag_text(const mailbox::Message& m) {
  std::string text;
  const base::json::Value flags = flag_list(m);
  for (const base::json::Value& f : flags.items()) text += (text.empty() ? "" : " ") + f.as_string();
  return text.empty() ? "-" : text;
}

int list_users(const CtlTarget& target, bool json) {
  std::unique_ptr<queue::Queue> q;
  mailbox::Families f;
  if (int rc = open_mail_store(target.data_dir, q, f); rc != 0) return rc;
  if (!json) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%-40s %10s %14s\n", "USER", "MESSAGES", "BYTES");
    out(buf);
  }
  uint64_t users = 0;
  auto st = mailbox::list_users(*q, f, [&](std::string_view user, const mailbox::Totals& t) {
    ++users;
    if (json) {
      base::json::Value v = base::json::Value::object();
      v.set("user", std::string(user));
      v.set("messages", t.messages);
      v.set("bytes", t.bytes);
      out(base::json::dump(v) + "\n");
    } else {
      char buf[512];
      std::snprintf(buf, sizeof buf, "%-40s %10llu %14llu\n", esc(user).c_str(),
                    static_cast<unsigned long long>(t.messages), static_cast<unsigned long long>(t.bytes));
      out(buf);
    }
    return true;
  });
  // A store never written by a daemon with mailboxes has no families: no users.
  if (!st.ok() && st.code != queue::Status::Code::InvalidArgument)
    return mailbox_fail("cannot list the mail store: " + st.message);
  if (!json) out("total: " + std::to_string(users) + " user(s)\n");
  return 0;
}

int show_user(const CtlTarget& target, const std::string& user, bool json) {
  std::unique_ptr<queue::Queue> q;
  mailbox::Families f;
  if (int rc = open_mail_store(target.data_dir, q, f); rc != 0) return rc;
  mailbox::UserState state;
  auto st = mailbox::load_user(*q, f, user, state);
  if (st.code == queue::Status::Code::InvalidArgument || (st.ok() && state.mailboxes().empty()))
    return mailbox_fail("no mailbox for user " + esc(user));
  if (!st.ok()) return mailbox_fail("cannot read the mailboxes of " + esc(user) + ": " + st.message);

  base::json::Value boxes = base::json::Value::array();
  std::string body;
  for (const auto& [id, mb] : state.mailboxes()) {
    uint64_t bytes = 0;
    for (const mailbox::Message& m : mb.messages) bytes += m.size;
    base::json::Value box = base::json::Value::object();
    box.set("name", mb.name);
    box.set("uidvalidity", static_cast<int64_t>(mb.uidvalidity));
    box.set("uidnext", static_cast<int64_t>(mb.uidnext));
    box.set("highest_modseq", mb.highest_modseq);
    box.set("messages", static_cast<uint64_t>(mb.messages.size()));
    box.set("bytes", bytes);
    base::json::Value list = base::json::Value::array();
    for (const mailbox::Message& m : mb.messages) {
      base::json::Value o = base::json::Value::object();
      o.set("uid", static_cast<int64_t>(m.uid));
      o.set("size", m.size);
      o.set("date", admin::iso8601(m.internal_date_ms));
      o.set("date_ms", m.internal_date_ms);
      o.set("flags", flag_list(m));
      o.set("modseq", m.modseq);
      o.set("body_id", m.body_id);  // shared by the copies of one delivery (stored once)
      // The MIME structure parsed at delivery (mail/mime.h): its part count,
      // 0 when none is stored (or it does not decode).
      std::string blob;
      uint64_t parts = 0;
      if (mailbox::read_structure(*q, f, m.body_id, blob).ok())
        if (auto st = mail::decode_structure(blob)) parts = st->parts.size();
      o.set("mime_parts", parts);
      std::string subject, from;
      if (mailbox::read_body(*q, f, m.body_id, body).ok()) {
        subject = first_header(body, "Subject");
        from = first_header(body, "From");
      } else {
        o.set("body_missing", true);
      }
      // JSON carries text, not arbitrary bytes: header bytes that are not
      // UTF-8 come out escaped there too.
      o.set("subject", esc(subject));
      o.set("from", esc(from));
      list.push(std::move(o));
    }
    box.set("list", std::move(list));
    boxes.push(std::move(box));
  }
  if (json) {
    base::json::Value v = base::json::Value::object();
    v.set("user", user);
    v.set("messages", state.totals().messages);
    v.set("bytes", state.totals().bytes);
    v.set("mailboxes", std::move(boxes));
    out(base::json::dump(v) + "\n");
    return 0;
  }
  out("user: " + esc(user) + "\n");
  out("total: " + std::to_string(state.totals().messages) + " message(s), " + std::to_string(state.totals().bytes) +
      " bytes\n");
  for (const base::json::Value& box : boxes.items()) {
    out("\nmailbox " + esc(box.get("name")->as_string()) + "  uidvalidity=" +
        std::to_string(box.get("uidvalidity")->as_int()) + "  uidnext=" + std::to_string(box.get("uidnext")->as_int()) +
        "  messages=" + std::to_string(box.get("messages")->as_int()) +
        "  bytes=" + std::to_string(box.get("bytes")->as_int()) + "\n");
    if (box.get("list")->items().empty()) continue;
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %8s %10s  %-20s  %-28s  %s\n", "UID", "SIZE", "DATE", "FLAGS", "SUBJECT (FROM)");
    out(buf);
    const auto& msgs = state.find(box.get("name")->as_string())->messages;
    for (size_t i = 0; i < msgs.size(); ++i) {
      const base::json::Value& o = box.get("list")->items()[i];
      std::snprintf(buf, sizeof buf, "  %8lld %10lld  %-20s  %-28s  ", static_cast<long long>(o.get("uid")->as_int()),
                    static_cast<long long>(o.get("size")->as_int()), o.get("date")->as_string().c_str(),
                    flag_text(msgs[i]).c_str());
      std::string line = std::string(buf) + o.get("subject")->as_string().substr(0, 100);
      if (!o.get("from")->as_string().empty()) line += " (" + o.get("from")->as_string().substr(0, 80) + ")";
      out(line + "\n");
    }
  }
  return 0;
}

int purge_user(const CtlTarget& target, const std::string& user, bool json) {
  if (!target.endpoint) return 2;
  admin::MailboxRequest req;
  req.kind = admin::MailboxRequest::Kind::Purge;
  req.user = user;
  req.token = target.token;
  admin::AdminClient client;
  std::string error;
  const auto connected = client.connect(*target.endpoint, &error);
  if (connected == admin::AdminClient::ConnectResult::NotRunning)
    return mailbox_fail("the ringmta daemon is not running (nothing listens at " + target.endpoint->text +
                        "); `mailbox purge` needs it");
  if (connected != admin::AdminClient::ConnectResult::Ok) return mailbox_fail(error);
  auto resp = client.call(admin::encode_mailbox_request(req), target.timeout_seconds);
  if (!resp) return mailbox_fail(resp.error());
  const base::json::Value* ok = resp->get("ok");
  if (!ok || !ok->is_bool() || !ok->as_bool()) {
    const base::json::Value* e = resp->get("error");
    return mailbox_fail(e && e->is_string() ? esc(e->as_string()) : "the daemon said no");
  }
  if (json) {
    out(base::json::dump(*resp) + "\n");
  } else {
    const base::json::Value* n = resp->get("messages");
    const base::json::Value* b = resp->get("bytes");
    out("purged " + esc(user) + ": " + std::to_string(n ? n->as_int() : 0) + " message(s), " +
        std::to_string(b ? b->as_int() : 0) + " bytes\n");
  }
  return 0;
}

}  // namespace

int mailbox_fail(const std::string& message, int rc) {
  std::fprintf(stderr, "ringmtactl: %s\n", message.c_str());
  return rc;
}

int open_mail_store(const std::string& data_dir, std::unique_ptr<queue::Queue>& q, mailbox::Families& f) {
  const auto path = (std::filesystem::path(data_dir) / "queue").string();
  if (!std::filesystem::exists(path)) return mailbox_fail("no queue at " + path + " (wrong --data-dir?)");
  std::vector<queue::ExtraFamily> extras;
  f = mailbox::register_families(extras);
  auto st = queue::open_rocksdb_queue_readonly(path, q, extras);
  if (!st.ok()) return mailbox_fail("cannot open the mail store at " + path + ": " + st.message);
  return 0;
}

std::string canonical_mailbox_user(const std::string& name, const config::Config& config, std::string* error) {
  std::string user;
  for (char c : name) user += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  if (user.find('@') == std::string::npos) {
    if (config.relay.local_domains.empty()) {
      *error = "'" + esc(name) + "' has no domain and no relay.local_domains is configured: give the full address "
               "(user@domain) or --config FILE";
      return "";
    }
    user += "@" + config.relay.local_domains.front();
  }
  if (std::string p = admin::mailbox_user_problem(user); !p.empty()) {
    *error = "bad user '" + esc(name) + "': " + p;
    return "";
  }
  return user;
}

// The stored bytes of one message, unchanged (CRLF line ends as delivered).
int cat_message(const CtlTarget& target, const MailboxCommand& cmd) {
  std::unique_ptr<queue::Queue> q;
  mailbox::Families f;
  if (int rc = open_mail_store(target.data_dir, q, f); rc != 0) return rc;
  mailbox::UserState state;
  if (auto s = mailbox::load_user(*q, f, cmd.user, state); !s.ok())
    return mailbox_fail("cannot read " + cmd.user + ": " + s.message);
  const std::string name = cmd.mailbox.empty() ? std::string(mailbox::kInbox) : cmd.mailbox;
  const mailbox::Mailbox* mb = state.find(name);
  const mailbox::Message* m = mb ? mailbox::UserState::find_message(*mb, cmd.uid) : nullptr;
  if (!m) return mailbox_fail("no message " + std::to_string(cmd.uid) + " in " + cmd.user + "'s " + name);
  std::string body;
  if (auto s = mailbox::read_body(*q, f, m->body_id, body); !s.ok())
    return mailbox_fail("cannot read message " + std::to_string(cmd.uid) + ": " + s.message);
  return std::fwrite(body.data(), 1, body.size(), stdout) == body.size() ? 0 : 1;
}

int run_mailbox_command(const CtlTarget& target, const config::Config& config, const MailboxCommand& given) {
  MailboxCommand cmd = given;
  if (cmd.verb != MailboxCommand::Verb::List) {
    std::string error;
    cmd.user = canonical_mailbox_user(given.user, config, &error);
    if (cmd.user.empty()) return mailbox_fail(error, 2);
  }
  switch (cmd.verb) {
    case MailboxCommand::Verb::List: return list_users(target, cmd.json);
    case MailboxCommand::Verb::Show: return show_user(target, cmd.user, cmd.json);
    case MailboxCommand::Verb::Purge: return purge_user(target, cmd.user, cmd.json);
    case MailboxCommand::Verb::Import: return mailbox_import(target, config, cmd);
    case MailboxCommand::Verb::Export: return mailbox_export(target, cmd);
    case MailboxCommand::Verb::Cat: return cat_message(target, cmd);
  }
  return 2;
}

}  // namespace ringmta::tools
