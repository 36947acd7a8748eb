// mail/mime.h — the MIME structure of a stored message, parsed once.
//
// The mail store parses every message once, at local delivery, and keeps the
// result (encode_structure()) beside the message. IMAP later answers FETCH
// ENVELOPE, BODYSTRUCTURE and BODY[section]<partial> from it without reading
// the message again: every part carries the byte spans of its header block and
// body inside the stored message, so a section is a slice of the message.
//
// What the parser does (RFC 2045, 2046, 5322; RFC 3501 §7.4.2 for ENVELOPE):
//  - Lines end in CRLF; bare LF is accepted everywhere. A header block ends at
//    the first empty line (mail/headers.h rules); a block without one is all
//    header and its body is empty.
//  - Content-Type missing or unusable (no "type/subtype" of tokens, or a
//    multipart without a boundary parameter) → text/plain; charset=us-ascii
//    (RFC 2045 §5.2); a part of multipart/digest without one → message/rfc822
//    (RFC 2046 §5.1.5). Such parts carry kDefaultType.
//  - multipart/*: delimiter lines are "--" boundary, optionally "--" (close),
//    then only spaces/tabs. The line end before a delimiter belongs to it. The
//    preamble and the epilogue are ignored; a missing close delimiter ends the
//    last part at the end of the multipart's body. A multipart whose body has
//    no delimiter line (or only a close one) is a text/plain;
//    charset=us-ascii leaf (kBroken).
//  - message/rfc822 and message/global: the body is an encapsulated message,
//    parsed as the one child, with its own envelope. Encoded with base64 or
//    quoted-printable (not allowed by RFC 2046 §5.2.1) it is an
//    application/octet-stream leaf (kBroken).
//  - Limits: a container deeper than MimeLimits::max_depth, or beyond
//    MimeLimits::max_parts parts in all, is not expanded: it becomes an
//    application/octet-stream leaf (kLimit); a multipart that reaches the part
//    limit keeps the children it has (kLimit) and the rest of its body is
//    ignored like an epilogue (BODY[n] of the multipart still holds it).
//  - Never throws on bad input (std::bad_alloc aside), no recursion, time
//    linear in the message size times at most max_depth.
//
// Invariants of a parsed tree (decode_structure() checks them too):
//  - parts[0] is the message itself; every other part has exactly one parent,
//    which has a smaller index. A part has children only when it is a
//    multipart (one or more) or a message/rfc822|global (exactly one: the
//    encapsulated message, which has an envelope). Leaves have neither type.
//  - header.offset + header.length == body.offset; both spans lie inside the
//    parent's body (the message for parts[0]).
//
// Serving IMAP (RFC 3501 §6.4.5, §7.4.2) from the tree, by slicing only:
//  - BODY[] is the message, BODY[HEADER] parts[0].header, BODY[TEXT]
//    parts[0].body.
//  - Part numbers: the parts of a multipart are its children (1, 2, ...). A
//    message — parts[0], or the one child of a message/rfc822|global part n,
//    whose parts are numbered n.1, n.2, ... — has as parts its children when
//    it is multipart, else only part 1: the message node itself.
//  - BODY[n] is part n's body (for message/rfc822 the whole encapsulated
//    message); BODY[n.MIME] its header span; for a message/rfc822|global part
//    BODY[n.HEADER] and BODY[n.TEXT] are the spans of its one child.
//  - BODYSTRUCTURE takes type, subtype, params, id, description, encoding,
//    body.length and lines from the part, and for message/rfc822|global the
//    child's envelope and structure; the extension data is md5, disposition,
//    language and location.
//
// Strings are kept as in the message: RFC 2047 encoded words and RFC 2231
// parameter continuations are left for the client, and parameters are only
// those written (the IMAP writer may add charset=us-ascii to a text/* part
// without one, as RFC 2045 §5.2 implies; parse_mime adds it only with the
// default type). Types, subtypes, parameter names, disposition types and
// transfer encodings are lower-cased.
//
// Pure: standard library only, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::mail {

// A byte range of the stored message.
struct Span {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const Span&) const = default;
};

// A Content-Type or Content-Disposition parameter. The name is lower-cased;
// the value is the quoted-string's content (quotes and backslashes removed) or
// the token as written.
struct MimeParam {
  std::string name;
  std::string value;
  bool operator==(const MimeParam&) const = default;
};

// One element of an ENVELOPE address list (RFC 3501 §7.4.2). A group
// "name: a, b;" is GroupStart (mailbox = the group's display name), its
// members, then GroupEnd (all fields empty; written (NIL NIL NIL NIL)). For a
// Mailbox, an empty name or route means NIL, while mailbox and host are always
// written as strings ("" for an address without a domain), so the writer
// never produces group syntax by accident; a GroupStart's mailbox is a string
// too, even when empty.
struct EnvelopeAddress {
  enum class Kind : uint8_t { Mailbox = 0, GroupStart = 1, GroupEnd = 2 };
  Kind kind = Kind::Mailbox;
  std::string name;     // display name (phrase unquoted, or the comment after a bare addr-spec)
  std::string route;    // obs-route "@a,@b" without the ':'
  std::string mailbox;  // local part as written (a quoted local part keeps its quotes)
  std::string host;     // domain as written
  bool operator==(const EnvelopeAddress&) const = default;
};

