// proto/imap/mutf7.h — IMAP mailbox names on the wire: modified UTF-7
// (RFC 3501 §5.1.3) and UTF-8 names under UTF8=ACCEPT (RFC 6855 §3).
//
// The store keeps mailbox names in UTF-8. A client that has not enabled
// UTF8=ACCEPT (and every IMAP4rev1 client) sends and receives them in modified
// UTF-7: printable US-ASCII stands for itself, '&' is "&-", and every other
// run of characters is "&" + modified base64 (',' for '/', no padding) of its
// UTF-16BE form + "-".
//
// Decoding is strict, so that one name has exactly one wire form and
// encode(decode(x)) == x whenever decode succeeds: bytes outside printable
// US-ASCII, an unterminated or empty shift ("&" + "-" is only the '&'), a
// character outside the base64 set, leftover bits that are non-zero or make
// a whole base64 character too many (non-minimal), an unpaired surrogate, a
// printable US-ASCII character in base64, and two shifts in a row (they must
// be one) are all rejected. Names whose characters are not allowed in a
// mailbox name (valid_utf8_mailbox_name) are rejected in both directions.
//
// Pure: standard library and base/text.h only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ringmta::imap {

// The modified UTF-7 form of a UTF-8 mailbox name; nullopt when `utf8` is not
// a valid mailbox name (valid_utf8_mailbox_name).
std::optional<std::string> mutf7_encode(std::string_view utf8);

// The UTF-8 name of a modified UTF-7 mailbox name; nullopt for any form the
// encoder would not produce (see above).
std::optional<std::string> mutf7_decode(std::string_view mutf7);

// Whether `utf8` may be a mailbox name (RFC 6855 §3, what UTF8=ACCEPT clients
// may send): valid UTF-8 (RFC 3629) without control characters (U+0000-U+001F,
// U+007F-U+009F), LINE SEPARATOR (U+2028) or PARAGRAPH SEPARATOR (U+2029).
// Net-Unicode's NFC requirement (RFC 5198) is not checked: that needs the
// Unicode tables.
bool valid_utf8_mailbox_name(std::string_view utf8);

}  // namespace ringmta::imap
