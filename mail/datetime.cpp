// mail/datetime.cpp — RFC 5322 date-time formatting (see datetime.h).
//
// The civil-date conversion is Howard Hinnant's days→(y,m,d) algorithm
// (public domain, "chrono-Compatible Low-Level Date Algorithms"): exact for
// the whole int64 day range we can reach, no tables, no libc time zone code.
#include "mail/datetime.h"

#include <cstdio>

namespace ringmta::mail {

CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                   // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                        // [0, 11]
  const unsigned d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const unsigned m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return CivilDate{y + (m <= 2), m, d};
}

std::string rfc5322_date(int64_t t) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Floor division so that negative times land on the previous day.
  int64_t days = t / 86400;
  int64_t secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days -= 1;
  }
  const CivilDate c = civil_from_days(days);
  int64_t wd = days % 7;  // 1970-01-01 was a Thursday
  if (wd < 0) wd += 7;
  char buf[80];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02d:%02d:%02d +0000", kDays[wd], c.day,
                kMonths[c.month - 1], static_cast<long long>(c.year), static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

}  // namespace ringmta::mail
