// tools/mailbox_formats.cpp — see mailbox_formats.h.
#include "tools/mailbox_formats.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace ringmta::tools {
namespace {

constexpr std::array<std::pair<char, uint8_t>, 5> kFlagLetters = {{
    {'D', 16}, {'F', 4}, {'R', 2}, {'S', 1}, {'T', 8},  // ASCII order, as Maildir wants
}};
constexpr std::array<std::string_view, 7> kDays = {"Thu", "Fri", "Sat", "Sun",
                                                   "Mon", "Tue", "Wed"};  // 1970-01-01 was a Thursday
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// ">From ", ">>From ", ...: a quoted From_ line (mboxrd).
bool quoted_from(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == '>') ++i;
  return i > 0 && line.substr(i, 5) == "From ";
}

bool ci_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lo = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lo(x) == lo(y);
         });
}

}  // namespace

uint8_t maildir_flags(std::string_view file_name) {
  const size_t info = file_name.rfind(":2,");
  if (info == std::string_view::npos) return 0;
  uint8_t flags = 0;
  for (char c : file_name.substr(info + 3))
    for (const auto& [letter, bit] : kFlagLetters)
      if (c == letter) flags |= bit;
  return flags;
}

std::string maildir_info(uint8_t flags) {
  std::string out = ":2,";
  for (const auto& [letter, bit] : kFlagLetters)
    if (flags & bit) out += letter;
  return out;
}

std::string maildir_file_name(int64_t internal_date_ms, uint32_t uidvalidity, uint32_t uid, uint64_t size,
                              uint8_t flags) {
  const int64_t secs = internal_date_ms < 0 ? 0 : internal_date_ms / 1000;
  return std::to_string(secs) + ".U" + std::to_string(uidvalidity) + "_" + std::to_string(uid) +
         ".ringmta,S=" + std::to_string(size) + maildir_info(flags);
}

std::optional<std::string> maildir_folder_mailbox(std::string_view dir_name) {
  if (dir_name.size() < 2 || dir_name.front() != '.' || dir_name == "..") return std::nullopt;
  return std::string(dir_name.substr(1));
}

std::string maildir_folder_name(std::string_view mailbox) {
  std::string out = "." + std::string(mailbox);
  std::replace(out.begin(), out.end(), '/', '.');
  return out;
}

std::string to_crlf(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 2);
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) out += '\r';
    out += message[i];
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) {
    if (!out.empty() && out.back() == '\r')
      out += '\n';  // a final bare CR: complete it
    else
      out += "\r\n";
  }
  return out;
}

std::string to_lf(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') continue;
    out += message[i];
  }
  return out;
}

std::optional<int64_t> parse_from_line_date(std::string_view line) {
  if (line.substr(0, 5) != "From ") return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  std::vector<std::string_view> words;
  for (size_t i = 5; i < line.size() && words.size() < 32;) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) words.push_back(line.substr(i, j - i));
    i = j;
  }
  // "Www Mmm dd hh:mm:ss [zone] yyyy [zone]" anywhere after the sender.
  for (size_t w = 0; w + 3 < words.size(); ++w) {
    if (std::find(kDays.begin(), kDays.end(), words[w]) == kDays.end()) continue;
    auto month = std::find(kMonths.begin(), kMonths.end(), words[w + 1]);
    if (month == kMonths.end() || !all_digits(words[w + 2]) || words[w + 2].size() > 2) continue;
    std::string_view hms = words[w + 3];
    if (hms.size() != 8 && hms.size() != 5) continue;
    if (!all_digits(hms.substr(0, 2)) || hms[2] != ':' || !all_digits(hms.substr(3, 2))) continue;
    if (hms.size() == 8 && (hms[5] != ':' || !all_digits(hms.substr(6, 2)))) continue;
    for (size_t y = w + 4; y < words.size() && y <= w + 5; ++y) {
      if (!all_digits(words[y]) || words[y].size() != 4) continue;
      const unsigned m = static_cast<unsigned>(month - kMonths.begin()) + 1;
      const int day = to_int(words[w + 2]), hh = to_int(hms.substr(0, 2)), mm = to_int(hms.substr(3, 2));
      const int ss = hms.size() == 8 ? to_int(hms.substr(6, 2)) : 0;
      if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
      const int64_t days = days_from_civil(to_int(words[y]), m, static_cast<unsigned>(day));
      return ((days * 24 + hh) * 60 + mm) * 60000 + ss * 1000;
    }
  }
  return std::nullopt;
}

