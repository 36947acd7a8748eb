// tests/unit/proto/pop3/golden_test.cpp — POP3 server golden transcripts.
//
// For every tests/golden/pop3/NAME.in (client bytes and event markers;
// optional NAME.conf for the config and the host's answers) the server
// output must equal NAME.ref and the host's log NAME.host, whatever way the
// input is cut: one piece, one byte at a time, every split into two pieces,
// and (for inputs up to kPairLimit bytes) every split into three.
//
// To (re)generate expectations after a deliberate change:
//   RINGMTA_GOLDEN_UPDATE=1 ./pop3_golden_test   — then review the diff.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/proto/pop3/golden_harness.h"

namespace fs = std::filesystem;
using namespace ringmta::pop3;
using namespace ringmta::pop3::testing;

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

fs::path golden_dir() { return fs::path(RINGMTA_GOLDEN_DIR) / "pop3"; }

std::vector<std::string> golden_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(golden_dir()))
    if (e.path().extension() == ".in") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

::testing::AssertionResult same(const std::string& what, const std::string& want, const std::string& got) {
  if (want == got) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  auto around = [&](const std::string& s) {
    const size_t from = i > 40 ? i - 40 : 0;
    std::string r;
    for (char c : s.substr(from, 100)) {
      if (c == '\r') r += "\\r";
      else if (c == '\n') r += "\\n";
      else r += c;
    }
    return r;
  };
  return ::testing::AssertionFailure() << what << ": first difference at byte " << i << "\n  want: ..."
                                       << around(want) << "\n  got:  ..." << around(got);
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, AllSplits) {
  const std::string name = GetParam();
  const fs::path base = golden_dir() / name;
  const std::string input = read_file(base.string() + ".in");
  const fs::path conf_path = base.string() + ".conf";
  const GoldenConfig cfg = golden_config(fs::exists(conf_path) ? read_file(conf_path) : "");

  RunResult whole = run_session(cfg, input);
  if (std::getenv("RINGMTA_GOLDEN_UPDATE")) {
    write_file(base.string() + ".ref", whole.output);
    if (!whole.host.empty()) write_file(base.string() + ".host", whole.host);
    else fs::remove(base.string() + ".host");
    GTEST_SKIP() << "updated " << name;
  }
  const std::string ref = read_file(base.string() + ".ref");
  const fs::path host_path = base.string() + ".host";
  const std::string host = fs::exists(host_path) ? read_file(host_path) : std::string();
  ASSERT_TRUE(same("output (one piece)", ref, whole.output));
  ASSERT_TRUE(same("host (one piece)", host, whole.host));

  std::vector<size_t> all;
  for (size_t i = 1; i < input.size(); ++i) all.push_back(i);
  RunResult bytes = run_session(cfg, input, all);
  ASSERT_TRUE(same("output (byte by byte)", ref, bytes.output));
  ASSERT_TRUE(same("host (byte by byte)", host, bytes.host));

  for (size_t i = 1; i < input.size(); ++i) {
    RunResult r = run_session(cfg, input, {i});
    ASSERT_TRUE(same("output (split at " + std::to_string(i) + ")", ref, r.output));
    ASSERT_TRUE(same("host (split at " + std::to_string(i) + ")", host, r.host));
  }
  if (input.size() > kPairLimit) return;
  for (size_t i = 1; i < input.size(); ++i) {
    for (size_t j = i + 1; j < input.size(); ++j) {
      RunResult r = run_session(cfg, input, {i, j});
      const std::string where = std::to_string(i) + "," + std::to_string(j);
      ASSERT_TRUE(same("output (split at " + where + ")", ref, r.output));
      ASSERT_TRUE(same("host (split at " + where + ")", host, r.host));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Pop3, Golden, ::testing::ValuesIn(golden_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
