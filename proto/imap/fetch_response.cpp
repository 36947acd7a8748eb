// proto/imap/fetch_response.cpp — assembling the untagged FETCH response of
// one message from its record, structure and bytes (fetch_response.h has the
// choices). Sections are slices of the stored message located through the
// structure parsed at delivery: nothing here parses MIME again.
#include "proto/imap/fetch_response.h"

#include <algorithm>
#include <bitset>
#include <unordered_set>

namespace ringmta::imap {
namespace {

bool is_message_type(const mail::MimePart& p) {
  return p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global");
}

// Whether `a` is the whole message (BODY[], RFC822, BINARY[]): the bytes
// alone answer it, no structure needed.
bool whole_message(const FetchAtt& a) {
  if (a.item == FetchItem::Rfc822) return true;
  return (a.item == FetchItem::BodySection || a.item == FetchItem::Binary ||
          a.item == FetchItem::BinarySize) &&
         a.part.empty() && a.text.empty();
}

enum class Found { Ok, NoPart, Missing };
struct Located {
  Found found = Found::Missing;
  std::string_view bytes;                 // the section as stored
  const mail::MimePart* part = nullptr;   // whose encoding BINARY removes (null: none)
};

// The stored bytes a section names (mail/mime.h, "Serving IMAP").
Located locate(const MessageData& m, const FetchAtt& a) {
  Located r;
  if (!m.has_body) return r;
  if (whole_message(a)) {
    r.found = Found::Ok;
    r.bytes = m.body;
    return r;
  }
  if (!m.structure || m.structure->parts.empty() || m.structure->message_size != m.body.size())
    return r;
  const mail::MimeStructure& s = *m.structure;
  std::string_view text = a.text;
  std::span<const uint32_t> path = a.part;
  if (a.item == FetchItem::Rfc822Header) text = "HEADER";
  if (a.item == FetchItem::Rfc822Text) text = "TEXT";
  if (a.item == FetchItem::Rfc822Header || a.item == FetchItem::Rfc822Text) path = {};
  std::optional<uint32_t> idx = mail::find_part(s, path);
  if (!idx || *idx >= s.parts.size()) {
    r.found = Found::NoPart;
    return r;
  }
  const mail::MimePart* p = &s.parts[*idx];
  mail::Span span;
  if (text == "MIME") {
    span = p->header;
  } else if (text.empty()) {
    span = p->body;
    r.part = p;
  } else {
    // HEADER, HEADER.FIELDS*, TEXT: of the message itself (no part number) or
    // of the message a message/rfc822|global part holds.
    if (!path.empty()) {
      if (!is_message_type(*p) || p->children.size() != 1 || p->children[0] >= s.parts.size()) {
        r.found = Found::NoPart;
        return r;
      }
      p = &s.parts[p->children[0]];
    }
    span = text == "TEXT" ? p->body : p->header;
  }
  if (span.offset > m.body.size() || span.length > m.body.size() - span.offset) return r;
  r.found = Found::Ok;
  r.bytes = m.body.substr(span.offset, span.length);
  return r;
}

// Body data as a literal; NUL as 0x80 unless `binary` (then literal8).
void append_literal(std::string& out, std::string_view data, bool binary) {
  const bool nul = data.find('\0') != std::string_view::npos;
  if (binary && nul) out += '~';
  out += '{';
  out += std::to_string(data.size());
  out += "}\r\n";
  const size_t start = out.size();
  out.append(data);
  if (nul && !binary) std::replace(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(), '\0', '\x80');
}

std::string_view apply_partial(std::string_view data, const FetchAtt& a) {
  if (!a.partial) return data;
  if (a.offset >= data.size()) return {};
  return data.substr(a.offset, a.length);
}

// The response name of a section item: "BODY[1.MIME]<0>", "BINARY[2]".
std::string section_name(const FetchAtt& a, const WriteOptions& o) {
  std::string name;
  switch (a.item) {
    case FetchItem::Rfc822: return "RFC822";
    case FetchItem::Rfc822Header: return "RFC822.HEADER";
    case FetchItem::Rfc822Text: return "RFC822.TEXT";
    case FetchItem::Binary: name = "BINARY["; break;
    case FetchItem::BinarySize: name = "BINARY.SIZE["; break;
    default: name = "BODY["; break;
  }
  append_section_spec(name, a, o);
  name += ']';
  if (a.partial && a.item != FetchItem::BinarySize) {
    name += '<';
    name += std::to_string(a.offset);
    name += '>';
  }
  return name;
}

// Writes the value of a section item; false when data was missing.
bool append_section(std::string& out, const MessageData& m, const FetchAtt& a) {
  Located l = locate(m, a);
  const bool binary = a.item == FetchItem::Binary || a.item == FetchItem::BinarySize;
  if (l.found == Found::NoPart) {  // no such part: empty (what Dovecot answers too)
    out += a.item == FetchItem::BinarySize ? "0" : "\"\"";
    return true;
  }
  if (l.found != Found::Ok) {  // data the host did not supply
    out += a.item == FetchItem::BinarySize ? "0" : "NIL";
    return false;
  }
  if (binary) {
    std::string decoded;
    std::string_view data = l.bytes;
    if (l.part) {
      if (!decode_transfer_encoding(l.part->encoding, l.bytes, decoded)) {
        out += a.item == FetchItem::BinarySize ? "0" : "NIL";  // the host should have said NO [UNKNOWN-CTE]
        return false;
      }
      data = decoded;
    }
    if (a.item == FetchItem::BinarySize) {
      out += std::to_string(data.size());
    } else {
      append_literal(out, apply_partial(data, a), true);
    }
    return true;
  }
  if (a.text == "HEADER.FIELDS" || a.text == "HEADER.FIELDS.NOT") {
    std::string selected = select_header_fields(l.bytes, a.fields, a.text == "HEADER.FIELDS.NOT");
    append_literal(out, apply_partial(selected, a), false);
    return true;
  }
  append_literal(out, apply_partial(l.bytes, a), false);
  return true;
}

}  // namespace

unsigned fetch_needs(std::span<const FetchAtt> atts) {
  unsigned needs = kNeedNothing;
  for (const FetchAtt& a : atts) {
    switch (a.item) {
      case FetchItem::Flags: case FetchItem::InternalDate: case FetchItem::Rfc822Size:
      case FetchItem::Uid: case FetchItem::ModSeq:
        break;
      case FetchItem::Envelope: case FetchItem::Body: case FetchItem::BodyStructure:
        needs |= kNeedStructure;
        break;
      case FetchItem::Rfc822: case FetchItem::Rfc822Header: case FetchItem::Rfc822Text:
      case FetchItem::BodySection: case FetchItem::Binary: case FetchItem::BinarySize:
        needs |= kNeedBody;
        if (!whole_message(a)) needs |= kNeedStructure;
        break;
    }
  }
  return needs;
}

bool sets_seen(std::span<const FetchAtt> atts) {
  for (const FetchAtt& a : atts) {
    if ((a.item == FetchItem::BodySection || a.item == FetchItem::Binary) && !a.peek) return true;
    if (a.item == FetchItem::Rfc822 || a.item == FetchItem::Rfc822Text) return true;
  }
  return false;
}

bool binary_unknown_cte(const MessageData& m, std::span<const FetchAtt> atts) {
  if (!m.structure) return false;
  for (const FetchAtt& a : atts) {
    if ((a.item != FetchItem::Binary && a.item != FetchItem::BinarySize) || a.part.empty()) continue;
    std::optional<uint32_t> idx = mail::find_part(*m.structure, a.part);
    if (idx && *idx < m.structure->parts.size() &&
        !known_transfer_encoding(m.structure->parts[*idx].encoding))
      return true;
  }
  return false;
}

bool append_fetch(std::string& out, const MessageData& m, std::span<const FetchAtt> atts,
                  const FetchOptions& o) {
  WriteOptions w = o.write;
  w.rev2 = w.rev2 || o.rev2;
  bool complete = true;
  std::bitset<32> done;  // simple items written (by FetchItem value)
  std::unordered_set<std::string> sections;  // section names written
  bool first = true;
  auto item = [&](std::string_view name) {
    if (!first) out += ' ';
    first = false;
    out += name;
    out += ' ';
  };
  auto simple = [&](FetchItem i) {
    if (done.test(static_cast<size_t>(i))) return;
    done.set(static_cast<size_t>(i));
    const mail::MimeStructure* s = m.structure;
    const bool have = s && !s->parts.empty();
    switch (i) {
      case FetchItem::Uid:
        item("UID");
        out += std::to_string(m.uid);
        break;
      case FetchItem::Flags:
        item("FLAGS");
        append_flags(out, m.flags, m.recent && !o.rev2, m.keywords);
        break;
      case FetchItem::InternalDate:
        item("INTERNALDATE");
        append_internal_date(out, m.internal_date_ms);
        break;
      case FetchItem::Rfc822Size:
        item("RFC822.SIZE");
        out += std::to_string(m.size);
        break;
      case FetchItem::ModSeq:
        item("MODSEQ");
        out += '(' + std::to_string(m.modseq) + ')';
        break;
      case FetchItem::Envelope:
        item("ENVELOPE");
        if (have && s->parts[0].envelope) {
          append_envelope(out, *s->parts[0].envelope, w);
        } else {
          out += "NIL";
          complete = false;
        }
        break;
      case FetchItem::Body:
      case FetchItem::BodyStructure:
        item(i == FetchItem::Body ? "BODY" : "BODYSTRUCTURE");
        if (!have || !append_body_structure(out, *s, i == FetchItem::BodyStructure, 0, w)) {
          out += "NIL";
          complete = false;
        }
        break;
      default:
        break;
    }
  };

  out += "* ";
  out += std::to_string(m.seq);
  out += " FETCH (";
  if (o.uid_command) simple(FetchItem::Uid);
  for (const FetchAtt& a : atts) {
    switch (a.item) {
      case FetchItem::Rfc822: case FetchItem::Rfc822Header: case FetchItem::Rfc822Text:
      case FetchItem::BodySection: case FetchItem::Binary: case FetchItem::BinarySize: {
        std::string name = section_name(a, w);
        if (!sections.insert(name).second) break;
        item(name);
        if (!append_section(out, m, a)) complete = false;
        break;
      }
      default:
        simple(a.item);
    }
  }
  if (o.add_flags) simple(FetchItem::Flags);
  if (o.condstore) simple(FetchItem::ModSeq);
  out += ")\r\n";
  return complete;
}

}  // namespace ringmta::imap