MboxParse parse_mbox(std::string_view file) {
  MboxParse out;
  if (file.substr(0, 5) != "From ") {
    out.error = "not an mbox file: it does not begin with a \"From \" line";
    return out;
  }
  bool previous_empty = true;  // the start of the file counts as after an empty line
  MboxMessage* current = nullptr;
  uint64_t line_no = 0;
  for (size_t pos = 0; pos < file.size();) {
    size_t nl = file.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? file.size() : nl + 1;
    std::string_view line = file.substr(pos, end - pos);
    pos = end;
    ++line_no;
    std::string_view text = line;  // without its line end
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (previous_empty && text.substr(0, 5) == "From ") {
      if (current && !current->body.empty()) {
        // The empty line before this From_ line was the separator.
        std::string& b = current->body;
        if (b.size() >= 2 && b.compare(b.size() - 2, 2, "\r\n") == 0) {
          b.resize(b.size() - 2);
        } else if (!b.empty() && b.back() == '\n') {
          b.pop_back();
        }
      }
      MboxMessage& m = out.messages.emplace_back();
      m.date_ms = parse_from_line_date(text);
      m.line = line_no;
      current = &m;
      previous_empty = false;
      continue;
    }
    previous_empty = text.empty();
    if (quoted_from(text)) line.remove_prefix(1);
    current->body.append(line);
  }
  // The last message: a final empty separator line is not part of it either.
  if (current) {
    std::string& b = current->body;
    if (b.size() >= 4 && b.compare(b.size() - 4, 4, "\r\n\r\n") == 0) {
      b.resize(b.size() - 2);
    } else if (b.size() >= 2 && b.compare(b.size() - 2, 2, "\n\n") == 0) {
      b.pop_back();
    }
  }
  return out;
}

void append_mbox_message(std::string& out, std::string_view body, int64_t internal_date_ms) {
  const int64_t secs = internal_date_ms < 0 ? 0 : internal_date_ms / 1000;
  int64_t days = secs / 86400, rest = secs % 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char from[96];
  std::snprintf(from, sizeof from, "From MAILER-DAEMON %s %s %2u %02d:%02d:%02d %04lld\n",
                std::string(kDays[static_cast<size_t>(days % 7)]).c_str(), std::string(kMonths[m - 1]).c_str(), d,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60),
                static_cast<long long>(y));
  out += from;
  const std::string lf = to_lf(body);
  for (size_t pos = 0; pos < lf.size();) {
    size_t nl = lf.find('\n', pos);
    const size_t end = nl == std::string::npos ? lf.size() : nl + 1;
    std::string_view line(lf.data() + pos, end - pos);
    if (line.substr(0, 5) == "From " || quoted_from(line)) out += '>';
    out.append(line);
    pos = end;
  }
  if (lf.empty() || lf.back() != '\n') out += '\n';
  out += '\n';
}

uint8_t mbox_flags(std::string_view message) {
  uint8_t flags = 0;
  for (char c : first_header(message, "Status"))
    if (c == 'R') flags |= 1;
  for (char c : first_header(message, "X-Status")) {
    if (c == 'A') flags |= 2;
    if (c == 'F') flags |= 4;
    if (c == 'D') flags |= 8;
    if (c == 'T') flags |= 16;
  }
  return flags;
}

std::string first_header(std::string_view message, std::string_view name, size_t max_bytes) {
  message = message.substr(0, max_bytes);
  for (size_t pos = 0; pos < message.size();) {
    size_t nl = message.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? message.size() : nl;
    std::string_view line = message.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return "";  // end of the header section
    pos = end + 1;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || line[0] == ' ' || line[0] == '\t') continue;
    std::string_view field = line.substr(0, colon);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
    if (!ci_equal(field, name)) continue;
    std::string value(line.substr(colon + 1));
    // Continuation lines (folding, RFC 5322 §2.2.3) join with their blank.
    while (pos < message.size() && (message[pos] == ' ' || message[pos] == '\t')) {
      size_t n2 = message.find('\n', pos);
      const size_t e2 = n2 == std::string_view::npos ? message.size() : n2;
      std::string_view cont = message.substr(pos, e2 - pos);
      if (!cont.empty() && cont.back() == '\r') cont.remove_suffix(1);
      value.append(cont);
      pos = e2 + 1;
    }
    const size_t first = value.find_first_not_of(" \t");
    return first == std::string::npos ? "" : value.substr(first);
  }
  return "";
}

}  // namespace ringmta::tools
