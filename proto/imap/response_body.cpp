// proto/imap/response_body.cpp — BODY and BODYSTRUCTURE (RFC 3501 §7.4.2,
// RFC 9051 §7.5.2) written from the stored mail::MimeStructure.
//
// Grammar followed (RFC 3501 §9):
//   body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
//   body-type-basic = media-basic SP body-fields
//   body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
//   body-type-text  = media-text SP body-fields SP body-fld-lines
//   body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
//   body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
//   body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
//   body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
// The tree nests (multiparts, encapsulated messages), so the walk keeps its
// own stack of pending closes instead of recursing.
#include "proto/imap/response.h"

#include <vector>

namespace ringmta::imap {
namespace {

using mail::MimeParam;
using mail::MimePart;

void append_params(std::string& out, const std::vector<MimeParam>& params, bool add_charset,
                   const WriteOptions& o) {
  if (params.empty() && !add_charset) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true;
  for (const auto& p : params) {
    if (!first) out += ' ';
    first = false;
    append_string(out, p.name, o);
    out += ' ';
    append_string(out, p.value, o);
  }
  if (add_charset) {
    if (!first) out += ' ';
    out += "\"charset\" \"us-ascii\"";
  }
  out += ')';
}

void append_nil_or_string(std::string& out, const std::string& s, const WriteOptions& o) {
  if (s.empty()) out += "NIL"; else append_string(out, s, o);
}

// body-fld-dsp SP body-fld-lang SP body-fld-loc: the extension data both kinds share.
void append_dsp_lang_loc(std::string& out, const MimePart& p, const WriteOptions& o) {
  out += ' ';
  if (p.disposition.empty()) {
    out += "NIL";
  } else {
    out += '(';
    append_string(out, p.disposition, o);
    out += ' ';
    append_params(out, p.disposition_params, false, o);
    out += ')';
  }
  out += ' ';
  if (p.language.empty()) {
    out += "NIL";
  } else {
    out += '(';
    for (size_t i = 0; i < p.language.size(); ++i) {
      if (i) out += ' ';
      append_string(out, p.language[i], o);
    }
    out += ')';
  }
  out += ' ';
  append_nil_or_string(out, p.location, o);
}

bool has_charset(const MimePart& p) {
  for (const auto& q : p.params)
    if (q.name == "charset") return true;
  return false;
}

// media type, subtype and body-fields of a single part.
void append_fields(std::string& out, const MimePart& p, const WriteOptions& o) {
  append_string(out, p.type, o);
  out += ' ';
  append_string(out, p.subtype, o);
  out += ' ';
  bool add_charset = ((p.flags & mail::kDefaultType) || o.charset_all_text) && p.type == "text" &&
                     !has_charset(p);
  append_params(out, p.params, add_charset, o);
  out += ' ';
  append_nil_or_string(out, p.id, o);
  out += ' ';
  append_nil_or_string(out, p.description, o);
  out += ' ';
  append_string(out, p.encoding, o);
  out += ' ';
  out += std::to_string(p.body.length);
}

// What remains to write of a part once its children are written.
struct Pending {
  enum class Kind : uint8_t { Part, MultipartTail, MessageTail } kind;
  uint32_t index;
};

}  // namespace

bool append_body_structure(std::string& out, const mail::MimeStructure& s, bool extended,
                           uint32_t index, const WriteOptions& o) {
  if (index >= s.parts.size()) return false;
  std::vector<bool> written(s.parts.size(), false);
  std::vector<Pending> stack{{Pending::Kind::Part, index}};
  // A child must come after its parent (mail/mime.h invariant) and be written
  // once: a malformed tree can then neither loop nor blow up the output.
  auto usable_child = [&](uint32_t parent, uint32_t c) {
    return c > parent && c < s.parts.size() && !written[c];
  };
  while (!stack.empty()) {
    Pending t = stack.back();
    stack.pop_back();
    const MimePart& p = s.parts[t.index];
    if (t.kind == Pending::Kind::MultipartTail) {
      out += ' ';
      append_string(out, p.subtype, o);
      if (extended) {
        out += ' ';
        append_params(out, p.params, false, o);
        append_dsp_lang_loc(out, p, o);
      }
      out += ')';
      continue;
    }
    if (t.kind == Pending::Kind::MessageTail) {
      out += ' ';
      out += std::to_string(p.lines);
      if (extended) {
        out += ' ';
        append_nil_or_string(out, p.md5, o);
        append_dsp_lang_loc(out, p, o);
      }
      out += ')';
      continue;
    }
    written[t.index] = true;
    std::vector<uint32_t> kids;
    for (uint32_t c : p.children) {
      if (!usable_child(t.index, c)) continue;
      written[c] = true;  // claimed now: no other parent (or repeat) lists it again
      kids.push_back(c);
    }
    if (p.type == "multipart" && !kids.empty()) {
      out += '(';
      stack.push_back({Pending::Kind::MultipartTail, t.index});
      for (size_t k = kids.size(); k-- > 0;) stack.push_back({Pending::Kind::Part, kids[k]});
      continue;
    }
    bool message = p.type == "message" &&
                   (p.subtype == "rfc822" || (o.rev2 && p.subtype == "global"));
    const MimePart* child = kids.empty() ? nullptr : &s.parts[kids[0]];
    if (message && child) {
      out += '(';
      append_fields(out, p, o);
      out += ' ';
      if (child->envelope) {
        append_envelope(out, *child->envelope, o);
      } else {
        append_envelope(out, mail::Envelope{}, o);
      }
      out += ' ';
      stack.push_back({Pending::Kind::MessageTail, t.index});
      stack.push_back({Pending::Kind::Part, kids[0]});
      continue;
    }
    // A leaf (or a container the tree could not expand: written as a basic part).
    out += '(';
    append_fields(out, p, o);
    if (p.type == "text") {
      out += ' ';
      out += std::to_string(p.lines);
    }
    if (extended) {
      out += ' ';
      append_nil_or_string(out, p.md5, o);
      append_dsp_lang_loc(out, p, o);
    }
    out += ')';
  }
  return true;
}

}  // namespace ringmta::imap
