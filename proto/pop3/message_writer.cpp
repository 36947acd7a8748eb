// proto/pop3/message_writer.cpp — see message_writer.h.
//
// Line ends: LF and CRLF both end a line and go out as CRLF; a CR not
// followed by LF is data (it is copied as it is; the store keeps CRLF
// anyway, this only matters for imported mail). Dot-stuffing: a line that
// starts with "." gets one more (RFC 1939 §3). The header ends at the first
// empty line (nothing, or only a CR, before its LF).
#include "proto/pop3/message_writer.h"

#include <cstring>

namespace ringmta::pop3 {

MessageWriter::MessageWriter(std::optional<uint64_t> body_lines)
    : limited_(body_lines.has_value()), lines_left_(body_lines.value_or(0)) {}

// A LF was just consumed: the line is over.
void MessageWriter::end_of_line() {
  const bool empty = line_bytes_ == 0 || (line_bytes_ == 1 && prev_cr_);
  line_start_ = true;
  line_bytes_ = 0;
  prev_cr_ = false;
  if (!limited_) return;
  if (in_header_) {
    if (!empty) return;
    in_header_ = false;
    if (lines_left_ == 0) done_ = true;  // TOP n 0: header and blank line only
    return;
  }
  if (--lines_left_ == 0) done_ = true;
}

bool MessageWriter::write(std::string_view bytes, std::string& out) {
  size_t pos = 0;
  // Each turn consumes the rest of one line (or of the chunk); bounded by
  // the number of LFs in `bytes` plus one.
  while (pos < bytes.size() && !done_) {
    if (line_start_ && bytes[pos] == '.') out.push_back('.');
    line_start_ = false;
    const char* base = bytes.data() + pos;
    const size_t avail = bytes.size() - pos;
    const char* lf = static_cast<const char*>(std::memchr(base, '\n', avail));
    const size_t span = lf ? static_cast<size_t>(lf - base) : avail;
    if (span > 0) {
      out.append(base, span);
      line_bytes_ += span;
      prev_cr_ = base[span - 1] == '\r';
    }
    pos += span;
    if (!lf) break;
    out.append(prev_cr_ ? "\n" : "\r\n");
    ++pos;
    end_of_line();
  }
  return done_;
}

void MessageWriter::finish(std::string& out) {
  if (!line_start_) out.append(prev_cr_ ? "\n" : "\r\n");
  out.append(".\r\n");
  line_start_ = true;
  done_ = true;
}

}  // namespace ringmta::pop3
