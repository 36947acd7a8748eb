// proto/imap/response.h — the text of IMAP response data (RFC 3501 §4, §7.4.2;
// RFC 9051): strings, flag lists, ENVELOPE, BODY and BODYSTRUCTURE.
//
// The server never re-parses a message to answer FETCH: ENVELOPE and
// BODYSTRUCTURE are built from the mail::MimeStructure kept beside it
// (mail/mime.h). These functions only append text to a string; they choose
// the wire form of every string themselves, so no header value, however
// hostile, can break the response's syntax:
//  - an atom only where the grammar allows one (astring) and the bytes are
//    ATOM-CHARs (and not "NIL", which a reader of an nstring would take for
//    absent);
//  - a quoted string for short text of CHARs other than CR and LF (with
//    `utf8`, also valid UTF-8: RFC 9051 and UTF8=ACCEPT allow it);
//  - otherwise a literal "{n}\r\n" + bytes.
// NUL cannot be sent in any IMAP string (CHAR8 excludes %x00), so NUL bytes of
// a value are dropped.
//
// RFC 3501 §7.4.2 defaults applied here: an empty or absent Sender or
// Reply-To is the From list; a text/* part whose type was defaulted by the
// parser (kDefaultType) and lacks charset gets charset "us-ascii" (every
// text/* part without one, with WriteOptions::charset_all_text).
// message/rfc822 (and, with `rev2`, message/global, RFC 9051) parts carry the
// envelope, body structure and line count of the encapsulated message; text/*
// parts carry their line count; BODYSTRUCTURE adds the extension data (md5,
// disposition, language, location; for multiparts the parameters instead of
// md5). Types and subtypes are written as parsed (lower-case).
//
// Pure: no I/O; the BODYSTRUCTURE walk uses an explicit stack (no recursion)
// and writes every part at most once.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mail/mime.h"

namespace ringmta::imap {

struct WriteOptions {
  bool utf8 = false;  // UTF-8 allowed in quoted strings (IMAP4rev2, or UTF8=ACCEPT enabled)
  bool rev2 = false;  // IMAP4rev2 grammar: message/global is written like message/rfc822
  // charset "us-ascii" for every text/* part without a charset (what Dovecot
  // does, RFC 2046 §4.1.2's default), not only where the type was defaulted.
  bool charset_all_text = false;
};

// Longest value written as a quoted string; longer ones are literals (they read
// better, and clients cope with long literals more often than long quotes).
inline constexpr size_t kMaxQuoted = 1000;

// `s` as an IMAP string: quoted or literal.
void append_string(std::string& out, std::string_view s, const WriteOptions& o = {});
// `s` as an nstring: NIL when absent.
void append_nstring(std::string& out, const std::optional<std::string>& s,
                    const WriteOptions& o = {});
// `s` as an astring: an atom when it is one (and not NIL), else a string.
void append_astring(std::string& out, std::string_view s, const WriteOptions& o = {});

// A mailbox name (UTF-8, as the store keeps it) as the astring LIST, LSUB,
// STATUS and the like send: modified UTF-7 (mutf7.h), or the UTF-8 itself
// when `o.utf8` (UTF8=ACCEPT enabled, IMAP4rev2). False, and nothing written,
// when the name is not a valid mailbox name (valid_utf8_mailbox_name).
bool append_mailbox(std::string& out, std::string_view utf8_name, const WriteOptions& o = {});

// Whether `s` is an atom (1*ATOM-CHAR).
bool is_atom(std::string_view s);
// Whether `s` is a flag as RFC 3501 writes it: "\" atom (system flag or
// extension) or a keyword atom.
bool is_flag(std::string_view s);

// "(" flag *(SP flag) ")"; values that are not flags (is_flag) are left out.
void append_flag_list(std::string& out, std::span<const std::string_view> flags);
void append_flag_list(std::string& out, std::span<const std::string> flags);

// The ENVELOPE of a message (with the §7.4.2 defaults).
void append_envelope(std::string& out, const mail::Envelope& env, const WriteOptions& o = {});

// BODYSTRUCTURE (extensible, `extended`) or BODY (non-extensible) of part
// `index` of `s` (0: the message). An index outside the tree writes nothing
// and returns false.
bool append_body_structure(std::string& out, const mail::MimeStructure& s, bool extended,
                           uint32_t index = 0, const WriteOptions& o = {});

}  // namespace ringmta::imap
