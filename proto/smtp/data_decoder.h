// proto/smtp/data_decoder.h — incremental decoder for the SMTP DATA body,
// and the line-end check for BDAT bodies.
//
// Feeds on arbitrary slices of the byte stream (a split may fall anywhere,
// including inside CRLF.CRLF or inside the "CRLF.." of a stuffed line) and
// appends the message with dot-stuffing undone (RFC 5321 §4.5.2). The end of
// the body is only CRLF "." CRLF; the initial state counts as "after CRLF", so
// a body that is just ".\r\n" is an empty message.
//
// Smuggling defence (documented choice, like Postfix 3.9's
// smtpd_forbid_bare_newline): a bare LF, a bare CR or a NUL never ends or
// splits the body, but they are flagged so the session can reject the message
// after the end marker. Scanning uses memchr over whole segments, not
// per-byte appends, because DATA is where a relay spends its bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::smtp {

class DataDecoder {
 public:
  struct Result {
    size_t consumed = 0;  // bytes of the input used (up to and incl. the end marker)
    bool done = false;    // CRLF.CRLF seen
  };

  // Start a new body; at most `max_size` unstuffed bytes are stored.
  void reset(uint64_t max_size);
  // Decode from `in`, appending to `out` while the size stays within the limit.
  Result feed(std::string_view in, std::string& out);

  uint64_t size() const { return size_; }          // unstuffed bytes seen (all of them)
  bool oversize() const { return oversize_; }      // size() exceeded max_size
  bool bare_newline() const { return bare_; }      // a CR or LF not part of CRLF
  bool has_nul() const { return nul_; }

 private:
  // LineStart: after CRLF. Dot: "." at line start seen (and dropped).
  // DotCR: ".\r" at line start pending. Mid: inside a line. MidCR: the last
  // byte (already stored) was a CR.
  enum class State : uint8_t { LineStart, Dot, DotCR, Mid, MidCR };

  void emit(const char* p, size_t n, std::string& out);

  State state_ = State::LineStart;
  uint64_t max_ = 0;
  uint64_t size_ = 0;
  bool oversize_ = false;
  bool bare_ = false;
  bool nul_ = false;
};

// The same smuggling rule for BDAT (RFC 3030) bodies, which are stored as
// sent: every CR must be followed by LF and every LF preceded by CR, and no
// NUL — across chunk boundaries (a chunk may end between CR and LF). BDAT
// needs no end-of-data line itself, but the message may later leave by DATA
// to a server that takes a bare CR or LF as a line end, so a body that is not
// canonical is refused the same way as in DATA (one rule for both).
class LineEndCheck {
 public:
  void reset() { *this = LineEndCheck{}; }
  void feed(std::string_view chunk);
  // The body is complete (BDAT LAST): a CR as the very last byte is bare.
  void finish() {
    if (pending_cr_) bare_ = true;
    pending_cr_ = false;
  }
  bool bare_newline() const { return bare_; }
  bool has_nul() const { return nul_; }

 private:
  bool pending_cr_ = false;  // the previous chunk ended in CR
  bool bare_ = false;
  bool nul_ = false;
};

}  // namespace ringmta::smtp
