// tests/unit/base/result_test.cpp — base::Result<T>: a value or a message,
// never both; value() of a failure is a bug and aborts.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace ringmta::base {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) return Error(std::to_string(n) + " is odd");
  return n / 2;
}

Result<void> check_even(int n) {
  if (auto r = half(n); !r) return Error(r.error());
  return {};
}

TEST(Result, HoldsAValue) {
  auto r = half(10);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(r.error(), "");
  EXPECT_EQ(r.value_or(-1), 5);
}

TEST(Result, HoldsAnError) {
  auto r = half(7);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error(), "7 is odd");
  EXPECT_EQ(r.value_or(-1), -1);
}

TEST(Result, StringValuesAndStringErrorsStayApart) {
  // T = std::string: the same type as the message, told apart by Error.
  auto make = [](bool good) -> Result<std::string> {
    if (!good) return Error("no");
    return "yes";  // built from const char*
  };
  auto good = make(true);
  auto bad = make(false);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "yes");
  EXPECT_EQ(good.error(), "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "no");
}

TEST(Result, MovesItsValueOut) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(3);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 3);
}

TEST(Result, ArrowReachesMembers) {
  Result<std::vector<int>> r = std::vector<int>{1, 2, 3};
  EXPECT_EQ(r->size(), 3u);
  r->push_back(4);
  EXPECT_EQ(r.value().back(), 4);
}

TEST(Result, VoidIsSuccessOrAMessage) {
  Result<void> ok = check_even(4);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.error(), "");
  ok.value();  // does not abort
  Result<void> bad = check_even(3);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), "3 is odd");
}

TEST(ResultDeathTest, ValueOfAFailureAborts) {
  EXPECT_DEATH((void)half(3).value(), "value\\(\\) of a failed result: 3 is odd");
  EXPECT_DEATH(check_even(5).value(), "5 is odd");
}

}  // namespace
}  // namespace ringmta::base
