// admin/mailbox_protocol.cpp — see mailbox_protocol.h.
#include "admin/mailbox_protocol.h"

#include <algorithm>

#include "base/base64.h"

namespace ringmta::admin {
namespace {

constexpr std::string_view kAppend = "mailbox_append";
constexpr std::string_view kPurge = "mailbox_purge";
constexpr std::string_view kStage = "mailbox_stage";

bool field_allowed(MailboxRequest::Kind kind, std::string_view key) {
  if (key == "cmd" || key == "token") return true;
  switch (kind) {
    case MailboxRequest::Kind::Append: return key == "user" || key == "mailbox" || key == "create" || key == "messages";
    case MailboxRequest::Kind::Purge: return key == "user";
    case MailboxRequest::Kind::Stage: return key == "stage" || key == "offset" || key == "data";
  }
  return false;
}

bool valid_stage_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxStageId && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

}  // namespace

std::string mailbox_user_problem(std::string_view user) {
  if (user.empty() || user.size() > 255) return "a user name is 1 to 255 bytes";
  if (std::any_of(user.begin(), user.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7F; }))
    return "a user name has no blanks or control characters";
  return "";
}

std::string mailbox_name_problem(std::string_view name) {
  if (name.empty() || name.size() > 1024) return "a mailbox name is 1 to 1024 bytes";
  if (name.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos)
    return "a mailbox name has no NUL, CR or LF";
  return "";
}

bool is_mailbox_request(const base::json::Value& v) {
  const base::json::Value* cmd = v.is_object() ? v.get("cmd") : nullptr;
  return cmd && cmd->is_string() && cmd->as_string().rfind("mailbox_", 0) == 0;
}

