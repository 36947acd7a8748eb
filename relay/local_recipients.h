// relay/local_recipients.h — the RCPT TO check for the local domains (when
// mailbox.enabled): an unknown recipient gets 550 5.1.1 now (never a bounce
// later: no backscatter), a user over quota 452 4.2.2, and an alias or
// user+tag is replaced by what it reaches (users and outside addresses; the
// queue keeps those, each with an ORCPT of the address the client gave; the
// envelope sender is not rewritten — forwarded copies leave with the
// original MAIL FROM, as Postfix's local(8) does without SRS).
// Quota: the user's committed totals (mailbox::Service::totals, no I/O) plus
// the MAIL SIZE= when given must fit; without SIZE the user must be under it.
#pragma once

#include <cstdint>
#include <string>

#include "proto/smtp/server_session.h"

namespace ringmta::mailbox {
class Service;
}

namespace ringmta::relay {

class LocalDirectory;

// The verdict for `address` (any domain: other domains pass unchanged).
smtp::RecipientCheck check_local_recipient(const LocalDirectory& directory, const mailbox::Service* mailboxes,
                                           const std::string& address, uint64_t declared_size);

}  // namespace ringmta::relay
