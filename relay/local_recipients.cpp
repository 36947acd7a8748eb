// relay/local_recipients.cpp — see local_recipients.h.
#include "relay/local_recipients.h"

#include "mailbox/service.h"
#include "relay/local_directory.h"

namespace ringmta::relay {

smtp::RecipientCheck check_local_recipient(const LocalDirectory& directory, const mailbox::Service* mailboxes,
                                           const std::string& address, uint64_t declared_size) {
  smtp::RecipientCheck check;
  auto snap = directory.current();
  if (!snap) return check;
  const mail::Resolution r = mail::resolve(address, snap->aliases, snap->users, directory.domains());
  switch (r.status) {
    case mail::Resolution::Status::NotLocal: return check;
    case mail::Resolution::Status::Unknown:
      check.reply = "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown in local recipient table";
      return check;
    case mail::Resolution::Status::TooDeep:
      // The operator's aliases loop or explode: try again once they are fixed.
      check.reply = "451 4.3.0 <" + address + ">: Temporary lookup failure (alias expansion too deep)";
      return check;
    case mail::Resolution::Status::Ok: break;
  }
  for (const std::string& user : r.users) {
    const uint64_t quota = directory.quota_of(*snap, user);
    if (quota == 0 || !mailboxes) continue;
    const uint64_t used = mailboxes->totals(user).bytes;
    const bool over = declared_size > 0 ? used + declared_size > quota : used >= quota;
    if (over) {
      check.reply = "452 4.2.2 <" + address + ">: Mailbox full";
      return check;
    }
  }
  check.addresses = r.users;
  check.addresses.insert(check.addresses.end(), r.external.begin(), r.external.end());
  return check;
}

}  // namespace ringmta::relay
