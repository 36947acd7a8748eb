// proto/imap/search_text.h — the text work behind SEARCH, SORT and THREAD
// (search_eval.h, sort.h, thread.h): reading a message's header fields from
// its stored structure or bytes, RFC 2047 encoded words, transfer encodings
// (base64, quoted-printable), charsets to UTF-8, case folding for
// case-insensitive substring matching, and RFC 5322 dates.
//
// What is decoded: charsets UTF-8 and US-ASCII as they are; ISO-8859-1,
// Latin-1 and Windows-1252 (its 0x80..0x9F range taken as Latin-1) become
// UTF-8; any other charset's bytes are matched as they are. Case folding is
// ASCII plus a simple one-to-one UTF-8 folding of Latin-1, Latin Extended-A,
// Greek and Cyrillic capitals (no multi-character folds such as ß -> ss, no
// normalisation); invalid UTF-8 bytes are kept as they are.
//
// Pure: standard library and mail/ only; no recursion; work linear in the
// input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/mime.h"
#include "proto/imap/message_data.h"
#include "proto/imap/needs.h"

namespace ringmta::imap {

// What the host must load per message (search_needs, sort_needs,
// thread_needs): the Need bits of needs.h.

// An unstructured header value (raw or unfolded) as UTF-8: line folds and
// tabs become spaces, RFC 2047 encoded words (B and Q, any charset that
// charset_to_utf8 knows; others are left encoded) are decoded, and the
// white space between two adjacent encoded words is dropped.
std::string decode_header_text(std::string_view raw);

// Bytes in `charset` (a MIME charset name, any case) to UTF-8, see above.
std::string charset_to_utf8(std::string_view bytes, std::string_view charset);

// A part body without its Content-Transfer-Encoding ("base64",
// "quoted-printable"; anything else is returned as it is). Tolerant: bad
// base64 characters are skipped, a '=' that starts no escape is kept.
std::string decode_transfer_encoding(std::string_view body, std::string_view encoding);

// Case folding (see above): fold both sides, then substring-search.
std::string fold_case(std::string_view utf8);

// Whether `needle` occurs in `haystack` (bytes). Linear time whatever the
// needle: a client's search string may be a long literal.
bool contains_bytes(std::string_view haystack, std::string_view needle);

// An RFC 5322 date-time (obsolete forms too: 2-digit years, named zones,
// missing seconds or day of week; comments skipped). The date is as written
// (SENTON ignores time and zone); utc_seconds applies time and zone (SORT
// DATE). A missing time counts as 00:00:00.
struct SentDate {
  int year = 0, month = 0, day = 0;
  int64_t utc_seconds = 0;
};
std::optional<SentDate> parse_sent_date(std::string_view value);

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
// floor(ms / 86400000): the UTC day of an INTERNALDATE.
int64_t day_of_ms(int64_t ms);

// The message's header block: parts[0].header when a structure is there,
// else the bytes before the first empty line of `body`; empty when neither
// is loaded (or the structure's span does not fit the body).
std::string_view message_header_block(const MessageData& m);

// The first `name` field of the message, unfolded (raw, not decoded): from
// the structure's envelope for the envelope's fields (Date, Subject, From,
// Sender, Reply-To, To, Cc, Bcc, In-Reply-To, Message-ID), else from the
// header block. nullopt when the field is absent or nothing is loaded.
std::optional<std::string> message_header(const MessageData& m, std::string_view name);

// The parsed address list of the first From/To/Cc/... field (envelope when
// available, else parsed from the header block).
std::vector<mail::EnvelopeAddress> message_addresses(const MessageData& m, std::string_view name);

// The sent date (Date: header) in UTC seconds, or the INTERNALDATE when it is
// missing or cannot be parsed (RFC 5256 §2.2).
int64_t sent_seconds(const MessageData& m);

// The message-ids ("<...>" contents without white space) of a header value,
// in order, at most `max` (the last ones when there are more).
std::vector<std::string> parse_msg_ids(std::string_view value, size_t max);

}  // namespace ringmta::imap
