// proto/imap/assembler.cpp — CommandAssembler: client bytes -> complete
// commands. A command ends at a CRLF that does not follow a literal announcement
// "{n}" / "{n+}" (or literal8 "~{n}"); a literal's n bytes are taken verbatim,
// whatever they contain. Limits are checked as soon as the size is known, so a
// hostile client can make us hold at most max_line + max_literal bytes.
#include "proto/imap/command.h"

namespace ringmta::imap {
namespace {

// The tag of a (possibly partial) command, for the BAD that refuses it.
std::string tag_of(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && n < 64 && s[n] != ' ' && s[n] != '\r' && s[n] != '\n') ++n;
  std::string_view t = s.substr(0, n);
  if (t.empty()) return "*";
  for (unsigned char c : t)
    if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
        c == '\\' || c == '+')
      return "*";
  return std::string(t);
}

// If `line` ends with a literal announcement, its size and kind.
struct LiteralMark {
  bool present = false, nonsync = false, bad = false;
  std::uint64_t size = 0;
};
LiteralMark literal_mark(std::string_view line) {
  LiteralMark m;
  if (line.empty() || line.back() != '}') return m;
  std::size_t i = line.size() - 1;
  if (i > 0 && line[i - 1] == '+') {
    m.nonsync = true;
    --i;
  }
  std::size_t end = i;
  while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9') --i;
  if (i == 0 || line[i - 1] != '{' || i == end) return LiteralMark{};
  m.present = true;
  if (end - i > 19) {
    m.bad = true;
    return m;
  }
  for (std::size_t k = i; k < end; ++k) m.size = m.size * 10 + static_cast<unsigned>(line[k] - '0');
  return m;
}

}  // namespace

void CommandAssembler::compact() {
  if (pos_ > 0 && (pos_ == in_.size() || pos_ > 65536)) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
}

Assembled CommandAssembler::next() {
  Assembled out;
  // Each pass consumes input or returns, so the loop ends.
  for (;;) {
    compact();
    if (skip_left_ > 0) {
      const std::size_t take = std::min(skip_left_, in_.size() - pos_);
      pos_ += take;
      skip_left_ -= take;
      if (skip_left_ > 0) return out;
      continue;
    }
    if (discard_line_) {
      // Skips the rest of a refused over-long line. If that line announced a
      // non-synchronising literal, the client sends it anyway: skip it too and
      // the line after it, so its bytes are never taken for commands.
      const std::size_t nl = in_.find('\n', pos_);
      const std::size_t stop = nl == std::string::npos ? in_.size() : nl;
      discard_tail_.append(in_, pos_, stop - pos_);
      if (discard_tail_.size() > 32) discard_tail_.erase(0, discard_tail_.size() - 32);
      pos_ = stop;
      if (nl == std::string::npos) {
        compact();
        return out;
      }
      ++pos_;
      if (!discard_tail_.empty() && discard_tail_.back() == '\r') discard_tail_.pop_back();
      const LiteralMark m = literal_mark(discard_tail_);
      discard_tail_.clear();
      if (m.present && m.nonsync && !m.bad) {
        skip_left_ = static_cast<std::size_t>(m.size);
        continue;  // discard_line_ stays set: the command goes on after the literal
      }
      discard_line_ = false;
      continue;
    }
    if (in_literal_) {
      const std::size_t take = std::min(literal_left_, in_.size() - pos_);
      cur_.append(in_, pos_, take);
      pos_ += take;
      literal_left_ -= take;
      if (literal_left_ > 0) return out;
      in_literal_ = false;
      line_start_ = cur_.size();
      continue;
    }
    const std::size_t nl = in_.find('\n', pos_);
    const std::size_t have = (nl == std::string::npos ? in_.size() : nl) - pos_;
    if (have + (cur_.size() - line_start_) > limits_.max_line + 1) {
      out.status = AssembleStatus::Error;
      out.tag = tag_of(cur_.empty() ? std::string_view(in_).substr(pos_) : std::string_view(cur_));
      out.error = "Command line too long";
      out.toobig = true;
      cur_.clear();
      line_start_ = 0;
      discard_line_ = true;
      discard_tail_.clear();
      return out;
    }
    if (nl == std::string::npos) return out;
    std::size_t len = nl - pos_;
    if (len > 0 && in_[pos_ + len - 1] == '\r') --len;
    cur_.append(in_, pos_, len);
    pos_ = nl + 1;
    const LiteralMark m = literal_mark(std::string_view(cur_).substr(line_start_));
    if (!m.present) {
      out.status = AssembleStatus::Command;
      out.command = std::move(cur_);
      cur_.clear();
      line_start_ = 0;
      return out;
    }
    const char* why = nullptr;
    if (m.bad || m.size > limits_.max_literal) why = "Literal too big";
    else if (m.nonsync && !limits_.literal_plus && m.size > limits_.max_nonsync_literal)
      why = "Non-synchronising literal too big (LITERAL- allows 4096 octets)";
    else if (cur_.size() + m.size > limits_.max_command) why = "Command too big";
    if (why != nullptr) {
      out.status = AssembleStatus::Error;
      out.tag = tag_of(cur_);
      out.error = why;
      out.toobig = true;
      // A client sends a non-synchronising literal without waiting: we cannot
      // tell its bytes from commands any more, so the host must hang up.
      out.fatal = m.nonsync;
      cur_.clear();
      line_start_ = 0;
      return out;
    }
    cur_.append("\r\n");
    in_literal_ = true;
    literal_left_ = static_cast<std::size_t>(m.size);
    if (!m.nonsync) {
      out.status = AssembleStatus::Continuation;
      return out;
    }
  }
}

}  // namespace ringmta::imap
