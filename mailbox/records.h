// mailbox/records.h — the mail store's in-memory records (one user's
// account, mailboxes and messages). Plain data, no I/O: shared by the pure
// codec (codec.h), the per-user state (user_state.h) and the readers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringmta::mailbox {

// IMAP system flags (RFC 9051 §2.3.2) as bits. \Recent is per session, not stored.
enum Flag : uint8_t { kSeen = 1, kAnswered = 2, kFlagged = 4, kDeleted = 8, kDraft = 16 };
inline constexpr uint8_t kAllFlags = 31;

struct Message {
  uint32_t uid = 0;
  uint8_t flags = 0;                  // Flag bits
  uint64_t modseq = 0;                // RFC 7162 MODSEQ: the mailbox's counter at its last change
  int64_t internal_date_ms = 0;       // IMAP INTERNALDATE (unix ms)
  uint64_t size = 0;                  // exact RFC 822 size: octets of the stored body
  std::string body_id;                // key of the body (and its structure), shared by copies
  std::vector<std::string> keywords;  // sorted, unique
};

struct Mailbox {
  uint32_t id = 0;             // internal, never reused for the user; keys use it, not the name
  std::string name;            // "INBOX" or any name (hierarchy is the IMAP layer's business)
  uint32_t uidvalidity = 0;    // strictly greater than any earlier mailbox's of the user
  uint32_t uidnext = 1;        // the UID the next message gets; never goes down
  uint64_t highest_modseq = 0; // the greatest MODSEQ given out in this mailbox (expunges count)
  uint32_t attributes = 0;     // opaque to the store (subscribed, SPECIAL-USE): the IMAP layer's bits
  std::vector<Message> messages;  // ascending UID
};

struct Totals {
  uint64_t messages = 0;
  uint64_t bytes = 0;  // sum of Message::size over all mailboxes (what quota counts)
  bool operator==(const Totals&) const = default;
};

// The per-user record: counters that must survive the deletion of mailboxes.
struct Account {
  uint32_t next_mailbox_id = 1;
  uint32_t last_uidvalidity = 0;
  Totals totals;
};

}  // namespace ringmta::mailbox
