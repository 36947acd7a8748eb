// tests/unit/proto/smtp/golden_test.cpp — SMTP server golden transcripts.
//
// For every tests/golden/smtp/NAME.in (client bytes; optional NAME.conf with
// key=value overrides) the server output must equal NAME.ref and the
// committed transactions NAME.txn, whatever way the input is cut: one piece,
// one byte at a time, every split into two pieces, and (for inputs up to
// kPairLimit bytes) every split into three. That is what proves the DATA
// decoder, BDAT and the line splitter do not care where reads end.
//
// To (re)generate expectations after a deliberate change:
//   RINGMTA_GOLDEN_UPDATE=1 ./proto_golden_test   — then review the diff.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/proto/smtp/golden_harness.h"

namespace fs = std::filesystem;
using namespace ringmta::smtp;
using namespace ringmta::smtp::testing;

namespace {

constexpr size_t kPairLimit = 300;

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

fs::path golden_dir() { return fs::path(RINGMTA_GOLDEN_DIR) / "smtp"; }

std::vector<std::string> golden_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(golden_dir()))
    if (e.path().extension() == ".in") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Compare and describe the first difference, so a failure is readable.
::testing::AssertionResult same(const std::string& what, const std::string& want,
                                const std::string& got) {
  if (want == got) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  auto around = [&](const std::string& s) {
    size_t from = i > 40 ? i - 40 : 0;
    std::string x = s.substr(from, 100);
    std::string r;
    for (char c : x) {
      if (c == '\r') r += "\\r";
      else if (c == '\n') r += "\\n";
      else r += c;
    }
    return r;
  };
  return ::testing::AssertionFailure() << what << ": first difference at byte " << i
                                       << "\n  want: ..." << around(want) << "\n  got:  ..."
                                       << around(got);
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, AllSplits) {
  const std::string name = GetParam();
  const fs::path base = golden_dir() / name;
  const std::string input = read_file(base.string() + ".in");
  const fs::path conf_path = base.string() + ".conf";
  const GoldenConfig cfg = golden_config(fs::exists(conf_path) ? read_file(conf_path) : "");
  const std::string_view in(input);

  RunResult whole = run_session(cfg, {in});
  if (std::getenv("RINGMTA_GOLDEN_UPDATE")) {
    write_file(base.string() + ".ref", whole.output);
    if (!whole.transactions.empty()) write_file(base.string() + ".txn", whole.transactions);
    else fs::remove(base.string() + ".txn");
    GTEST_SKIP() << "updated " << name;
  }
  const std::string ref = read_file(base.string() + ".ref");
  const fs::path txn_path = base.string() + ".txn";
  const std::string txn = fs::exists(txn_path) ? read_file(txn_path) : std::string();

  ASSERT_TRUE(same("output (one piece)", ref, whole.output));
  ASSERT_TRUE(same("transactions (one piece)", txn, whole.transactions));

  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < in.size(); ++i) bytes.push_back(in.substr(i, 1));
  RunResult one = run_session(cfg, bytes);
  ASSERT_TRUE(same("output (byte by byte)", ref, one.output));
  ASSERT_TRUE(same("transactions (byte by byte)", txn, one.transactions));

  for (size_t i = 1; i < in.size(); ++i) {
    RunResult r = run_session(cfg, {in.substr(0, i), in.substr(i)});
    ASSERT_TRUE(same("output (split at " + std::to_string(i) + ")", ref, r.output));
    ASSERT_TRUE(same("transactions (split at " + std::to_string(i) + ")", txn, r.transactions));
  }
  if (in.size() > kPairLimit) return;
  for (size_t i = 1; i < in.size(); ++i) {
    for (size_t j = i + 1; j < in.size(); ++j) {
      RunResult r = run_session(cfg, {in.substr(0, i), in.substr(i, j - i), in.substr(j)});
      ASSERT_TRUE(same("output (split at " + std::to_string(i) + "," + std::to_string(j) + ")",
                       ref, r.output));
      ASSERT_TRUE(same("transactions (split at " + std::to_string(i) + "," +
                           std::to_string(j) + ")",
                       txn, r.transactions));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Smtp, Golden, ::testing::ValuesIn(golden_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
