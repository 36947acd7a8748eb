// mail/headers.h — reading the RFC 5322 header block of a stored message.
//
// The queue stores messages as raw bytes. Several consumers need a light,
// allocation-free look at the header block without a full MIME parse: the
// DSN composer (returns the original headers, must stay bounded), Received:
// loop counting, Message-ID lookup for logs. These functions work on
// std::string_view into the caller's bytes; nothing here copies the message.
//
// Tolerance: CRLF is the wire form, but bare LF line ends are accepted when
// reading (messages from pipes and tests often have them). A header block
// ends at the first empty line ("\r\n\r\n", "\n\n", or an empty first line);
// a message without an empty line is all header block and has no body.
// Lines in the header block that are not "name: value" fields (no colon,
// invalid name characters, a continuation with nothing before it) are skipped
// by header_fields() rather than failing: a pathological message must still be
// readable enough to bounce.
//
// Pure: standard library only, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::mail {

// A message split at its first empty line. Both views point into the input.
struct MessageParts {
  // Header fields including the line end of the last field; excludes the empty
  // separator line. Empty when the message starts with an empty line.
  std::string_view header_block;
  // Everything after the separator line; empty when there is none.
  std::string_view body;
  bool has_separator = false;  // an empty line was found
};

// Split `message` into header block and body at the first empty line.
MessageParts split_message(std::string_view message);

// One header field as it appears in the message.
struct HeaderField {
  std::string_view name;       // as written (case preserved), without the colon
  std::string_view raw_value;  // after the colon up to (excluding) the field's
                               // final line end; folded lines keep their
                               // CRLF/LF + whitespace; leading space is kept
};

// All well-formed fields of `header_block`, in order. At most `max_fields`
// are returned (a bound for pathological messages).
std::vector<HeaderField> header_fields(std::string_view header_block,
                                       size_t max_fields = 10000);

// Unfold a raw value (RFC 5322 §2.2.3): remove every CRLF or bare LF that is
// followed by whitespace (the whitespace stays), drop a trailing line end, and
// trim leading and trailing whitespace.
std::string unfold(std::string_view raw_value);

// The unfolded value of the first field named `name` (ASCII case-insensitive),
// or nullopt when there is none.
std::optional<std::string> header_value(std::string_view header_block, std::string_view name);

// ASCII case-insensitive comparison of header names.
bool header_name_equals(std::string_view a, std::string_view b);

// How many fields named `name` (ASCII case-insensitive) the header section of
// `message` holds — the lines before the first empty line that start with
// `name`, optional whitespace and ':' (continuation lines are not fields).
// Counting stops at `stop_after` + 1, so a hostile header section of millions
// of fields costs no more than reaching the limit (mail-loop hop counting:
// "Received" with limits.max_hops).
size_t count_header_fields(std::string_view message, std::string_view name, size_t stop_after);

// A header block cut to at most `max_bytes`, at a field boundary so no field
// is split: the result holds the longest prefix of whole fields that fits.
// When even the first field is larger than `max_bytes`, the result is empty.
struct LimitedHeaders {
  std::string_view header_block;
  bool truncated = false;  // some fields were dropped
};
LimitedHeaders limit_header_block(std::string_view header_block, size_t max_bytes);

}  // namespace ringmta::mail
