// base/text.h — the text primitives every protocol needs, in one place:
// UTF-8 validation (RFC 3629), ASCII case folding and trimming. SMTP, POP3, IMAP, the
// admin API's JSON and the log escaping all use these; none of them may
// depend on the C locale (std::tolower is locale-dependent), so folding is
// ASCII only and 8-bit bytes are left as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::base {

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 when
// there is none (overlong forms, surrogates, above U+10FFFF, truncated).
size_t utf8_sequence_length(std::string_view s, size_t i);
// The code point of the valid sequence of length n (from utf8_sequence_length) at s[i].
uint32_t utf8_code_point(std::string_view s, size_t i, size_t n);
// Whether all of `s` is valid UTF-8 (ASCII included).
bool valid_utf8(std::string_view s);
// Whether every byte of `s` is below 0x80.
bool is_ascii(std::string_view s);

// ASCII case folding; bytes >= 0x80 are unchanged.
char to_lower_ascii(char c);
char to_upper_ascii(char c);
std::string to_lower_ascii(std::string_view s);
std::string to_upper_ascii(std::string_view s);
// ASCII case-insensitive equality (command names, header names, domains).
bool iequals(std::string_view a, std::string_view b);
// ASCII case-insensitive prefix test.
bool istarts_with(std::string_view s, std::string_view prefix);

// Two hex digits for `byte` appended to `out`: lower case ("\\x1b" escapes in
// logs and messages), or upper case where a format asks for it (xtext).
void append_hex_byte(std::string& out, unsigned char byte, bool upper = false);

// `s` without the leading / trailing bytes that are in `chars` (by default
// SP and HTAB, the whitespace of protocol lines).
std::string_view trim_left(std::string_view s, std::string_view chars = " \t");
std::string_view trim_right(std::string_view s, std::string_view chars = " \t");
std::string_view trim(std::string_view s, std::string_view chars = " \t");

}  // namespace ringmta::base
