// proto/pop3/message_writer.h — turns stored message bytes into the body of
// a RETR or TOP response (RFC 1939 §3): CRLF line ends, dot-stuffing, and
// for TOP only the header, the blank line and the first N body lines.
//
// Its own piece because the bytes arrive in chunks of any size from the
// host (a message is never held whole here): every decision — line start,
// a CR whose LF is in the next chunk, the end of the header — survives a
// chunk boundary. Pure and allocation-free apart from appending to `out`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringmta::pop3 {

class MessageWriter {
 public:
  // nullopt: the whole message (RETR). A number: TOP's body line count.
  explicit MessageWriter(std::optional<uint64_t> body_lines = std::nullopt);

  // Append the converted form of `bytes` to `out`. Returns true once TOP's
  // line count is reached: the rest of the message is not needed.
  bool write(std::string_view bytes, std::string& out);
  // Complete an unterminated last line and append the terminating ".\r\n".
  void finish(std::string& out);
  bool done() const { return done_; }

 private:
  void end_of_line();

  bool limited_;
  uint64_t lines_left_;
  bool line_start_ = true;
  bool prev_cr_ = false;       // the last byte written was a CR (its LF may follow)
  uint64_t line_bytes_ = 0;    // bytes of the current line so far
  bool in_header_ = true;
  bool done_ = false;
};

}  // namespace ringmta::pop3
