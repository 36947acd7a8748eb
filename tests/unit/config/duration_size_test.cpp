// tests/unit/config/duration_size_test.cpp — parse_duration and parse_size:
// accepted forms, refused forms (signs, fractions, garbage, unit order) and
// overflow limits.
#include <gtest/gtest.h>

#include "config/config.h"

namespace ringmta::config {
namespace {

using std::chrono::seconds;

TEST(Duration, Accepts) {
  const std::pair<std::string_view, long> cases[] = {
      {"0", 0},        {"30s", 30},       {"5m", 300},         {"2h", 7200},
      {"1d", 86400},   {"1w", 604800},    {"1h30m", 5400},     {"90", 90},
      {"0s", 0},       {"1d2h3m4s", 93784}, {"1w1d", 691200},  {"90m", 5400},
      {"600s", 600},   {"007s", 7},       {"3650d", 3650L * 86400},
  };
  for (const auto& [text, secs] : cases) {
    auto d = parse_duration(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(*d, seconds(secs)) << text;
  }
}

TEST(Duration, Rejects) {
  const std::string_view refused[] = {
      "",        "-5s",    "+5s",     "-1",      "1.5h",   "5 m",    " 5m",    "5m ",
      "m",       "5x",     "5M",      "5S",      "5min",   "5sec",   "1h30",   "30m1h",
      "1m1m",    "1h1h",   "5ms",     "abc",     "1e3",    "0x10",   "5m-",    "h5",
      "1d 2h",   "\t5s",   "5s\n",    "1y",
  };
  for (auto text : refused) EXPECT_FALSE(parse_duration(text).has_value()) << '"' << text << '"';
}

TEST(Duration, RejectsOverflowAndHugeValues) {
  EXPECT_FALSE(parse_duration("99999999999999999999s").has_value());
  EXPECT_FALSE(parse_duration("9223372036854775808").has_value());
  EXPECT_FALSE(parse_duration("3651d").has_value());
  EXPECT_FALSE(parse_duration("3650d1s").has_value());
  EXPECT_TRUE(parse_duration("521w3d").has_value());  // exactly 3650 days
  EXPECT_FALSE(parse_duration("521w4d").has_value());
  EXPECT_FALSE(parse_duration("315360001").has_value());
  EXPECT_TRUE(parse_duration("315360000").has_value());
}

TEST(Size, Accepts) {
  const std::pair<std::string_view, uint64_t> cases[] = {
      {"52428800", 52428800},   {"50M", 50ull << 20},  {"50MiB", 50ull << 20}, {"50m", 50ull << 20},
      {"512K", 512ull << 10},   {"512KiB", 512ull << 10}, {"1k", 1024},       {"1G", 1ull << 30},
      {"2GiB", 2ull << 30},     {"1T", 1ull << 40},    {"1TiB", 1ull << 40},  {"0", 0},
  };
  for (const auto& [text, bytes] : cases) {
    auto s = parse_size(text);
    ASSERT_TRUE(s.has_value()) << text;
    EXPECT_EQ(*s, bytes) << text;
  }
}

TEST(Size, Rejects) {
  const std::string_view refused[] = {
      "",    "M",     "50MB",  "50KB", "50GB", "50mb", "50miB", "50Mib", "50 M", " 50",
      "50.5M", "-50M", "+50M", "50X",  "50Mi", "50MiBs", "0x10", "1e6", "50B",
  };
  for (auto text : refused) EXPECT_FALSE(parse_size(text).has_value()) << '"' << text << '"';
  EXPECT_FALSE(parse_size("99999999999999999999999").has_value());
  EXPECT_FALSE(parse_size("17179869184G").has_value());  // 2^34 GiB = 2^64 bytes
  EXPECT_TRUE(parse_size("17179869183G").has_value());
}

}  // namespace
}  // namespace ringmta::config
