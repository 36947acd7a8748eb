// tests/unit/proto/smtp/client_golden_test.cpp — runs every transcript in
// tests/golden/smtp_client/*.script against ClientSession: once with whole
// server blocks, once byte by byte, and once split at every byte offset of
// the server stream, so reply parsing across arbitrary reads is covered;
// also with the message handed out in pieces of 1 and 5 bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/proto/smtp/client_script.h"

namespace fs = std::filesystem;
using namespace ringmta::smtp::test;

namespace {

std::vector<fs::path> scripts() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(RINGMTA_GOLDEN_DIR) / "smtp_client"))
    if (e.path().extension() == ".script") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(SmtpClientGolden, AllScripts) {
  auto files = scripts();
  ASSERT_GE(files.size(), 15u) << "golden scripts missing";
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<ScriptItem> items;
    std::string err;
    ASSERT_TRUE(parse_script(ss.str(), items, err)) << err;
    EXPECT_EQ(run_script(items, kNoSplit), "") << "whole blocks";
    EXPECT_EQ(run_script(items, kByteByByte), "") << "byte by byte";
    // The body handed out in tiny pieces must come out the same.
    EXPECT_EQ(run_script(items, kNoSplit, 1), "") << "data_piece 1";
    EXPECT_EQ(run_script(items, kNoSplit, 5), "") << "data_piece 5";
    size_t n = server_byte_count(items);
    for (size_t split = 1; split < n; ++split) {
      std::string r = run_script(items, static_cast<long>(split));
      if (!r.empty()) {
        ADD_FAILURE() << "split at " << split << ": " << r;
        break;  // one report per script is enough
      }
    }
  }
}

// The runner itself must be able to fail: a wrong expectation is reported.
TEST(SmtpClientGolden, RunnerDetectsMismatch) {
  std::vector<ScriptItem> items;
  std::string err;
  ASSERT_TRUE(parse_script("S: 220 mx.example ESMTP\nC: HELO wrong\nS: 250 ok\n", items, err)) << err;
  EXPECT_NE(run_script(items, kNoSplit), "");
  items.clear();
  ASSERT_TRUE(parse_script("S: 220 mx.example ESMTP\nC: EHLO relay.example\nA: Ready\n", items, err)) << err;
  EXPECT_NE(run_script(items, kNoSplit), "");
}
