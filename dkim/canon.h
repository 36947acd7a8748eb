// dkim/canon.h — DKIM canonicalisation (RFC 6376 §3.4): the header fields of
// a message as exact byte ranges, the "simple" and "relaxed" forms of one
// header field, and a streaming body canonicaliser whose output is fed to the
// body hash chunk by chunk (no canonical copy of a large body is built).
//
// Pure: standard library only (fuzzed alone, tests/fuzz/dkim_tags.cmake).
// Only CRLF ends a line; a bare CR or LF is an ordinary byte, as in the RFC's
// definitions (the stored message is CRLF throughout).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::dkim {

enum class Canon { Simple, Relaxed };

// One header field exactly as in the message.
struct RawField {
  std::string_view name;  // without trailing WSP and the colon
  std::string_view text;  // the whole field: name, colon, value, folds, final CRLF
};

struct SplitMessage {
  std::vector<RawField> fields;
  size_t body_offset = 0;  // first byte of the body (after the empty line), or size
};

// The header fields of `message` (up to the first empty line) and where its
// body starts. Lines without a colon are skipped (they cannot be signed).
// At most `max_fields` fields are returned (bound for hostile input).
SplitMessage split_fields(std::string_view message, size_t max_fields = 10000);

// "name:value\r\n" in the given canonical form (RFC 6376 §3.4.1, §3.4.2).
// simple: the field unchanged (its text must end in CRLF; one is added if not).
// relaxed: name lower-cased, folds unfolded, WSP runs -> one SP, WSP around
// the colon and at the value's end removed.
std::string canon_header(Canon c, const RawField& field);

// Body canonicalisation (RFC 6376 §3.4.3, §3.4.4), streaming: feed() appends
// the canonical bytes that are certain so far to `out`; finish() the rest.
// Empty lines at the end are held back until content follows them, so memory
// is O(1) whatever the input.
class BodyCanon {
 public:
  explicit BodyCanon(Canon c) : canon_(c) {}
  void feed(std::string_view chunk, std::string& out);
  void finish(std::string& out);

 private:
  void content(char c, std::string& out);
  void end_line(std::string& out);

  Canon canon_;
  size_t empty_lines_ = 0;  // CRLFs of empty lines not written yet
  bool has_content_ = false;  // the current line has content
  bool wsp_ = false;          // relaxed: WSP seen and not written yet
  bool cr_ = false;           // a CR whose next byte is not known yet
  bool any_ = false;          // anything written at all
};

// The canonical body of a whole message body (tests, the benchmark).
std::string canon_body(Canon c, std::string_view body);

}  // namespace ringmta::dkim
