// proto/imap/search_eval.h — evaluating a parsed SEARCH program (command.h's
// SearchKey tree) against one message (message_data.h), as pure code: the
// host asks search_needs() what to load per message, loads it, and calls
// search_matches() for each message of the session's view.
//
// Semantics (RFC 9051 §6.4.4, RFC 3501 §6.4.4 for rev1's NEW/OLD/RECENT,
// RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER, RFC 5182 "$"):
//  - BEFORE/ON/SINCE compare the INTERNALDATE's day in UTC (the server's zone)
//    with the key's date. SENTBEFORE/SENTON/SENTSINCE compare the Date:
//    header's date as written (time and zone disregarded); a message whose
//    Date: is missing or unparsable uses its INTERNALDATE's day instead (as
//    RFC 5256 §2.2 does for SORT), so every message has a sent date.
//  - OLDER n: INTERNALDATE <= now - n seconds; YOUNGER n: the rest (the two
//    are complements).
//  - SAVEDBEFORE/SAVEDON/SAVEDSINCE (RFC 8514): the store keeps no save date
//    (FETCH SAVEDATE would be NIL), so they compare the INTERNALDATE, as RFC
//    8514 does for a message without a save date.
//  - MODSEQ n [entry]: the message's MODSEQ >= n (the entry is not used: one
//    MODSEQ per message covers all flags).
//  - KEYWORD/UNKEYWORD compare flag names case-insensitively.
//  - "$" (in a sequence set or UID) matches the UIDs in saved_uids; with no
//    saved result it matches nothing.
//  - Strings: case-insensitive substring (search_text.h folding) of the
//    decoded text. FROM/TO/CC/BCC/SUBJECT and HEADER match the field's value
//    with RFC 2047 words decoded (address fields: the whole field as written,
//    so display names and addresses both match); HEADER looks at every field
//    of that name, and an empty string matches any message having the field.
//    BODY matches the decoded text (transfer encoding undone, charset to
//    UTF-8) of every text/* part, plus the decoded header text of
//    encapsulated messages; TEXT is the header fields of the message and
//    of its MIME parts, or BODY.
//  - The tree's depth is bounded: a tree with a node deeper than
//    kMaxSearchDepth + 2 (the parser's limit plus the top-level AND and a
//    NOT/OR) matches no message and needs nothing (checked without
//    recursion before evaluating).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "proto/imap/command.h"
#include "proto/imap/message_data.h"
#include "proto/imap/search_text.h"

namespace ringmta::imap {

struct SearchContext {
  uint32_t max_seq = 0;  // '*' in a sequence set
  uint32_t max_uid = 0;  // '*' in a UID set
  // SEARCHRES "$": the saved UIDs, sorted ascending (binary search); may be null.
  const std::vector<uint32_t>* saved_uids = nullptr;
  int64_t now_ms = 0;    // OLDER/YOUNGER
};

// What the host must load for each message (Need bits, search_text.h):
// address and Subject/Date keys need the structure (the envelope); HEADER
// needs the header bytes (kNeedBody, structure optional); BODY and TEXT need
// the body and the structure (without a structure the message is parsed
// here, at a cost). Flags, sizes, dates, UIDs and sequence numbers need
// nothing.
unsigned search_needs(const SearchKey& key);

// A search program prepared once for a whole mailbox: sequence and UID sets
// sorted and merged (a set of thousands of ranges costs a binary search per
// message, not a scan), search strings case-folded, the depth checked.
// `key` must outlive the program.
struct SearchCompiled;
class SearchProgram {
 public:
  explicit SearchProgram(const SearchKey& key);
  ~SearchProgram();
  SearchProgram(SearchProgram&&) noexcept;
  SearchProgram& operator=(SearchProgram&&) noexcept;
  unsigned needs() const;  // as search_needs(key)
  // Whether the message matches the program.
  bool matches(const MessageData& m, const SearchContext& ctx) const;

 private:
  std::unique_ptr<SearchCompiled> c_;
};

// One-off form of SearchProgram(key).matches(m, ctx) (tests, single messages).
bool search_matches(const SearchKey& key, const MessageData& m, const SearchContext& ctx);

// SEARCH CHARSET values this server accepts (RFC 9051 §6.4.4: US-ASCII and
// UTF-8), case-insensitive. An empty name (no CHARSET) is accepted too.
bool charset_supported(std::string_view charset);

}  // namespace ringmta::imap
