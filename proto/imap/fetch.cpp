// proto/imap/fetch.cpp — FETCH attributes (RFC 9051 §6.4.5 and §9 fetch-att,
// RFC 3501 RFC822.*, RFC 3516 BINARY, RFC 7162 MODSEQ) and the FETCH
// modifiers CHANGEDSINCE / VANISHED (RFC 7162). Sections are parsed into
// part numbers + text so the response side never re-reads the request.
#include <cctype>

#include "proto/imap/parser.h"

namespace ringmta::imap::detail {
namespace {

bool section_part(Parser& p, FetchAtt& a) {
  // section-part = nz-number *("." nz-number); stops before ".TEXT" etc.
  for (;;) {
    if (a.part.size() >= 64) return p.fail("Section part too deep");
    std::uint32_t n = 0;
    if (!p.nz_number(n)) return false;
    a.part.push_back(n);
    if (p.peek() != '.') return true;
    p.eat('.');
    if (p.peek() < '0' || p.peek() > '9') return true;  // section-text follows
  }
}

bool header_list(Parser& p, FetchAtt& a) {
  if (!p.sp() || !p.expect('(')) return false;
  for (;;) {
    if (a.fields.size() >= kMaxListItems) return p.fail("Too many header fields");
    std::string f;
    if (!p.astring(f)) return false;
    for (char& c : f) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    a.fields.push_back(std::move(f));
    if (p.eat(')')) return true;
    if (!p.sp()) return false;
  }
}

bool section(Parser& p, FetchAtt& a, bool binary) {
  if (!p.expect('[')) return false;
  if (p.eat(']')) return true;
  bool had_part = false;
  if (p.peek() >= '0' && p.peek() <= '9') {
    if (!section_part(p, a)) return false;
    had_part = true;
    if (p.eat(']')) return true;
    if (binary) return p.fail("BINARY takes only a part number");
  } else if (binary) {
    return p.fail("BINARY takes only a part number");
  }
  std::string t;
  if (!p.upper_atom(t)) return false;
  // upper_atom stops at ']' and '(' / SP, so "HEADER.FIELDS.NOT" arrives whole.
  if (t == "HEADER" || t == "TEXT" || (t == "MIME" && had_part)) {
    a.text = t;
  } else if (t == "HEADER.FIELDS" || t == "HEADER.FIELDS.NOT") {
    a.text = t;
    if (!header_list(p, a)) return false;
  } else {
    return p.fail("Invalid section");
  }
  return p.expect(']');
}

bool partial(Parser& p, FetchAtt& a) {
  if (!p.eat('<')) return true;
  std::uint64_t off = 0, len = 0;
  if (!p.number(off, 0xffffffffULL) || !p.expect('.') || !p.number(len, 0xffffffffULL)) return false;
  if (len == 0) return p.fail("Partial length must not be zero");
  a.partial = true;
  a.offset = static_cast<std::uint32_t>(off);
  a.length = static_cast<std::uint32_t>(len);
  return p.expect('>');
}

bool one_att(Parser& p, FetchAtt& a) {
  a = FetchAtt{};
  struct Simple {
    std::string_view name;
    FetchItem item;
  };
  // Longer names first where one begins another ("RFC822.SIZE" / "RFC822").
  static constexpr Simple kSimple[] = {
      {"ENVELOPE", FetchItem::Envelope},         {"FLAGS", FetchItem::Flags},
      {"INTERNALDATE", FetchItem::InternalDate}, {"RFC822.HEADER", FetchItem::Rfc822Header},
      {"RFC822.SIZE", FetchItem::Rfc822Size},    {"RFC822.TEXT", FetchItem::Rfc822Text},
      {"RFC822", FetchItem::Rfc822},             {"BODYSTRUCTURE", FetchItem::BodyStructure},
      {"UID", FetchItem::Uid},                   {"MODSEQ", FetchItem::ModSeq},
  };
  for (const Simple& s : kSimple)
    if (p.keyword(s.name)) {
      a.item = s.item;
      return true;
    }
  if (p.keyword("BINARY.SIZE")) {
    a.item = FetchItem::BinarySize;
    return section(p, a, true);
  }
  const bool binary_peek = p.keyword("BINARY.PEEK");
  if (binary_peek || p.keyword("BINARY")) {
    a.item = FetchItem::Binary;
    a.peek = binary_peek;
    return section(p, a, true) && partial(p, a);
  }
  if (p.keyword("BODY.PEEK")) {
    a.item = FetchItem::BodySection;
    a.peek = true;
    return section(p, a, false) && partial(p, a);
  }
  if (p.keyword("BODY")) {
    if (p.peek() != '[') {
      a.item = FetchItem::Body;
      return true;
    }
    a.item = FetchItem::BodySection;
    return section(p, a, false) && partial(p, a);
  }
  return p.fail(p.at_end() ? "Missing fetch attribute" : "Unknown fetch attribute");
}

}  // namespace

bool fetch_atts(Parser& p, Command& c) {
  auto add = [&](FetchItem i) {
    FetchAtt a;
    a.item = i;
    c.fetch.push_back(a);
  };
  // Macros (RFC 9051 §6.4.5): only alone, never inside a list.
  const bool full = p.keyword("FULL");
  const bool all = !full && p.keyword("ALL");
  if (full || all || p.keyword("FAST")) {
    add(FetchItem::Flags);
    add(FetchItem::InternalDate);
    add(FetchItem::Rfc822Size);
    if (full || all) add(FetchItem::Envelope);
    if (full) add(FetchItem::Body);
  } else if (p.eat('(')) {
    for (;;) {
      if (c.fetch.size() >= kMaxListItems) return p.fail("Too many fetch attributes");
      c.fetch.emplace_back();
      if (!one_att(p, c.fetch.back())) return false;
      if (p.eat(')')) break;
      if (!p.sp()) return false;
    }
  } else {
    c.fetch.emplace_back();
    if (!one_att(p, c.fetch.back())) return false;
  }
  if (p.at_end()) return true;
  if (!p.sp() || !p.expect('(')) return false;
  for (;;) {
    std::string m;
    if (!p.upper_atom(m)) return false;
    if (m == "CHANGEDSINCE") {
      if (!p.sp() || !p.number(c.changedsince, ~0ULL >> 1)) return false;
      c.has_changedsince = true;
    } else if (m == "VANISHED") {
      c.vanished = true;
    } else {
      return p.fail("Unknown FETCH modifier");
    }
    if (p.eat(')')) break;
    if (!p.sp()) return false;
  }
  if (c.vanished && (!c.uid || !c.has_changedsince)) return p.fail("VANISHED needs UID FETCH with CHANGEDSINCE");
  return p.end();
}

}  // namespace ringmta::imap::detail
