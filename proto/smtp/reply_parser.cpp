// proto/smtp/reply_parser.cpp — incremental SMTP reply parser (see reply_parser.h).
#include "proto/smtp/reply_parser.h"

#include <cstring>
#include <utility>

namespace ringmta::smtp {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of an RFC 3463 enhanced code of class `klass` at the start of `s`
// ("5.1.1" followed by SP or end), or 0 if there is none.
size_t enhanced_length(std::string_view s, int klass) {
  if (s.empty() || s[0] != char('0' + klass) || (klass != 2 && klass != 4 && klass != 5)) return 0;
  size_t i = 1;
  for (int part = 0; part < 2; ++part) {
    if (i >= s.size() || s[i] != '.') return 0;
    ++i;
    size_t start = i;
    while (i < s.size() && is_digit(s[i]) && i - start < 4) ++i;
    if (i == start || i - start > 3) return 0;
  }
  if (i < s.size() && s[i] != ' ') return 0;
  return i;
}

// Replace control characters: the text goes to logs and DSN header fields.
std::string sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

std::string Reply::enhanced_or_default() const {
  if (!enhanced.empty()) return enhanced;
  switch (klass()) {
    case 2: return "2.0.0";
    case 4: return "4.0.0";
    case 5: return "5.0.0";
    default: return "";
  }
}

std::string Reply::text() const {
  std::string out;
  for (const auto& l : lines) {
    if (l.empty()) continue;
    if (!out.empty()) out += ' ';
    out += l;
  }
  return out;
}

std::string Reply::str() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += ' ' + enhanced;
  std::string t = text();
  if (!t.empty()) out += ' ' + t;
  return out;
}

ReplyParser::ReplyParser(ReplyLimits limits) : limits_(limits) {}

void ReplyParser::reset() {
  line_.clear();
  cur_ = Reply{};
  complete_ = false;
  failed_ = false;
  error_.clear();
}

Reply ReplyParser::take() {
  Reply out = std::move(cur_);
  cur_ = Reply{};
  complete_ = false;
  return out;
}

ReplyParser::Status ReplyParser::fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  line_.clear();
  return Status::Error;
}

ReplyParser::Status ReplyParser::feed(std::string_view& in) {
  if (failed_) return Status::Error;
  if (complete_) return Status::Complete;  // caller has not taken the last one
  while (!in.empty()) {
    const void* nl = std::memchr(in.data(), '\n', in.size());
    size_t take = nl ? static_cast<size_t>(static_cast<const char*>(nl) - in.data()) : in.size();
    // +1 leaves room for the CR of a CRLF that is stripped at the line end.
    if (line_.size() + take > limits_.max_line + 1) return fail("reply line too long");
    line_.append(in.data(), take);
    in.remove_prefix(nl ? take + 1 : take);
    if (!nl) break;
    Status s = finish_line();
    if (s != Status::NeedMore) return s;
  }
  return Status::NeedMore;
}

// Interpret the complete line in line_ (line end removed).
ReplyParser::Status ReplyParser::finish_line() {
  std::string_view l = line_;
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  if (l.size() > limits_.max_line) return fail("reply line too long");
  if (l.size() < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' || !is_digit(l[2]))
    return fail("malformed reply line");
  int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
  bool last;
  if (l.size() == 3 || l[3] == ' ') {
    last = true;
  } else if (l[3] == '-') {
    last = false;
  } else {
    return fail("malformed reply line");
  }
  if (!cur_.lines.empty() && code != cur_.code) return fail("inconsistent codes in multi-line reply");
  if (cur_.lines.size() >= limits_.max_lines) return fail("reply has too many lines");
  std::string_view text = l.size() > 4 ? l.substr(4) : std::string_view{};
  int klass = code / 100;
  if (cur_.lines.empty()) {
    cur_.code = code;
    if (size_t n = enhanced_length(text, klass)) {
      cur_.enhanced.assign(text.substr(0, n));
      text.remove_prefix(n);
    }
  } else if (!cur_.enhanced.empty() && text.substr(0, cur_.enhanced.size()) == cur_.enhanced &&
             enhanced_length(text, klass) == cur_.enhanced.size()) {
    text.remove_prefix(cur_.enhanced.size());
  }
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  cur_.lines.push_back(sanitize(text));
  line_.clear();
  if (!last) return Status::NeedMore;
  complete_ = true;
  return Status::Complete;
}

}  // namespace ringmta::smtp
