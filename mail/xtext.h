// mail/xtext.h — RFC 3461 §4 "xtext", the encoding of the DSN parameters
// ENVID (MAIL) and ORCPT (RCPT).
//
// xtext = *( xchar / hexchar ); xchar is printable ASCII 33..126 except '+'
// and '='; hexchar is '+' followed by two UPPER-case hex digits. Anything
// else (a lone '+', "+4", lower-case hex, spaces, controls, 8-bit bytes) is
// malformed and rejected: the RFC's ABNF is strict and a DSN parameter we
// cannot read faithfully is better refused at RCPT time than garbled later.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ringmta::mail {

// Decode xtext; nullopt when malformed.
std::optional<std::string> xtext_decode(std::string_view in);

// Encode arbitrary bytes as xtext ('+', '=', controls, space, 8-bit → +XX).
std::string xtext_encode(std::string_view in);

// True when `in` is well-formed xtext (same rules as xtext_decode).
bool xtext_valid(std::string_view in);

}  // namespace ringmta::mail
