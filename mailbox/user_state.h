// mailbox/user_state.h — one user's mailboxes in memory, owned and mutated
// by one thread (the user's owner shard), which serialises every change.
//
// Pure: no clock (callers pass now_ms), no I/O. A mutating method first
// checks everything, then updates memory AND appends the matching ops to the
// caller's queue::Batch, so memory shows the change at once and the batch
// makes it durable. On an error nothing changed (neither memory nor batch).
// If the caller's commit of that batch then FAILS, memory is ahead of the
// disk: the owner must drop this state and load_user() again (store.h)
// before the next change — UIDs handed out meanwhile are never reused,
// because UIDNEXT is stored only by a successful commit and reloaded.
// Batches from one owner must be committed in the order they were built
// (Queue::commit keeps a caller's order).
//
// Totals (all mailboxes) are kept current for quota checks; they are also
// stored in the account record (read_totals) with every change.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailbox/records.h"
#include "mailbox/store.h"

namespace ringmta::mailbox {

inline constexpr std::string_view kInbox = "INBOX";

struct NewMessage {
  std::string body_id;                // stored (or put in the same batch) with put_body
  uint64_t size = 0;                  // exact octets of the body
  int64_t internal_date_ms = 0;
  uint8_t flags = 0;                  // Flag bits
  std::vector<std::string> keywords;  // any order; duplicates dropped
};

enum class StoreMode { Replace, Add, Remove };  // IMAP STORE FLAGS / +FLAGS / -FLAGS

class UserState {
 public:
  UserState() = default;
  UserState(Families families, std::string user);

  const std::string& user() const { return user_; }
  const Totals& totals() const { return account_.totals; }
  const Account& account() const { return account_; }
  // Mailboxes by internal id (creation order).
  const std::map<uint32_t, Mailbox>& mailboxes() const { return mailboxes_; }
  // By name ("INBOX" in any case is the inbox); null if none.
  const Mailbox* find(std::string_view name) const;
  // The message with `uid` in `mailbox`, or null.
  static const Message* find_message(const Mailbox& mailbox, uint32_t uid);

  // Creates `name` with a new UIDVALIDITY: greater than every earlier one
  // of this user and at least now (seconds), so it grows even across a purge
  // of the user. AlreadyExists is InvalidArgument.
  Status create_mailbox(queue::Batch& b, std::string_view name, int64_t now_ms, uint32_t attributes = 0);
  // Deletes the mailbox and its messages. The INBOX cannot be deleted.
  Status delete_mailbox(queue::Batch& b, std::string_view name);
  // Renames one mailbox (inferior names of a hierarchy are the IMAP layer's
  // to rename, one call each: the store knows no delimiter). Renaming the
  // INBOX moves its messages into a new mailbox `to` (new UIDs) and leaves
  // the INBOX empty (RFC 9051 §6.3.6); nothing can be renamed TO the INBOX.
  Status rename_mailbox(queue::Batch& b, std::string_view from, std::string_view to, int64_t now_ms);
  Status set_attributes(queue::Batch& b, std::string_view name, uint32_t attributes);

  // Appends a message; the INBOX is created on first use, other mailboxes
  // must exist (NotFound). `uid` gets its UID.
  Status append(queue::Batch& b, std::string_view mailbox, const NewMessage& m, int64_t now_ms, uint32_t& uid);
  // Changes flags and keywords of the messages with these UIDs (unknown UIDs
  // are skipped). Each message whose flags or keywords really change gets a
  // new MODSEQ; `changed` (optional) gets their UIDs.
  Status store(queue::Batch& b, std::string_view mailbox, std::span<const uint32_t> uids, StoreMode mode,
               uint8_t flags, const std::vector<std::string>& keywords, std::vector<uint32_t>* changed = nullptr);
  // Removes the messages with these UIDs in one go (unknown UIDs are
  // skipped); HIGHESTMODSEQ grows. `removed` (optional) gets their UIDs.
  Status expunge(queue::Batch& b, std::string_view mailbox, std::span<const uint32_t> uids,
                 std::vector<uint32_t>* removed = nullptr);
  // Copies (same body, new reference) into `to`, keeping flags, keywords and
  // INTERNALDATE; `mapping` gets (source UID, new UID) pairs (UIDPLUS).
  Status copy(queue::Batch& b, std::string_view from, std::span<const uint32_t> uids, std::string_view to,
              std::vector<std::pair<uint32_t, uint32_t>>* mapping = nullptr);
  // copy + expunge of the sources, in the same batch: atomic.
  Status move(queue::Batch& b, std::string_view from, std::span<const uint32_t> uids, std::string_view to,
              std::vector<std::pair<uint32_t, uint32_t>>* mapping = nullptr);
  // Deletes every mailbox, message and the account (ringmtactl purge).
  void purge(queue::Batch& b);

 private:
  friend Status load_user(queue::Queue& q, const Families& f, std::string_view user, UserState& out);

  Mailbox* find_mut(std::string_view name);
  Mailbox& create(queue::Batch& b, std::string name, int64_t now_ms, uint32_t attributes);
  void put_account(queue::Batch& b);
  void put_mailbox(queue::Batch& b, const Mailbox& m);
  void put_message(queue::Batch& b, const Mailbox& mb, const Message& m);
  void remove_message(queue::Batch& b, const Mailbox& mb, const Message& m);
  // Adds `m` (uid, modseq set here) to `mb`; writes its record and reference.
  uint32_t add_message(queue::Batch& b, Mailbox& mb, Message m);
  Status check_room(const Mailbox& mb, size_t count) const;

  Families families_;
  std::string user_;
  Account account_;
  std::map<uint32_t, Mailbox> mailboxes_;
};

}  // namespace ringmta::mailbox
