// mail/mime_section.cpp — find_part(): which part of a parsed tree an IMAP
// section part number ("2.1.3") names, following RFC 3501 §6.4.5, so FETCH
// BODY[section] is a lookup plus a slice of the stored message.
#include "mail/mime.h"

namespace ringmta::mail {
namespace {

bool is_message_type(const MimePart& p) {
  return p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global");
}

}  // namespace

std::optional<uint32_t> find_part(const MimeStructure& s, std::span<const uint32_t> path) {
  if (s.parts.empty()) return std::nullopt;
  uint32_t node = 0;
  bool message = true;  // `node` is a message whose parts are being numbered (not a part itself)
  for (uint32_t n : path) {  // bounded by the path; each step moves down the tree
    if (n == 0) return std::nullopt;
    const MimePart* p = &s.parts[node];
    if (!message && is_message_type(*p)) {
      // The parts of a message/rfc822 part are those of the message it holds.
      if (p->children.size() != 1) return std::nullopt;
      node = p->children[0];
      p = &s.parts[node];
      message = true;
    }
    if (p->type == "multipart") {
      if (n > p->children.size()) return std::nullopt;
      node = p->children[n - 1];
    } else if (!message || n != 1) {
      return std::nullopt;  // a leaf has no parts; a single-part message only part 1 (itself)
    }
    message = false;
  }
  return node;
}

}  // namespace ringmta::mail