// The raw value and the parsed list of one address header field.
struct AddressField {
  std::optional<std::string> raw;      // unfolded value; nullopt: no such field
  std::vector<EnvelopeAddress> list;   // parsed (tolerant: junk is skipped)
  bool operator==(const AddressField&) const = default;
};

// ENVELOPE fields of a message: the first occurrence of each header field,
// unfolded (mail::unfold). No RFC 3501 defaults are applied here: the IMAP
// writer gives Sender and Reply-To the From list when their list is empty.
struct Envelope {
  std::optional<std::string> date, subject, in_reply_to, message_id;
  AddressField from, sender, reply_to, to, cc, bcc;
  bool operator==(const Envelope&) const = default;
};

// Notes on how a part's type came about (MimePart::flags).
inline constexpr uint8_t kDefaultType = 1;  // Content-Type missing/unusable: default applied
inline constexpr uint8_t kBroken = 2;       // declared container could not be parsed: leaf
inline constexpr uint8_t kLimit = 4;        // a depth/part limit stopped expansion here
inline constexpr uint8_t kAllFlags = kDefaultType | kBroken | kLimit;

struct MimePart {
  Span header;  // header block including the empty line that ends it (BODY[n.MIME] / [HEADER])
  Span body;    // the rest of the part (BODY[n] / [TEXT]); its length is the body size
  std::string type = "text", subtype = "plain";  // lower-cased
  std::vector<MimeParam> params;                  // Content-Type parameters, in order
  std::string id;           // Content-ID, unfolded; "" when absent
  std::string description;  // Content-Description, unfolded; "" when absent
  std::string encoding = "7bit";  // Content-Transfer-Encoding, lower-cased; default 7bit
  std::string md5;          // Content-MD5; "" when absent
  std::string disposition;  // Content-Disposition type, lower-cased; "" when absent
  std::vector<MimeParam> disposition_params;
  std::vector<std::string> language;  // Content-Language tags; empty when absent
  std::string location;     // Content-Location, unfolded; "" when absent
  uint64_t lines = 0;       // body lines, counted for text/* and message/rfc822|global only:
                            // line ends, plus one for a last line without one
  uint8_t flags = 0;        // kDefaultType | kBroken | kLimit
  std::vector<uint32_t> children;   // indices into MimeStructure::parts
  std::optional<Envelope> envelope;  // for parts[0] and encapsulated messages
  bool operator==(const MimePart&) const = default;
};

struct MimeStructure {
  uint64_t message_size = 0;    // bytes of the message the spans refer to
  std::vector<MimePart> parts;  // parts[0] is the message
  bool operator==(const MimeStructure&) const = default;
};

struct MimeLimits {
  uint32_t max_depth = 50;     // nesting of containers (multipart, message/*)
  uint32_t max_parts = 10000;  // parts in the whole tree, parts[0] included
};

// Parse `message` (a whole stored message). Always returns a tree with at
// least parts[0].
MimeStructure parse_mime(std::string_view message, const MimeLimits& limits = {});

// Parse an RFC 5322 address-list (an unfolded header value) as ENVELOPE wants
// it. Tolerant: comments dropped, junk skipped, a word without '@' is a
// mailbox with an empty host, an unclosed group is closed at the end.
// Parsing stops after `max_elements` elements (plus a GroupEnd closing an open
// group): a hostile field must not make the stored structure huge; the raw
// value (AddressField::raw) still holds every address.
inline constexpr size_t kMaxEnvelopeAddresses = 10000;
std::vector<EnvelopeAddress> parse_address_list(std::string_view value,
                                                size_t max_elements = kMaxEnvelopeAddresses);

// Parse a Content-Type/Content-Disposition style value "token[/token] *(;
// name=value)". Returns false when the leading token (or "type/subtype" when
// `with_subtype`) is missing or not made of tokens; the parameters are still
// filled as far as they go.
bool parse_content_value(std::string_view value, bool with_subtype, std::string& type,
                         std::string& subtype, std::vector<MimeParam>& params);

// The compact binary form kept beside the message. The first byte is the
// format version (kMimeBlobVersion).
inline constexpr uint8_t kMimeBlobVersion = 1;
std::string encode_structure(const MimeStructure& s);

// Decode a blob from encode_structure(). nullopt when it is not a valid blob:
// wrong version, truncated, trailing bytes, bad flags or kinds, spans outside
// message_size or not nested, children that do not form the tree described
// above. Callers should also check message_size against the stored message.
std::optional<MimeStructure> decode_structure(std::string_view blob);

// The part an IMAP section part number names (RFC 3501 §6.4.5): {2, 1} for
// "2.1"; the numbering rules are those under "Serving IMAP" above. An empty
// path gives 0 (the message). nullopt when the message has no such part. Then
// BODY[path] is the part's body, BODY[path.MIME] its header, and, for a
// message/rfc822|global part, BODY[path.HEADER]/[path.TEXT] its child's spans.
std::optional<uint32_t> find_part(const MimeStructure& s, std::span<const uint32_t> path);

// A readable multi-line dump of the tree (golden tests, ringmtactl, debugging).
std::string dump_structure(const MimeStructure& s);

}  // namespace ringmta::mail
