// proto/imap/fetch_response.h — the untagged FETCH response of one message
// (RFC 3501 §6.4.5/§7.4.2, RFC 9051 §6.4.5/§7.5.2, RFC 3516 BINARY, RFC 7162
// MODSEQ), as pure code: a parsed FETCH attribute list (command.h) plus what
// the store knows of the message (message_data.h) in, "* n FETCH (...)\r\n"
// out. The host asks fetch_needs() what to read, applies \Seen when
// sets_seen() says so (then passes the new flags), and answers NO
// [UNKNOWN-CTE] instead of writing anything when binary_unknown_cte().
//
// Choices (each a reading of the RFCs, see tests/golden/imap_fetch/README.md):
//  - Order: UID first when the command is UID FETCH (RFC 3501 §6.4.8: the
//    response MUST include UID), then the attributes in the order asked, each
//    at most once, then FLAGS when FetchOptions::add_flags (the FETCH set
//    \Seen: the client learns it in the same response) and MODSEQ when
//    CONDSTORE is enabled (RFC 7162 §3.1.4.1) and neither was asked.
//  - Sections are named in the response as asked, without .PEEK; a partial
//    fetch names only the origin ("BODY[]<0>", RFC 3501 §7.4.2). An origin
//    beyond the end gives "" (RFC 3501 §6.4.5).
//  - A section part that does not exist, or HEADER/TEXT of a part that is not
//    message/rfc822|global, gives the empty string "" (BINARY.SIZE 0). RFC
//    3501 and RFC 9051 do not say; the response grammar (msg-att-static:
//    nstring) would allow NIL, but "" is what RFC 3501 §6.4.5 gives for an
//    origin beyond the end, what Dovecot 2.3 answers (checked, see the
//    README), and every client reads a string where it expects body data.
//  - HEADER.FIELDS / HEADER.FIELDS.NOT: the matching fields of the header
//    block (names compared ASCII case-insensitively, "Name :" allowed),
//    folded lines kept as they are, then the empty line that ends a header
//    ("\r\n") always. Lines that are not fields (no colon) are in neither.
//  - Body data is always a literal (an absent part aside). NUL may not appear in one (CHAR8), so NUL
//    bytes of BODY/RFC822 data are sent as 0x80 (as Dovecot does; the size and
//    offsets stay those of the stored message). BINARY data holding NUL is a
//    literal8 "~{n}" (RFC 3516 §4.3).
//  - BINARY[part]: the part's body with its Content-Transfer-Encoding removed
//    (base64 leniently: other bytes skipped, as RFC 2045 §6.8 asks; quoted-
//    printable with soft line breaks and transport padding removed); 7bit,
//    8bit and binary as they are; BINARY[] is the whole message. A partial
//    BINARY names its origin like BODY (RFC 3516 §4.2 text; RFC 9051's ABNF
//    leaves it out, erratum 7246 is only "reported").
//  - A needed structure or body the host did not supply, or spans outside
//    the body, write NIL (BINARY.SIZE 0) — unlike "" above, a sign of a
//    fault — and make append_fetch return false, so the host can log it;
//    nothing crashes or reads outside the data.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/command.h"
#include "proto/imap/message_data.h"
#include "proto/imap/needs.h"
#include "proto/imap/response.h"

namespace ringmta::imap {

// kNeed* bits for `atts`: RFC822.SIZE, FLAGS, UID, INTERNALDATE and MODSEQ
// need nothing (the record has them); ENVELOPE, BODY and BODYSTRUCTURE the
// structure; sections, RFC822*, BINARY and BINARY.SIZE the structure and the
// body (the structure locates the part and names its encoding).
unsigned fetch_needs(std::span<const FetchAtt> atts);

// Whether fetching `atts` sets \Seen (RFC 3501 §6.4.5): BODY[...] without
// .PEEK, BINARY[...] without .PEEK, RFC822 and RFC822.TEXT.
bool sets_seen(std::span<const FetchAtt> atts);

// Whether a BINARY or BINARY.SIZE of `atts` names an existing part whose
// Content-Transfer-Encoding this server cannot decode: the host then answers
// "NO [UNKNOWN-CTE]" (RFC 3516 §4.3). Needs m.structure (false without it).
bool binary_unknown_cte(const MessageData& m, std::span<const FetchAtt> atts);

struct FetchOptions {
  WriteOptions write;        // strings: UTF-8 allowed, rev2 grammar
  bool uid_command = false;  // UID FETCH (or a FETCH the client must see UIDs in: QRESYNC)
  bool condstore = false;    // CONDSTORE enabled: MODSEQ in every FETCH response
  bool rev2 = false;         // IMAP4rev2 session: no \Recent; message/global as message/rfc822
  bool add_flags = false;    // this FETCH just set \Seen: include FLAGS
};

// Appends "* <seq> FETCH (...)\r\n" for message `m`. Returns false when data
// that `atts` needs was missing or inconsistent (written as NIL, see above).
bool append_fetch(std::string& out, const MessageData& m, std::span<const FetchAtt> atts,
                  const FetchOptions& o);

// The pieces, exposed for the server's other responses and for tests.

// INTERNALDATE as IMAP writes it (RFC 3501 date-time, UTC):
// "07-Dec-2026 08:59:58 +0000" with the quotes.
void append_internal_date(std::string& out, int64_t unix_ms);

// FLAGS list: system flags in a fixed order, \Recent when `recent`, then the
// keywords (values that are not atoms are left out).
void append_flags(std::string& out, uint8_t flags, bool recent,
                  const std::vector<std::string>* keywords);

// The section text as the response names it: "1.2.HEADER.FIELDS (FROM TO)"
// (without the brackets); header names as astrings (8-bit ones quoted only
// when `o.utf8`, else literals).
void append_section_spec(std::string& out, const FetchAtt& a, const WriteOptions& o = {});

// The selected header fields of `header` (a header block, with or without its
// final empty line) for HEADER.FIELDS (`not_ == false`) or HEADER.FIELDS.NOT,
// names upper-cased as FetchAtt::fields holds them.
std::string select_header_fields(std::string_view header, std::span<const std::string> fields,
                                 bool not_);

// Content-Transfer-Encoding decoding for BINARY. `encoding` lower-case as
// mail::MimePart holds it; false (and `out` untouched) when it is unknown.
bool known_transfer_encoding(std::string_view encoding);
bool decode_transfer_encoding(std::string_view encoding, std::string_view in, std::string& out);

}  // namespace ringmta::imap
