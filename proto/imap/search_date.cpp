// proto/imap/search_date.cpp — parse_sent_date (search_text.h): the Date:
// header for SENTBEFORE/SENTON/SENTSINCE (RFC 3501 §6.4.4: the date as
// written, time and zone disregarded) and SORT/THREAD by sent date (RFC 5256
// §2.2: time and zone applied). RFC 5322 §3.3 with the obsolete syntax of
// §4.3 (2/3-digit years, named zones, comments), tolerant of extra spaces.
#include <cctype>

#include "base/text.h"
#include "proto/imap/search_text.h"

namespace ringmta::imap {
namespace {

struct Cursor {
  std::string_view s;
  size_t i = 0;
  // Skips white space, commas and (nested) comments; bounded by s.size().
  void skip() {
    while (i < s.size()) {
      const char c = s[i];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i;
      } else if (c == '(') {
        int depth = 0;
        while (i < s.size()) {
          if (s[i] == '\\') {
            i += 2;
            continue;
          }
          if (s[i] == '(') ++depth;
          if (s[i] == ')' && --depth == 0) {
            ++i;
            break;
          }
          ++i;
        }
      } else {
        return;
      }
    }
  }
  bool digits(int& v, size_t min, size_t max) {
    size_t n = 0;
    v = 0;
    while (i < s.size() && n < max && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i] - '0');
      ++i;
      ++n;
    }
    return n >= min;
  }
  std::string_view word() {
    const size_t b = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(b, i - b);
  }
  bool eat(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
};

constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};

int named_zone_minutes(std::string_view z) {
  using base::iequals;
  if (iequals(z, "EDT")) return -4 * 60;
  if (iequals(z, "EST") || iequals(z, "CDT")) return -5 * 60;
  if (iequals(z, "CST") || iequals(z, "MDT")) return -6 * 60;
  if (iequals(z, "MST") || iequals(z, "PDT")) return -7 * 60;
  if (iequals(z, "PST")) return -8 * 60;
  return 0;  // UT, GMT, Z, military zones (RFC 5322 §4.3: treat as -0000)
}

}  // namespace

std::optional<SentDate> parse_sent_date(std::string_view value) {
  Cursor c{value};
  c.skip();
  // Optional day of week "Mon,".
  if (c.i < value.size() && std::isalpha(static_cast<unsigned char>(value[c.i]))) {
    c.word();
    c.skip();
    c.eat(',');
    c.skip();
  }
  SentDate d;
  if (!c.digits(d.day, 1, 2) || d.day < 1 || d.day > 31) return std::nullopt;
  c.skip();
  const std::string_view mon = c.word();
  if (mon.size() < 3) return std::nullopt;
  for (int k = 0; k < 12; ++k)
    if (base::iequals(mon.substr(0, 3), kMonths[k])) d.month = k + 1;
  if (d.month == 0) return std::nullopt;
  c.skip();
  const size_t ystart = c.i;
  if (!c.digits(d.year, 2, 4)) return std::nullopt;
  const size_t ylen = c.i - ystart;
  if (ylen == 2) d.year += d.year < 50 ? 2000 : 1900;  // RFC 5322 §4.3
  if (ylen == 3) d.year += 1900;
  int hour = 0, minute = 0, second = 0, zone = 0;
  c.skip();
  const size_t tstart = c.i;
  if (c.digits(hour, 1, 2) && (c.skip(), c.eat(':')) && (c.skip(), c.digits(minute, 1, 2))) {
    c.skip();
    if (c.eat(':')) {
      c.skip();
      if (!c.digits(second, 1, 2)) second = 0;
    }
    c.skip();
    if (c.i < value.size() && (value[c.i] == '+' || value[c.i] == '-')) {
      const bool neg = value[c.i++] == '-';
      int hhmm = 0;
      if (c.digits(hhmm, 4, 4)) zone = (hhmm / 100) * 60 + hhmm % 100;
      if (neg) zone = -zone;
    } else {
      zone = named_zone_minutes(c.word());
    }
    if (hour > 23 || minute > 59 || second > 60) hour = minute = second = 0;
  } else {
    c.i = tstart;
    hour = minute = 0;
  }
  d.utc_seconds = days_from_civil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day)) * 86400 +
                  hour * 3600 + minute * 60 + second - static_cast<int64_t>(zone) * 60;
  return d;
}

}  // namespace ringmta::imap
