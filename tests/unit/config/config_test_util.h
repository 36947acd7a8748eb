// tests/unit/config/config_test_util.h — parse helpers shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace ringmta::config::testing {

// The configuration `text` describes; a test failure (with the errors) if it is refused.
inline config::Config parse_ok(std::string_view text) {
  auto r = parse_config(text, "ringmta.toml");
  EXPECT_TRUE(r.ok()) << r.error();
  return r.value_or(config::Config{});
}

// The error text for `text`; a test failure if it is accepted.
inline std::string error_of(std::string_view text) {
  auto r = parse_config(text, "ringmta.toml");
  EXPECT_FALSE(r.ok()) << text;
  return r.error();
}

}  // namespace ringmta::config::testing
