// proto/smtp/reply_parser.h — incremental parser for SMTP server replies
// (RFC 5321 §4.2), used by the SMTP client session for onward delivery.
//
// Bytes arrive from the socket split at arbitrary points; the parser keeps
// the partial line and reports a Reply only when its last line ("250 ...",
// i.e. code followed by SP or end of line) is complete. Multi-line replies
// ("250-..." lines) must repeat the same code on every line; anything else
// is a protocol error, as are over-long lines and over-long replies (the
// remote is misbehaving or not an SMTP server: the caller gives up on the
// connection). Bare LF is accepted as a line end because real servers send it.
//
// Enhanced status codes (RFC 2034/3463, "5.1.1") are taken from the start of
// the first line when their class digit matches the reply code's, and the
// same code is stripped from later lines so a joined text reads cleanly:
//   "550-5.1.1 No such user\r\n550 5.1.1 Try another\r\n"
//   -> code 550, enhanced "5.1.1", lines {"No such user", "Try another"},
//      str() "550 5.1.1 No such user Try another".
// Control characters in the text are replaced by '?', since the text ends up
// in logs and in DSN header fields (Diagnostic-Code).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::smtp {

struct Reply {
  int code = 0;                    // 200..559
  std::string enhanced;            // "5.1.1" if the server gave one, else ""
  std::vector<std::string> lines;  // text of each line, code and enhanced code removed

  int klass() const { return code / 100; }  // 2, 3, 4 or 5
  bool positive() const { return klass() == 2; }
  bool intermediate() const { return klass() == 3; }
  bool transient() const { return klass() == 4; }
  bool permanent() const { return klass() == 5; }
  // The enhanced code, or one derived from the basic code (2.0.0/4.0.0/5.0.0).
  std::string enhanced_or_default() const;
  // Lines joined by single spaces.
  std::string text() const;
  // "550 5.1.1 text..." — for logs and DSN Diagnostic-Code ("smtp; " + str()).
  std::string str() const;
};

struct ReplyLimits {
  size_t max_line = 2048;  // bytes per line, line end excluded
  size_t max_lines = 64;   // lines per reply
};

class ReplyParser {
 public:
  enum class Status {
    NeedMore,  // all input consumed, no complete reply yet
    Complete,  // a reply is ready: take()
    Error,     // protocol error (error() says what); the parser stays in error
  };

  explicit ReplyParser(ReplyLimits limits = {});

  // Consume bytes from the front of `in` up to the end of one reply (or all of
  // it). On Complete, `in` holds the bytes after that reply, which may begin
  // the next reply (pipelining): call again.
  Status feed(std::string_view& in);
  // The completed reply; resets the parser for the next one.
  Reply take();
  const std::string& error() const { return error_; }
  // Forget any partial reply and a previous error.
  void reset();
  // True while a reply has started but is not complete.
  bool partial() const { return !line_.empty() || !cur_.lines.empty(); }

 private:
  Status finish_line();
  Status fail(std::string why);

  ReplyLimits limits_;
  std::string line_;  // current partial line (without line end)
  Reply cur_;         // lines of the reply so far
  bool complete_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace ringmta::smtp
