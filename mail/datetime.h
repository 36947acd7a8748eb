// mail/datetime.h — RFC 5322 §3.3 date-time text from unix seconds.
//
// Always UTC with a numeric "+0000" zone: the relay writes dates into the
// Received: headers it adds and into DSNs, and it never needs the host's
// time zone (which would make output depend on the machine). Pure: the
// caller supplies the time.
#pragma once

#include <cstdint>
#include <string>

namespace ringmta::mail {

// "Sun, 22 Nov 2026 21:56:58 +0000" (day of month always two digits).
// Works for any int64 seconds whose year fits in 4..n digits; years before
// 1 or after 9999 are still formatted arithmetically (proleptic Gregorian).
std::string rfc5322_date(int64_t unix_seconds);

// Days since 1970-01-01 → civil date (proleptic Gregorian), exposed for tests.
struct CivilDate {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};
CivilDate civil_from_days(int64_t days);

}  // namespace ringmta::mail
