// mail/text_escape.h — text that came from a client or a remote server (HELO
// names, addresses, ENVID, SNI, header values, SMTP replies), made safe for an
// operator's screen: a log line or ringmtactl's terminal output.
//
// Kept as they are: printable ASCII and valid UTF-8 (SMTPUTF8 addresses and
// replies stay readable). Escaped, so that no byte of the input can move the
// cursor, start a terminal escape sequence, end the log line or forge another:
//   CR LF TAB           \r \n \t
//   other C0, DEL       \xNN            (ESC -> \x1b)
//   invalid UTF-8       \xNN per byte
//   C1 controls (U+0080..U+009F; a terminal may take U+009B for ESC [),
//   U+2028/U+2029 and the bidi overrides/isolates (U+202A..U+202E,
//   U+2066..U+2069)      \uNNNN
// A backslash in the input is kept as it is: the log stays byte-for-byte what
// it was for ordinary text, at the price that a client can write a literal
// "\x1b" that looks like an escaped ESC (harmless: it is four printable bytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmta::mail {

// Whether escape_for_log would change `s` (the common case, plain ASCII, is a
// single scan with no copy).
bool needs_log_escape(std::string_view s, bool keep_tabs = false);

// `s` with the bytes above escaped. keep_tabs: leave TAB as it is (folded
// header lines shown by `ringmtactl queue show`).
std::string escape_for_log(std::string_view s, bool keep_tabs = false);

}  // namespace ringmta::mail
