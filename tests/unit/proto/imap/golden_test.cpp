// tests/unit/proto/imap/golden_test.cpp — golden transcripts for the IMAP
// command assembler + parser. Each tests/golden/imap/NAME.in holds raw client
// bytes (CRLF line ends, literals inline); NAME.ref the expected events, one
// line each, as rendered by dump.h. The input is fed whole, then split in two
// at EVERY offset, then byte by byte: all must give the .ref exactly.
// RINGMTA_GOLDEN_UPDATE=1 rewrites the .ref files (review the diff!).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/proto/imap/dump.h"

namespace ringmta::imap {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ImapGolden, EverySplitPoint) {
  const fs::path dir = fs::path(RINGMTA_GOLDEN_DIR) / "imap";
  const bool update = std::getenv("RINGMTA_GOLDEN_UPDATE") != nullptr;
  AssemblerLimits limits;
  limits.max_line = 1000;  // small enough that a golden file can exceed it
  limits.max_literal = 2000;
  int cases = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".in") continue;
    ++cases;
    const std::string in = slurp(e.path());
    const std::string whole = testing::run(in, {}, limits);
    fs::path ref = e.path();
    ref.replace_extension(".ref");
    if (update) {
      std::ofstream(ref, std::ios::binary) << whole;
    }
    EXPECT_EQ(whole, slurp(ref)) << e.path();
    for (std::size_t k = 1; k < in.size(); ++k)
      ASSERT_EQ(testing::run(in, {k}, limits), whole) << e.path() << " split at " << k;
    std::vector<std::size_t> each;
    for (std::size_t k = 1; k < in.size(); ++k) each.push_back(k);
    EXPECT_EQ(testing::run(in, each, limits), whole) << e.path() << " byte by byte";
  }
  EXPECT_GE(cases, 4);
}

}  // namespace
}  // namespace ringmta::imap
