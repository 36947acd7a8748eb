// tests/unit/limits/disk_guard_test.cpp — queue.min_free_space
// (limits/disk_guard.h): the decision, and the guard on a real directory
// (statvfs of the file system the test runs on), checked by hand and by its
// own thread.
#include "limits/disk_guard.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <limits>
#include <thread>

namespace ringmta::limits {
namespace {

TEST(DiskGuard, Decision) {
  EXPECT_TRUE(disk_space_low(uint64_t{99}, 100));
  EXPECT_FALSE(disk_space_low(uint64_t{100}, 100));  // exactly the minimum is still enough
  EXPECT_FALSE(disk_space_low(uint64_t{101}, 100));
  EXPECT_FALSE(disk_space_low(uint64_t{0}, 0));      // 0 = no guard, even on a full disk
  EXPECT_FALSE(disk_space_low(std::nullopt, 100));   // unknown (statvfs failed): not low
}

TEST(DiskGuard, FreeSpaceIsStatvfsAvailableBytes) {
  struct statvfs st {};
  ASSERT_EQ(::statvfs(".", &st), 0);
  auto got = free_space(".");
  ASSERT_TRUE(got);
  // Other processes write meanwhile: the same order of magnitude, not the same byte.
  const double expected = static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize);
  EXPECT_NEAR(static_cast<double>(*got), expected, expected * 0.05 + (64 << 20));
  std::string error;
  EXPECT_FALSE(free_space("/nonexistent/ringmta-disk-guard", &error));
  EXPECT_NE(error.find("statvfs /nonexistent/ringmta-disk-guard"), std::string::npos) << error;
}

TEST(DiskGuard, ThresholdAboveOrBelowTheFreeSpace) {
  auto free_now = free_space(".");
  ASSERT_TRUE(free_now);
  limits::DiskGuard off(".", 0);
  EXPECT_FALSE(off.low());
  EXPECT_GT(off.free_bytes(), 0u);
  limits::DiskGuard fine(".", 1);
  EXPECT_FALSE(fine.low());
  // More than the whole free space: low from the first check (the constructor's).
  limits::DiskGuard tight(".", *free_now + (uint64_t{1} << 40));
  EXPECT_TRUE(tight.low());
  EXPECT_EQ(tight.min_free_space(), *free_now + (uint64_t{1} << 40));
  tight.count_refusal();
  tight.count_refusal();
  EXPECT_EQ(tight.refusals(), 2u);
}

TEST(DiskGuard, UnreadableDirectoryKeepsTheLastAnswer) {
  limits::DiskGuard g("/nonexistent/ringmta-disk-guard", std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(g.low());  // never known: mail is not refused for that
  EXPECT_EQ(g.free_bytes(), 0u);
}

TEST(DiskGuard, ItsThreadChecksAgainAndStops) {
  // The directory does not exist at the constructor's check; once it does,
  // only the guard's own thread can have measured it.
  char base[] = "/tmp/ringmta-disk-guard-XXXXXX";
  ASSERT_NE(::mkdtemp(base), nullptr);
  const std::string dir = std::string(base) + "/later";
  limits::DiskGuard g(dir, std::numeric_limits<uint64_t>::max(), std::chrono::milliseconds(10));
  EXPECT_EQ(g.free_bytes(), 0u);
  EXPECT_FALSE(g.low());
  g.start();
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  for (int i = 0; i < 500 && !g.low(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(g.low());
  EXPECT_GT(g.free_bytes(), 0u);
  ::rmdir(dir.c_str());
  ::rmdir(base);
  // The destructor stops and joins the thread (a hang here would time the test out).
}

}  // namespace
}  // namespace ringmta::limits