std::optional<MailboxRequest> parse_mailbox_request(const base::json::Value& v, std::string* error) {
  auto fail = [error](std::string why) {
    *error = std::move(why);
    return std::nullopt;
  };
  if (!is_mailbox_request(v)) return fail("not a mailbox command");
  MailboxRequest req;
  const std::string& cmd = v.get("cmd")->as_string();
  if (cmd == kAppend) {
    req.kind = MailboxRequest::Kind::Append;
  } else if (cmd == kPurge) {
    req.kind = MailboxRequest::Kind::Purge;
  } else if (cmd == kStage) {
    req.kind = MailboxRequest::Kind::Stage;
  } else {
    return fail("unknown command '" + cmd.substr(0, 32) + "'");
  }
  for (const auto& [key, value] : v.members())
    if (!field_allowed(req.kind, key)) return fail("'" + key.substr(0, 32) + "' is not a field of '" + cmd + "'");
  if (const base::json::Value* t = v.get("token"); t && t->is_string()) req.token = t->as_string();
  if (req.kind == MailboxRequest::Kind::Stage) {
    const base::json::Value* stage = v.get("stage");
    if (!stage || !stage->is_string() || !valid_stage_id(stage->as_string()))
      return fail("mailbox_stage needs 'stage': 1 to 64 of A-Z a-z 0-9 _ . -");
    req.stage = stage->as_string();
    const base::json::Value* offset = v.get("offset");
    if (!offset || !offset->is_int() || offset->as_int() < 0 ||
        static_cast<uint64_t>(offset->as_int()) >= kMaxStagedBytes)
      return fail("mailbox_stage needs 'offset' (0 or where the stage ends)");
    req.offset = static_cast<uint64_t>(offset->as_int());
    const base::json::Value* data = v.get("data");
    auto raw = data && data->is_string() ? base::base64_decode(data->as_string()) : std::nullopt;
    if (!raw || raw->empty() || raw->size() > kMaxAppendBytes)
      return fail("mailbox_stage needs 'data': non-empty base64 of at most " + std::to_string(kMaxAppendBytes >> 20) +
                  " MiB");
    req.data = std::move(*raw);
    return req;
  }
  const base::json::Value* user = v.get("user");
  if (!user || !user->is_string()) return fail(cmd + " needs 'user' (a string)");
  if (std::string p = mailbox_user_problem(user->as_string()); !p.empty()) return fail("bad user: " + p);
  req.user = user->as_string();
  if (req.kind == MailboxRequest::Kind::Purge) return req;

  const base::json::Value* mailbox = v.get("mailbox");
  if (!mailbox || !mailbox->is_string()) return fail("mailbox_append needs 'mailbox' (a string)");
  if (std::string p = mailbox_name_problem(mailbox->as_string()); !p.empty()) return fail("bad mailbox name: " + p);
  req.mailbox = mailbox->as_string();
  if (const base::json::Value* c = v.get("create")) {
    if (!c->is_bool()) return fail("'create' must be true or false");
    req.create = c->as_bool();
  }
  const base::json::Value* messages = v.get("messages");
  if (!messages || !messages->is_array() || messages->items().empty() ||
      messages->items().size() > kMaxAppendMessages)
    return fail("'messages' must be a non-empty array (at most " + std::to_string(kMaxAppendMessages) + ")");
  size_t total = 0;
  for (const base::json::Value& m : messages->items()) {
    const base::json::Value* body = m.is_object() ? m.get("body") : nullptr;
    const base::json::Value* staged = m.is_object() ? m.get("staged") : nullptr;
    if ((!body || !body->is_string()) == (!staged || !staged->is_string()))
      return fail("each message needs 'body' (base64) or 'staged' (a stage id)");
    for (const auto& [key, value] : m.members())
      if (key != "body" && key != "staged" && key != "flags" && key != "date_ms")
        return fail("'" + key.substr(0, 32) + "' is not a field of a message");
    MailboxAppendMessage out;
    if (staged) {
      if (!valid_stage_id(staged->as_string())) return fail("bad stage id in 'staged'");
      out.staged = staged->as_string();
    } else {
      auto raw = base::base64_decode(body->as_string());
      if (!raw || raw->empty()) return fail("a message 'body' is not non-empty base64");
      out.body = std::move(*raw);
      total += out.body.size();
    }
    if (const base::json::Value* f = m.get("flags")) {
      if (!f->is_int() || f->as_int() < 0 || f->as_int() > 31) return fail("'flags' must be an integer 0..31");
      out.flags = static_cast<uint8_t>(f->as_int());
    }
    if (const base::json::Value* d = m.get("date_ms")) {
      if (!d->is_int() || d->as_int() < 0) return fail("'date_ms' must be a non-negative integer (unix ms)");
      out.date_ms = d->as_int();
    }
    req.messages.push_back(std::move(out));
  }
  if (total > kMaxAppendBytes)
    return fail("the messages of one request hold more than " + std::to_string(kMaxAppendBytes >> 20) + " MiB");
  return req;
}

base::json::Value encode_mailbox_request(const MailboxRequest& req) {
  base::json::Value v = base::json::Value::object();
  if (!req.token.empty()) v.set("token", req.token);
  v.set("cmd", req.kind == MailboxRequest::Kind::Append ? kAppend
               : req.kind == MailboxRequest::Kind::Purge ? kPurge
                                                         : kStage);
  if (req.kind == MailboxRequest::Kind::Stage) {
    v.set("stage", req.stage);
    v.set("offset", req.offset);
    v.set("data", base::base64_encode(req.data));
    return v;
  }
  v.set("user", req.user);
  if (req.kind == MailboxRequest::Kind::Purge) return v;
  v.set("mailbox", req.mailbox);
  v.set("create", req.create);
  base::json::Value list = base::json::Value::array();
  for (const MailboxAppendMessage& m : req.messages) {
    base::json::Value o = base::json::Value::object();
    if (m.staged.empty()) {
      o.set("body", base::base64_encode(m.body));
    } else {
      o.set("staged", m.staged);
    }
    o.set("flags", static_cast<int64_t>(m.flags));
    o.set("date_ms", m.date_ms);
    list.push(std::move(o));
  }
  v.set("messages", std::move(list));
  return v;
}

}  // namespace ringmta::admin
