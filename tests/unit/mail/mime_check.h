// tests/unit/mail/mime_check.h — the invariants every parse_mime() result
// must keep (mail/mime.h), written independently of the library's own
// decoder checks. Shared by the unit tests and the fuzz target
// (tests/fuzz/mime_fuzz.cpp). Returns "" when all hold, else what broke.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mail/mime.h"

namespace ringmta::mail::test {

inline std::string check_structure(const MimeStructure& s, std::string_view message, const MimeLimits& lim = {}) {
  if (s.message_size != message.size()) return "message_size";
  if (s.parts.empty()) return "no root";
  if (s.parts.size() > (lim.max_parts < 1 ? 1 : lim.max_parts)) return "too many parts";
  std::vector<int> parent(s.parts.size(), -1);
  std::vector<unsigned> depth(s.parts.size(), 0);
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const MimePart& p = s.parts[i];
    const bool is_msg = p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global");
    if (p.type == "multipart" && p.children.empty()) return "empty multipart #" + std::to_string(i);
    if (is_msg && p.children.size() != 1) return "message without one child #" + std::to_string(i);
    if (p.type != "multipart" && !is_msg && !p.children.empty()) return "leaf with children #" + std::to_string(i);
    if (p.header.offset + p.header.length != p.body.offset) return "header/body not adjacent #" + std::to_string(i);
    if (p.body.offset + p.body.length > message.size()) return "body beyond message #" + std::to_string(i);
    if (p.type.empty() || p.subtype.empty()) return "empty type #" + std::to_string(i);
    for (char c : p.type + p.subtype + p.encoding)
      if (c >= 'A' && c <= 'Z') return "upper case in type/encoding #" + std::to_string(i);
    for (uint32_t c : p.children) {
      if (c <= i || c >= s.parts.size() || parent[c] != -1) return "bad child of #" + std::to_string(i);
      parent[c] = static_cast<int>(i);
      depth[c] = depth[i] + 1;
      if (depth[c] > lim.max_depth) return "too deep #" + std::to_string(c);
    }
    // The body of a text or message part has as many lines as line ends, plus an unterminated last line.
    if (p.type == "text" || is_msg) {
      std::string_view body = message.substr(p.body.offset, p.body.length);
      uint64_t lines = 0;
      for (char c : body) lines += c == '\n';
      if (!body.empty() && body.back() != '\n') ++lines;
      if (lines != p.lines) return "line count #" + std::to_string(i);
    }
  }
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const MimePart& p = s.parts[i];
    size_t begin = 0, end = message.size();
    if (i == 0) {
      if (p.header.offset != 0 || p.body.offset + p.body.length != message.size()) return "root spans";
      if (!p.envelope) return "root without envelope";
    } else {
      if (parent[i] < 0) return "orphan #" + std::to_string(i);
      const MimePart& up = s.parts[parent[i]];
      begin = up.body.offset;
      end = up.body.offset + up.body.length;
      const bool up_message = up.type == "message";
      if (p.envelope.has_value() != up_message) return "envelope placement #" + std::to_string(i);
      // An encapsulated message is exactly its parent's body.
      if (up_message && (p.header.offset != up.body.offset || p.body.offset + p.body.length != end))
        return "encapsulated message spans #" + std::to_string(i);
    }
    if (p.header.offset < begin || p.body.offset + p.body.length > end) return "outside parent #" + std::to_string(i);
    // Siblings are in order and do not overlap.
    for (size_t k = 1; k < p.children.size(); ++k) {
      const MimePart& a = s.parts[p.children[k - 1]];
      const MimePart& b = s.parts[p.children[k]];
      if (a.body.offset + a.body.length > b.header.offset) return "siblings overlap under #" + std::to_string(i);
    }
  }
  return "";
}

}  // namespace ringmta::mail::test
