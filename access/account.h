// access/account.h — which mail store user a login name belongs to, the same
// for POP3 and IMAP (and the key local delivery files mail under).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ringmta::access {

// The maildrop (mail store user) a login name belongs to: a NAME without a
// domain is NAME@ the first relay.local_domains entry; all lower case, the
// key local delivery files mail under (mail::canonical_user). "" when the
// domain is not local (or there are no local domains): such a login has no mailbox.
std::string maildrop_owner(std::string_view login, const std::vector<std::string>& local_domains);

}  // namespace ringmta::access
