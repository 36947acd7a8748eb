// tests/unit/mail/mime_golden_test.cpp — every tests/golden/mime/NAME.eml is
// parsed and its dump_structure() compared with NAME.txt (the reviewed
// expectation); the tree must keep the invariants (mime_check.h) and survive
// encode_structure()/decode_structure() unchanged.
//
// To regenerate after an intended change: RINGMTA_UPDATE_GOLDEN=1 mime_golden_test,
// then review the diff of tests/golden/mime/ by eye.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mail/mime.h"
#include "tests/unit/mail/mime_check.h"

using namespace ringmta::mail;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> inputs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(RINGMTA_GOLDEN_DIR) / "mime"))
    if (e.path().extension() == ".eml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(MimeGolden, DumpsMatchAndRoundTrip) {
  const bool update = std::getenv("RINGMTA_UPDATE_GOLDEN") != nullptr;
  const std::vector<fs::path> files = inputs();
  ASSERT_GE(files.size(), 10u);
  for (const fs::path& eml : files) {
    SCOPED_TRACE(eml.filename().string());
    const std::string msg = read_file(eml);
    const MimeStructure s = parse_mime(msg);
    EXPECT_EQ(test::check_structure(s, msg), "");
    const std::string dump = dump_structure(s);
    fs::path ref = eml;
    ref.replace_extension(".txt");
    if (update) {
      std::ofstream(ref, std::ios::binary) << dump;
    } else {
      EXPECT_EQ(dump, read_file(ref));
    }
    const std::string blob = encode_structure(s);
    const std::optional<MimeStructure> back = decode_structure(blob);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, s);
    EXPECT_EQ(encode_structure(*back), blob);
  }
}
