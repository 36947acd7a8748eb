// tools/ctl_mailbox.cpp — see ctl_mailbox.h.
#include "tools/ctl_mailbox.h"

#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/json.h"
#include "mailbox/store.h"
#include "mailbox/user_state.h"
#include "queue/queue.h"

namespace ringmta::tools {
namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "ringmtactl: %s\n", what.c_str());
  return 1;
}

int open_store(const std::string& data_dir, std::unique_ptr<queue::Queue>& q, mailbox::Families& f) {
  auto path = (std::filesystem::path(data_dir) / "queue").string();
  if (!std::filesystem::exists(path)) return fail("no queue at " + path + " (wrong --data-dir?)");
  std::vector<queue::ExtraFamily> extras;
  f = mailbox::register_families(extras);
  auto st = queue::open_rocksdb_queue_readonly(path, q, extras);
  if (!st.ok()) return fail("cannot open the mail store at " + path + ": " + st.message);
  return 0;
}

std::string flags_text(uint8_t flags) {
  std::string out;
  for (auto [bit, name] : {std::pair{mailbox::kSeen, "\\Seen"}, std::pair{mailbox::kAnswered, "\\Answered"},
                           std::pair{mailbox::kFlagged, "\\Flagged"}, std::pair{mailbox::kDeleted, "\\Deleted"},
                           std::pair{mailbox::kDraft, "\\Draft"}})
    if (flags & bit) out += (out.empty() ? "" : " ") + std::string(name);
  return out;
}

}  // namespace

int run_mailbox_list(const std::string& data_dir, bool json) {
  std::unique_ptr<queue::Queue> q;
  mailbox::Families f;
  if (int rc = open_store(data_dir, q, f); rc != 0) return rc;
  base::json::Value users = base::json::Value::array();
  auto st = mailbox::list_users(*q, f, [&](std::string_view user, const mailbox::Totals& t) {
    if (json) {
      base::json::Value u = base::json::Value::object();
      u.set("user", std::string(user));
      u.set("messages", t.messages);
      u.set("bytes", t.bytes);
      users.push(std::move(u));
    } else {
      std::printf("%s messages=%llu bytes=%llu\n", std::string(user).c_str(),
                  static_cast<unsigned long long>(t.messages), static_cast<unsigned long long>(t.bytes));
    }
    return true;
  });
  if (!st.ok()) return fail("cannot list the mail store: " + st.message);
  if (json) std::printf("%s\n", base::json::dump(users).c_str());
  return 0;
}

int run_mailbox_show(const std::string& data_dir, const std::string& user, bool json) {
  std::unique_ptr<queue::Queue> q;
  mailbox::Families f;
  if (int rc = open_store(data_dir, q, f); rc != 0) return rc;
  mailbox::UserState st;
  if (auto s = mailbox::load_user(*q, f, user, st); !s.ok()) return fail("cannot read " + user + ": " + s.message);
  if (st.mailboxes().empty()) return fail("no mailbox for " + user);
  base::json::Value boxes = base::json::Value::array();
  for (const auto& [id, mb] : st.mailboxes()) {
    base::json::Value msgs = base::json::Value::array();
    if (!json)
      std::printf("%s uidvalidity=%u uidnext=%u highestmodseq=%llu messages=%zu\n", mb.name.c_str(), mb.uidvalidity,
                  mb.uidnext, static_cast<unsigned long long>(mb.highest_modseq), mb.messages.size());
    for (const mailbox::Message& m : mb.messages) {
      if (json) {
        base::json::Value v = base::json::Value::object();
        v.set("uid", m.uid);
        v.set("size", m.size);
        v.set("internal_date_ms", m.internal_date_ms);
        v.set("body_id", m.body_id);
        v.set("flags", flags_text(m.flags));
        msgs.push(std::move(v));
      } else {
        std::printf("  uid=%u size=%llu date_ms=%lld body=%s flags=(%s)\n", m.uid,
                    static_cast<unsigned long long>(m.size), static_cast<long long>(m.internal_date_ms),
                    m.body_id.c_str(), flags_text(m.flags).c_str());
      }
    }
    if (json) {
      base::json::Value b = base::json::Value::object();
      b.set("name", mb.name);
      b.set("uidvalidity", mb.uidvalidity);
      b.set("uidnext", mb.uidnext);
      b.set("messages", std::move(msgs));
      boxes.push(std::move(b));
    }
  }
  if (json) std::printf("%s\n", base::json::dump(boxes).c_str());
  return 0;
}

int run_mailbox_cat(const std::string& data_dir, const std::string& user, uint32_t uid) {
  std::unique_ptr<queue::Queue> q;
  mailbox::Families f;
  if (int rc = open_store(data_dir, q, f); rc != 0) return rc;
  mailbox::UserState st;
  if (auto s = mailbox::load_user(*q, f, user, st); !s.ok()) return fail("cannot read " + user + ": " + s.message);
  const mailbox::Mailbox* inbox = st.find(mailbox::kInbox);
  const mailbox::Message* m = inbox ? mailbox::UserState::find_message(*inbox, uid) : nullptr;
  if (!m) return fail("no message " + std::to_string(uid) + " in " + user + "'s INBOX");
  std::string body;
  if (auto s = mailbox::read_body(*q, f, m->body_id, body); !s.ok())
    return fail("cannot read body " + m->body_id + ": " + s.message);
  return std::fwrite(body.data(), 1, body.size(), stdout) == body.size() ? 0 : 1;
}

}  // namespace ringmta::tools
