// tools/ctl_mailbox.h — ringmtactl's mailbox commands: read the mail store
// (mailbox/store.h) directly through a read-only RocksDB instance of the
// queue's database, with or without a running daemon (it shows what the
// daemon had written when the command started). Nothing here writes.
//   mailbox list            every user with anything stored: messages, bytes
//   mailbox show USER       the user's mailboxes and messages
//   mailbox cat USER UID    an INBOX message's stored bytes to stdout
// Exit codes: 0 ok, 1 not found / cannot read.
#pragma once

#include <cstdint>
#include <string>

namespace ringmta::tools {

int run_mailbox_list(const std::string& data_dir, bool json);
int run_mailbox_show(const std::string& data_dir, const std::string& user, bool json);
int run_mailbox_cat(const std::string& data_dir, const std::string& user, uint32_t uid);

}  // namespace ringmta::tools
