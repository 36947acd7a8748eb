// proto/imap/response.cpp — IMAP strings, flag lists and ENVELOPE as text
// (RFC 3501 §4, §7.4.2). See response.h for the choices made.
#include "proto/imap/response.h"

#include <algorithm>

#include "base/text.h"
#include "proto/imap/mutf7.h"

namespace ringmta::imap {
namespace {

// ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ].
bool atom_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

// Whether `s` can be a quoted string: TEXT-CHARs (CHAR without CR, LF), NUL
// aside (dropped), and with utf8 also valid UTF-8 sequences.
bool quotable(std::string_view s, bool utf8) {
  if (s.size() > kMaxQuoted) return false;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r' || c == '\n') return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (!utf8) return false;
    size_t n = base::utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_address(std::string& out, const mail::EnvelopeAddress& a, const WriteOptions& o) {
  using Kind = mail::EnvelopeAddress::Kind;
  // addr-name addr-adl addr-mailbox addr-host; group start: (NIL NIL "name" NIL),
  // group end: (NIL NIL NIL NIL) — RFC 3501 §7.4.2.
  out += '(';
  switch (a.kind) {
    case Kind::GroupStart:
      out += "NIL NIL ";
      append_string(out, a.mailbox, o);
      out += " NIL";
      break;
    case Kind::GroupEnd:
      out += "NIL NIL NIL NIL";
      break;
    case Kind::Mailbox:
      if (a.name.empty()) out += "NIL"; else append_string(out, a.name, o);
      out += ' ';
      if (a.route.empty()) out += "NIL"; else append_string(out, a.route, o);
      out += ' ';
      append_string(out, a.mailbox, o);
      out += ' ';
      append_string(out, a.host, o);
      break;
  }
  out += ')';
}

void append_address_list(std::string& out, const std::vector<mail::EnvelopeAddress>& list,
                         const WriteOptions& o) {
  if (list.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (const auto& a : list) append_address(out, a, o);
  out += ')';
}

template <typename Flags>
void append_flags(std::string& out, const Flags& flags) {
  out += '(';
  bool first = true;
  for (const auto& f : flags) {
    if (!is_flag(f)) continue;
    if (!first) out += ' ';
    first = false;
    out += f;
  }
  out += ')';
}

}  // namespace

bool is_atom(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!atom_char(static_cast<unsigned char>(c))) return false;
  return true;
}

bool is_flag(std::string_view s) {
  if (!s.empty() && s[0] == '\\') s.remove_prefix(1);
  return is_atom(s);
}

// Appends `s` to `out` with NUL bytes dropped (they cannot be sent, see
// response.h) and, when `quoted`, '"' and '\\' escaped. Runs of plain bytes
// are appended whole: FETCH ENVELOPE writes many strings per message.
static void append_clean(std::string& out, std::string_view s, bool quoted) {
  const char* p = s.data();
  const char* const e = p + s.size();
  const char* run = p;
  for (; p != e; ++p) {
    const char c = *p;
    if (c != '\0' && (!quoted || (c != '"' && c != '\\'))) continue;
    out.append(run, static_cast<size_t>(p - run));
    if (c != '\0') {
      out += '\\';
      out += c;
    }
    run = p + 1;
  }
  out.append(run, static_cast<size_t>(e - run));
}

void append_string(std::string& out, std::string_view s, const WriteOptions& o) {
  if (quotable(s, o.utf8)) {
    out += '"';
    append_clean(out, s, true);
    out += '"';
    return;
  }
  const size_t nuls = static_cast<size_t>(std::count(s.begin(), s.end(), '\0'));
  out += '{';
  out += std::to_string(s.size() - nuls);
  out += "}\r\n";
  append_clean(out, s, false);
}

void append_nstring(std::string& out, const std::optional<std::string>& s, const WriteOptions& o) {
  if (s) append_string(out, *s, o); else out += "NIL";
}

void append_astring(std::string& out, std::string_view s, const WriteOptions& o) {
  // ASTRING-CHAR is ATOM-CHAR or ']'.
  bool atom = !s.empty() && !base::iequals(s, "NIL");
  for (char c : s)
    if (c != ']' && !atom_char(static_cast<unsigned char>(c))) atom = false;
  if (atom) out += s; else append_string(out, s, o);
}

bool append_mailbox(std::string& out, std::string_view utf8_name, const WriteOptions& o) {
  if (o.utf8) {
    if (!valid_utf8_mailbox_name(utf8_name)) return false;
    append_astring(out, utf8_name, o);
    return true;
  }
  auto wire = mutf7_encode(utf8_name);
  if (!wire) return false;
  append_astring(out, *wire, o);
  return true;
}

void append_flag_list(std::string& out, std::span<const std::string_view> flags) {
  append_flags(out, flags);
}

void append_flag_list(std::string& out, std::span<const std::string> flags) {
  append_flags(out, flags);
}

void append_envelope(std::string& out, const mail::Envelope& env, const WriteOptions& o) {
  out += '(';
  append_nstring(out, env.date, o);
  out += ' ';
  append_nstring(out, env.subject, o);
  out += ' ';
  append_address_list(out, env.from.list, o);
  out += ' ';
  // RFC 3501 §7.4.2: Sender and Reply-To absent or empty → the From list.
  append_address_list(out, env.sender.list.empty() ? env.from.list : env.sender.list, o);
  out += ' ';
  append_address_list(out, env.reply_to.list.empty() ? env.from.list : env.reply_to.list, o);
  out += ' ';
  append_address_list(out, env.to.list, o);
  out += ' ';
  append_address_list(out, env.cc.list, o);
  out += ' ';
  append_address_list(out, env.bcc.list, o);
  out += ' ';
  append_nstring(out, env.in_reply_to, o);
  out += ' ';
  append_nstring(out, env.message_id, o);
  out += ')';
}

}  // namespace ringmta::imap
