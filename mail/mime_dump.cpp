// mail/mime_dump.cpp — dump_structure(): a readable text form of a parsed
// MIME tree, the format of the golden files in tests/golden/mime/.
//
// One block per part, indented two spaces per level, children after their
// parent in order:
//   #<index> <type>/<subtype> header=<offset>+<length> body=<offset>+<length> [lines=N] [flags]
// followed by one line per non-empty field (param, encoding, id, ...) and, for
// messages, the envelope: raw values, then one "addr" line per parsed address
// in IMAP order (name route mailbox host), NIL for an absent or empty field.
// Strings are quoted, '"' and '\' backslash-escaped, bytes outside printable
// ASCII written \xNN, so the dump is plain ASCII whatever the message holds.
#include <cstdio>

#include "mail/mime.h"

namespace ringmta::mail {
namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

std::string nil_or(std::string_view s) { return s.empty() ? "NIL" : quoted(s); }

void line(std::string& out, size_t depth, const std::string& text) {
  out.append(depth * 2, ' ');
  out += text;
  out.push_back('\n');
}

void params(std::string& out, size_t depth, const char* label, const std::vector<MimeParam>& ps) {
  for (const MimeParam& p : ps) line(out, depth, std::string(label) + " " + quoted(p.name) + "=" + quoted(p.value));
}

void addresses(std::string& out, size_t depth, const char* label, const AddressField& f) {
  if (!f.raw) return;
  line(out, depth, std::string(label) + " " + quoted(*f.raw));
  for (const EnvelopeAddress& a : f.list) {
    switch (a.kind) {
      case EnvelopeAddress::Kind::GroupStart:
        line(out, depth + 1, "group " + quoted(a.mailbox));
        break;
      case EnvelopeAddress::Kind::GroupEnd:
        line(out, depth + 1, "group-end");
        break;
      case EnvelopeAddress::Kind::Mailbox:
        line(out, depth + 1, "addr " + nil_or(a.name) + " " + nil_or(a.route) + " " + quoted(a.mailbox) + " " +
                                 quoted(a.host));
        break;
    }
  }
}

void envelope(std::string& out, size_t depth, const Envelope& e) {
  line(out, depth, "envelope");
  ++depth;
  auto opt = [&](const char* label, const std::optional<std::string>& v) {
    if (v) line(out, depth, std::string(label) + " " + quoted(*v));
  };
  opt("date", e.date);
  opt("subject", e.subject);
  addresses(out, depth, "from", e.from);
  addresses(out, depth, "sender", e.sender);
  addresses(out, depth, "reply-to", e.reply_to);
  addresses(out, depth, "to", e.to);
  addresses(out, depth, "cc", e.cc);
  addresses(out, depth, "bcc", e.bcc);
  opt("in-reply-to", e.in_reply_to);
  opt("message-id", e.message_id);
}

void part(std::string& out, const MimeStructure& s, uint32_t index, size_t depth) {
  const MimePart& p = s.parts[index];
  std::string head = "#" + std::to_string(index) + " " + p.type + "/" + p.subtype +
                     " header=" + std::to_string(p.header.offset) + "+" + std::to_string(p.header.length) +
                     " body=" + std::to_string(p.body.offset) + "+" + std::to_string(p.body.length);
  if (p.type == "text" || (p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global")))
    head += " lines=" + std::to_string(p.lines);  // the parts that count lines
  if (p.flags & kDefaultType) head += " default-type";
  if (p.flags & kBroken) head += " broken";
  if (p.flags & kLimit) head += " limit";
  line(out, depth, head);
  const size_t d = depth + 1;
  params(out, d, "param", p.params);
  line(out, d, "encoding " + quoted(p.encoding));
  if (!p.id.empty()) line(out, d, "id " + quoted(p.id));
  if (!p.description.empty()) line(out, d, "description " + quoted(p.description));
  if (!p.md5.empty()) line(out, d, "md5 " + quoted(p.md5));
  if (!p.disposition.empty()) {
    line(out, d, "disposition " + quoted(p.disposition));
    params(out, d + 1, "param", p.disposition_params);
  }
  for (const std::string& l : p.language) line(out, d, "language " + quoted(l));
  if (!p.location.empty()) line(out, d, "location " + quoted(p.location));
  if (p.envelope) envelope(out, d, *p.envelope);
}

}  // namespace

std::string dump_structure(const MimeStructure& s) {
  std::string out = "message size=" + std::to_string(s.message_size) + " parts=" + std::to_string(s.parts.size()) + "\n";
  if (s.parts.empty()) return out;
  // Depth-first with an explicit stack (no recursion on untrusted depth).
  struct Item {
    uint32_t index;
    size_t depth;
  };
  std::vector<Item> stack{{0, 0}};
  std::vector<bool> seen(s.parts.size(), false);
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    if (it.index >= s.parts.size() || seen[it.index]) continue;  // only a hand-made bad tree
    seen[it.index] = true;
    part(out, s, it.index, it.depth);
    const std::vector<uint32_t>& kids = s.parts[it.index].children;
    for (size_t i = kids.size(); i-- > 0;) stack.push_back({kids[i], it.depth + 1});
  }
  return out;
}

}  // namespace ringmta::mail
