// tools/ctl_mailbox.h — `ringmtactl mailbox ...`: the mail store of local
// users (mailbox/).
//
//   mailbox list [--json]                  users with mail: messages, bytes
//   mailbox show USER [--json]             mailboxes (UIDVALIDITY, UIDNEXT, counts) and messages
//                                          (UID, size, date, flags, Subject, From)
//   mailbox purge USER                     every mailbox and message of USER removed
//   mailbox import USER --maildir DIR      a Maildir (INBOX in DIR, Maildir++ folders .Name)
//   mailbox import USER --mbox FILE [--mailbox NAME]   an mbox (mboxrd) into NAME (INBOX)
//   mailbox export USER --maildir DIR      every mailbox as a Maildir (DIR must be new or empty)
//   mailbox export USER --mbox FILE [--mailbox NAME]   one mailbox (INBOX) as an mbox (FILE must be new)
//   mailbox cat USER UID [--mailbox NAME]  one message's stored bytes to stdout
//
// Reads (list, show, export) open the store read-only (a RocksDB secondary
// instance, like `queue cat`): they work whether or not the daemon runs.
// Changes (purge, import) go through the daemon's admin API, so the user's
// owner shard stays the only writer; without a running daemon they fail
// with a clear message. Formats and line ends: tools/mailbox_formats.h.
//
// USER is the mailbox owner as local delivery names it: lower case, and a
// name without '@' gets "@" + the first relay.local_domains (so --config
// matters for bare names). With auth.users_file configured, import refuses
// a user who is not in it (mail nobody could log in to read).
// Exit codes: 0 ok, 1 not found / failed / daemon not running, 2 bad command line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "mailbox/store.h"
#include "tools/ctl_queue.h"

namespace ringmta::tools {

struct MailboxCommand {
  enum class Verb { List, Show, Purge, Import, Export, Cat } verb = Verb::List;
  std::string user;
  std::string maildir;  // import/export: one of these two
  std::string mbox;
  std::string mailbox;  // --mailbox (mbox import/export; default INBOX)
  bool json = false;
  uint32_t uid = 0;     // cat
};

int run_mailbox_command(const CtlTarget& target, const config::Config& config, const MailboxCommand& cmd);

// --- shared by ctl_mailbox*.cpp ---
// The canonical owner name for `name` ("" and *error when unusable).
std::string canonical_mailbox_user(const std::string& name, const config::Config& config, std::string* error);
int mailbox_import(const CtlTarget& target, const config::Config& config, const MailboxCommand& cmd);
int mailbox_export(const CtlTarget& target, const MailboxCommand& cmd);
int mailbox_fail(const std::string& message, int rc = 1);
// Opens DATA_DIR/queue read-only with the store's families (0, or 1 with the error printed).
int open_mail_store(const std::string& data_dir, std::unique_ptr<queue::Queue>& q, mailbox::Families& f);

}  // namespace ringmta::tools
