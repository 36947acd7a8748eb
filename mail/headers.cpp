// mail/headers.cpp — header block splitting, field listing and unfolding.
//
// Everything walks the input line by line with '\n' as the terminator; a '\r'
// right before it belongs to the line end. That single rule gives CRLF and
// bare-LF tolerance everywhere without a normalising copy.
#include "mail/headers.h"

#include <algorithm>

#include "base/text.h"

namespace ringmta::mail {
namespace {

// One line of the input: [begin, content_end) is its text, [content_end, end)
// its line end ("\r\n", "\n", or nothing for an unterminated last line).
struct Line {
  size_t begin = 0;
  size_t content_end = 0;
  size_t end = 0;
};

// The line starting at `pos` (pos < text.size()).
Line line_at(std::string_view text, size_t pos) {
  Line l;
  l.begin = pos;
  size_t nl = text.find('\n', pos);
  if (nl == std::string_view::npos) {
    l.content_end = l.end = text.size();
    return l;
  }
  l.end = nl + 1;
  l.content_end = (nl > pos && text[nl - 1] == '\r') ? nl - 1 : nl;
  return l;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 ftext: printable ASCII except ':'.
bool is_ftext(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && c != ':';
}

}  // namespace

MessageParts split_message(std::string_view message) {
  MessageParts parts;
  size_t pos = 0;
  while (pos < message.size()) {
    Line l = line_at(message, pos);
    if (l.content_end == l.begin && l.end > l.content_end) {  // empty, terminated line
      parts.header_block = message.substr(0, pos);
      parts.body = message.substr(l.end);
      parts.has_separator = true;
      return parts;
    }
    pos = l.end;
  }
  parts.header_block = message;
  return parts;
}

std::vector<HeaderField> header_fields(std::string_view header_block, size_t max_fields) {
  std::vector<HeaderField> out;
  bool open = false;  // the last field may still take continuation lines
  size_t value_begin = 0, value_end = 0;
  std::string_view name;
  auto close = [&] {
    if (open) out.push_back({name, header_block.substr(value_begin, value_end - value_begin)});
    open = false;
  };
  size_t pos = 0;
  while (pos < header_block.size() && out.size() < max_fields) {
    Line l = line_at(header_block, pos);
    pos = l.end;
    std::string_view text = header_block.substr(l.begin, l.content_end - l.begin);
    if (!text.empty() && is_wsp(text[0])) {
      if (open) value_end = l.content_end;  // folded continuation
      continue;                             // else: stray continuation, skipped
    }
    close();
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) continue;
    size_t name_end = colon;
    while (name_end > 0 && is_wsp(text[name_end - 1])) --name_end;  // obs "Name :"
    if (name_end == 0) continue;
    std::string_view n = text.substr(0, name_end);
    if (!std::all_of(n.begin(), n.end(), is_ftext)) continue;
    name = n;
    value_begin = l.begin + colon + 1;
    value_end = l.content_end;
    open = true;
  }
  if (out.size() < max_fields) close();
  return out;
}

std::string unfold(std::string_view raw_value) {
  std::string out;
  out.reserve(raw_value.size());
  for (size_t i = 0; i < raw_value.size(); ++i) {
    char c = raw_value[i];
    if (c == '\r' && i + 1 < raw_value.size() && raw_value[i + 1] == '\n') continue;
    if (c == '\n') continue;
    out.push_back(c);
  }
  size_t b = 0, e = out.size();
  while (b < e && is_wsp(out[b])) ++b;
  while (e > b && (is_wsp(out[e - 1]) || out[e - 1] == '\r')) --e;
  return out.substr(b, e - b);
}

bool header_name_equals(std::string_view a, std::string_view b) { return base::iequals(a, b); }

size_t count_header_fields(std::string_view message, std::string_view name, size_t stop_after) {
  size_t count = 0;
  size_t pos = 0;
  while (pos < message.size() && count <= stop_after) {
    Line l = line_at(message, pos);
    if (l.content_end == l.begin && l.end > l.content_end) break;  // the empty line: body follows
    pos = l.end;
    std::string_view text = message.substr(l.begin, l.content_end - l.begin);
    if (text.size() <= name.size() || !header_name_equals(text.substr(0, name.size()), name)) continue;
    size_t i = name.size();
    while (i < text.size() && is_wsp(text[i])) ++i;  // obs-syntax "Received :"
    if (i < text.size() && text[i] == ':') ++count;
  }
  return count;
}

std::optional<std::string> header_value(std::string_view header_block, std::string_view name) {
  // One linear walk; the field list is small next to the message itself.
  for (const HeaderField& f : header_fields(header_block))
    if (header_name_equals(f.name, name)) return unfold(f.raw_value);
  return std::nullopt;
}

LimitedHeaders limit_header_block(std::string_view header_block, size_t max_bytes) {
  LimitedHeaders r;
  if (header_block.size() <= max_bytes) {
    r.header_block = header_block;
    return r;
  }
  r.truncated = true;
  size_t best = 0;
  size_t pos = 0;
  while (pos < header_block.size() && pos <= max_bytes) {
    // A line that does not start with whitespace begins a new field, so the
    // bytes before it are whole fields.
    if (pos > 0 && !is_wsp(header_block[pos])) best = pos;
    pos = line_at(header_block, pos).end;
  }
  r.header_block = header_block.substr(0, best);
  return r;
}

}  // namespace ringmta::mail
