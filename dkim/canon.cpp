// dkim/canon.cpp — see canon.h.
#include "dkim/canon.h"

namespace ringmta::dkim {
namespace {

bool wsp(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The end of the line starting at `pos`: the index after its CRLF, or the
// end of the text.
size_t line_end(std::string_view s, size_t pos) {
  const size_t crlf = s.find("\r\n", pos);
  return crlf == std::string_view::npos ? s.size() : crlf + 2;
}

}  // namespace

SplitMessage split_fields(std::string_view message, size_t max_fields) {
  SplitMessage out;
  size_t pos = 0;
  // Each pass consumes at least one byte: bounded by the message size.
  while (pos < message.size()) {
    if (message.substr(pos, 2) == "\r\n") {  // the empty line
      out.body_offset = pos + 2;
      return out;
    }
    size_t end = line_end(message, pos);
    // Continuation lines belong to this field.
    while (end < message.size() && wsp(message[end])) end = line_end(message, end);
    const std::string_view text = message.substr(pos, end - pos);
    const size_t colon = text.find(':');
    // A name has no line end in it; a line starting with WSP has no field
    // before it (junk at the top), so it is skipped like a line without colon.
    if (colon != std::string_view::npos && colon > 0 && !wsp(text[0]) &&
        text.substr(0, colon).find("\r\n") == std::string_view::npos && out.fields.size() < max_fields) {
      std::string_view name = text.substr(0, colon);
      while (!name.empty() && wsp(name.back())) name.remove_suffix(1);
      out.fields.push_back({name, text});
    }
    pos = end;
  }
  out.body_offset = message.size();  // all header, no body
  return out;
}

std::string canon_header(Canon c, const RawField& field) {
  std::string out;
  if (c == Canon::Simple) {
    out.assign(field.text);
    if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
    return out;
  }
  out.reserve(field.text.size() + 2);
  for (char ch : field.name) out += lower(ch);
  out += ':';
  std::string_view value = field.text.substr(field.text.find(':') + 1);
  bool pending = false;  // WSP (or a fold) since the last value byte
  bool started = false;  // a value byte written (leading WSP is dropped)
  for (size_t i = 0; i < value.size(); ++i) {
    const char ch = value[i];
    if (ch == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
      ++i;  // unfold: the CRLF goes, the WSP after it counts as WSP
      continue;
    }
    if (wsp(ch)) {
      pending = true;
      continue;
    }
    if (pending && started) out += ' ';
    pending = false;
    started = true;
    out += ch;
  }
  out += "\r\n";
  return out;
}

void BodyCanon::content(char c, std::string& out) {
  if (!has_content_) {
    for (; empty_lines_ > 0; --empty_lines_) out += "\r\n";
    has_content_ = true;
  }
  if (wsp_) out += ' ';
  wsp_ = false;
  out += c;
  any_ = true;
}

void BodyCanon::end_line(std::string& out) {
  wsp_ = false;  // relaxed: WSP at the end of a line is dropped
  if (has_content_) {
    out += "\r\n";
    has_content_ = false;
  } else {
    ++empty_lines_;
  }
}

void BodyCanon::feed(std::string_view chunk, std::string& out) {
  const bool relaxed = canon_ == Canon::Relaxed;
  for (size_t i = 0; i < chunk.size();) {
    // Fast path, most of a body: inside a line with nothing held back, a run
    // of bytes that are neither CR nor (relaxed) WSP is copied as it is.
    if (has_content_ && !cr_ && !wsp_) {
      size_t j = i;
      while (j < chunk.size() && chunk[j] != '\r' && !(relaxed && wsp(chunk[j]))) ++j;
      if (j > i) {
        out.append(chunk.data() + i, j - i);
        i = j;
        continue;
      }
    }
    const char c = chunk[i++];
    if (cr_) {
      cr_ = false;
      if (c == '\n') {
        end_line(out);
        continue;
      }
      content('\r', out);
    }
    if (c == '\r') {
      cr_ = true;
    } else if (canon_ == Canon::Relaxed && wsp(c)) {
      wsp_ = true;
    } else {
      content(c, out);
    }
  }
}

void BodyCanon::finish(std::string& out) {
  if (cr_) content('\r', out);
  cr_ = false;
  wsp_ = false;
  // A last line without CRLF gets one; trailing empty lines are dropped.
  if (has_content_) out += "\r\n";
  has_content_ = false;
  empty_lines_ = 0;
  // simple: an empty body is one CRLF (§3.4.3); relaxed: nothing (§3.4.4,
  // erratum 1384 — what dkimpy and OpenDKIM do).
  if (!any_ && canon_ == Canon::Simple) out += "\r\n";
}

std::string canon_body(Canon c, std::string_view body) {
  BodyCanon b(c);
  std::string out;
  b.feed(body, out);
  b.finish(out);
  return out;
}

}  // namespace ringmta::dkim
