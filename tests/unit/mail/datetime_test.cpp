// tests/unit/mail/datetime_test.cpp — RFC 5322 date-time formatting.
#include <gtest/gtest.h>

#include "mail/datetime.h"

using namespace ringmta::mail;

TEST(DateTime, KnownDates) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(1795384618), "Sun, 22 Nov 2026 21:56:58 +0000");
  EXPECT_EQ(rfc5322_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");   // leap day, /400
  EXPECT_EQ(rfc5322_date(4107542400), "Mon, 01 Mar 2100 00:00:00 +0000");  // 2100 not leap
  EXPECT_EQ(rfc5322_date(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
  EXPECT_EQ(rfc5322_date(253402300799), "Fri, 31 Dec 9999 23:59:59 +0000");
}

TEST(DateTime, CivilFromDaysMatchesDayCounting) {
  // Walk 1970..2400 day by day and check the calendar advances correctly.
  CivilDate prev = civil_from_days(0);
  EXPECT_EQ(prev.year, 1970);
  for (int64_t d = 1; d < 157000; ++d) {
    CivilDate c = civil_from_days(d);
    bool next_day = c.year == prev.year && c.month == prev.month && c.day == prev.day + 1;
    bool next_month = c.year == prev.year && c.month == prev.month + 1 && c.day == 1;
    bool next_year = c.year == prev.year + 1 && c.month == 1 && c.day == 1 && prev.month == 12 &&
                     prev.day == 31;
    ASSERT_TRUE(next_day || next_month || next_year) << d;
    if (c.month == 3 && c.day == 1) {
      bool leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
      ASSERT_EQ(prev.day, leap ? 29u : 28u) << c.year;
    }
    prev = c;
  }
}

TEST(DateTime, ExtremesDoNotCrash) {
  EXPECT_FALSE(rfc5322_date(INT64_MAX).empty());
  EXPECT_FALSE(rfc5322_date(INT64_MIN).empty());
}
