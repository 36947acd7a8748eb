// proto/imap/sort.h — SORT (RFC 5256 §3, DISPLAYFROM/DISPLAYTO of RFC 5957)
// over the messages a SEARCH selected, as pure code; and the base subject
// (RFC 5256 §2.1) that SORT SUBJECT and THREAD share.
//
// Keys: ARRIVAL (INTERNALDATE), CC, DATE (the Date: header in UTC, the
// INTERNALDATE when missing or unparsable), FROM, SIZE, SUBJECT (base
// subject), TO, DISPLAYFROM, DISPLAYTO; "REVERSE" reverses the key after it.
// CC/FROM/TO compare the first address's mailbox (local part) and
// DISPLAYFROM/DISPLAYTO its decoded display name or, without one, its
// "mailbox@host"; strings compare after case folding (search_text.h), which
// for ASCII is i;ascii-casemap. Messages equal on every key stay in sequence
// number order (RFC 5256: "the order in which they appear in the mailbox"),
// REVERSE notwithstanding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/message_data.h"
#include "proto/imap/search_text.h"

namespace ringmta::imap {

// Whether `key` (upper case) is a SORT key this code knows (REVERSE aside).
bool sort_key_supported(std::string_view key);

// What the host must load per message for these keys (Need bits): the
// structure (envelope) for address/subject/date keys, nothing for ARRIVAL and
// SIZE.
unsigned sort_needs(const std::vector<std::string>& keys);

// The sorted order as indices into `msgs` (map them to msgs[i].seq or .uid
// for the response). Unknown keys are ignored (check sort_key_supported
// first); a trailing REVERSE reverses nothing.
std::vector<uint32_t> sort_messages(const std::vector<MessageData>& msgs, const std::vector<std::string>& keys);

// RFC 5256 §2.1: the base subject of a raw Subject value, and whether the
// subject marked a reply or forward ("Re:", "Fwd:", "(fwd)", "[fwd: ...]").
// The result is UTF-8, case preserved; compare fold_case() of it.
std::string base_subject(std::string_view raw_subject, bool* is_reply_or_fwd = nullptr);

}  // namespace ringmta::imap
