// access/imap_append.cpp — APPEND (RFC 9051 §6.3.12) with UIDPLUS's
// APPENDUID (RFC 4315) and the quota (RFC 9208 [OVERQUOTA]).
//
// The message arrived whole as the command's literal (the assembler enforced
// APPENDLIMIT). Its MIME structure is parsed on a reader thread, as local
// delivery does, so FETCH never parses it again; then one step on the owner
// shard appends it and commits the body, its structure and the new message
// record in one batch.
#include <spdlog/spdlog.h>

#include <ctime>

#include "access/imap_session.h"
#include "base/clock.h"
#include "mail/mime.h"
#include "mailbox/store.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

namespace iv = imap_view;

namespace {

// "dd-Mon-yyyy hh:mm:ss +zzzz" (the parser checked the shape; the day may
// start with a space) to unix ms; nullopt if it is not a real moment.
std::optional<int64_t> parse_date_time(std::string_view s) {
  if (s.size() != 26 && s.size() != 25) return std::nullopt;
  if (s.size() == 25) {  // "d-Mon-..." written without the pad
    static thread_local std::string padded;
    padded = " ";
    padded += s;
    s = padded;
  }
  auto num = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      const char ch = s[i] == ' ' ? '0' : s[i];
      if (ch < '0' || ch > '9') return -1;
      v = v * 10 + (ch - '0');
    }
    return v;
  };
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const size_t mpos = kMonths.find(s.substr(3, 3));
  if (mpos == std::string_view::npos || mpos % 3) return std::nullopt;
  std::tm tm{};
  tm.tm_mday = num(0, 2);
  tm.tm_mon = static_cast<int>(mpos / 3);
  tm.tm_year = num(7, 4) - 1900;
  tm.tm_hour = num(12, 2);
  tm.tm_min = num(15, 2);
  tm.tm_sec = num(18, 2);
  const int zone = num(22, 4);
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || zone < 0)
    return std::nullopt;
  const int64_t offset = ((zone / 100) * 60 + zone % 100) * 60 * (s[21] == '-' ? -1 : 1);
  const int64_t t = static_cast<int64_t>(timegm(&tm)) - offset;
  return t * 1000;
}

}  // namespace

void ImapSession::cmd_append(imap::Command& cmd) {
  const std::optional<std::string> name = iv::client_name(cmd.mailbox, shared_->modes);
  if (!name) return reply(cmd.tag, "NO [TRYCREATE] No such mailbox");
  uint8_t bits = 0;
  std::vector<std::string> keywords;
  if (!iv::parse_flags(cmd.flags, bits, keywords)) return bad(cmd.tag, "Unknown system flag");
  int64_t date = base::unix_ms();
  if (!cmd.date_time.empty()) {
    auto d = parse_date_time(cmd.date_time);
    if (!d) return bad(cmd.tag, "Invalid date-time");
    date = *d;
  }
  if (cmd.message.empty()) return reply(cmd.tag, "NO [CANNOT] An empty message cannot be stored");
  const uint64_t quota = shard_.quota_of ? shard_.quota_of(user_) : 0;
  if (quota && shard_.mailbox && shard_.mailbox->totals(user_).bytes + cmd.message.size() > quota)
    return reply(cmd.tag, "NO [OVERQUOTA] Quota exceeded");
  busy_ = true;
  // A body id no queue message and no other APPEND uses: this shard's own
  // generator (its shard number is outside the queue shards' range).
  const std::string body_id = shard_.body_ids->next();
  auto body = std::make_shared<std::string>(std::move(cmd.message));
  auto structure = std::make_shared<std::string>();
  ImapShard* home = &shard_;
  const uint64_t number = number_;
  const std::string tag = cmd.tag;
  shard_.mailbox->read<bool>(
      *shard_.reactor,
      [body, structure] {
        *structure = mail::encode_structure(mail::parse_mime(*body));
        return true;
      },
      [home, number, tag, name = *name, bits, keywords, date, body_id, body, structure, quota](bool) {
        auto it = home->sessions.find(number);
        if (it == home->sessions.end()) return;
        it->second->on_owner(tag, [tag, name, bits, keywords, date, body_id, body, structure, quota](Owner& o,
                                                                                                   Finish finish) {
          const mailbox::Mailbox* mb = o.state.find(name);
          if (!mb || (mb->attributes & iv::kNoselect)) {
            o.service.finish(o.ticket, true);
            return finish(tag + " NO [TRYCREATE] No such mailbox\r\n");
          }
          if (quota && o.state.totals().bytes + body->size() > quota) {
            o.service.finish(o.ticket, true);
            return finish(tag + " NO [OVERQUOTA] Quota exceeded\r\n");
          }
          mailbox::NewMessage nm;
          nm.body_id = body_id;
          nm.size = body->size();
          nm.internal_date_ms = date;
          nm.flags = bits;
          nm.keywords = keywords;
          queue::Batch batch;
          uint32_t uid = 0;
          const uint32_t uidvalidity = mb->uidvalidity;
          queue::Status st = o.state.append(batch, name, nm, base::unix_ms(), uid);
          if (!st.ok()) {
            o.service.finish(o.ticket, false);
            return finish(tag + " NO [CANNOT] " + st.message + "\r\n");
          }
          mailbox::put_body(batch, o.service.families(), body_id, std::move(*body), std::move(*structure));
          o.service.commit(o.ticket, std::move(batch), [tag, finish, uid, uidvalidity, name, state = &o.state,
                                                        keep = o.keep, user = &o.user](queue::Status s) {
            if (!s.ok()) return finish(tag + " NO [SERVERBUG] Cannot store the message\r\n");
            std::string out;
            // Appending to the selected mailbox: the client hears of it now.
            if (keep->view.selected && state->find(name) && state->find(name)->id == keep->view.mailbox_id)
              iv::sync(out, keep->view, state->find(name), *user, keep->modes, true);
            finish(out + tag + " OK [APPENDUID " + std::to_string(uidvalidity) + " " + std::to_string(uid) +
                   "] APPEND completed\r\n");
          });
        });
      });
}

}  // namespace ringmta::access
