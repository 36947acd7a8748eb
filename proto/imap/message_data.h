// proto/imap/message_data.h — what the pure IMAP response and search code
// knows of one message: the store's record (flags, keywords, size, dates,
// MODSEQ) plus, only when the command needs them, its MIME structure and its
// bytes. The server (access/) fills these from the mail store: the record from
// the owner shard's state, the structure and body from a reader thread, so the
// pure code never touches the store and never decides what to read — it says
// what it needs (needs_structure / needs_body in fetch_response.h and
// search_eval.h) and the host reads exactly that.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/mime.h"

namespace ringmta::imap {

// System flags as bits — the same values as mailbox::Flag (mailbox/records.h),
// repeated here because proto/ does not depend on the store.
enum SystemFlag : uint8_t { kFlagSeen = 1, kFlagAnswered = 2, kFlagFlagged = 4, kFlagDeleted = 8, kFlagDraft = 16 };

struct MessageData {
  uint32_t seq = 0;  // message sequence number in the session's view
  uint32_t uid = 0;
  uint8_t flags = 0;       // SystemFlag bits
  bool recent = false;     // \Recent in this session (IMAP4rev1 only)
  const std::vector<std::string>* keywords = nullptr;  // sorted; null = none
  uint64_t size = 0;       // RFC822.SIZE: exact octets of the stored message
  int64_t internal_date_ms = 0;
  uint64_t modseq = 0;
  // Null unless the command needs it; then it describes `body`.
  const mail::MimeStructure* structure = nullptr;
  // The whole stored message (CRLF lines); valid only when has_body.
  std::string_view body;
  bool has_body = false;
};

}  // namespace ringmta::imap
