// tests/unit/proto/imap/response_golden_test.cpp — for every
// tests/golden/mime/NAME.eml, the ENVELOPE, BODY and BODYSTRUCTURE written
// from parse_mime()'s tree are compared with tests/golden/imap_response/NAME.ref
// (reviewed by hand against RFC 3501 §7.4.2 and its examples). Each output
// must also be well-formed IMAP data (syntax_check.h), and the tree must give
// the same text after encode_structure()/decode_structure() — FETCH answers
// from the stored blob, not from the message.
//
// To regenerate after an intended change: RINGMTA_UPDATE_GOLDEN=1
// imap_response_golden_test, then review the diff by eye.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mail/mime.h"
#include "proto/imap/response.h"
#include "tests/unit/proto/imap/syntax_check.h"

using namespace ringmta;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string render(const mail::MimeStructure& s) {
  std::string out;
  std::string item;
  imap::append_envelope(item, *s.parts[0].envelope);
  EXPECT_EQ(imap::test::check_imap_data(item), "") << item;
  out += "ENVELOPE " + item + "\n";
  item.clear();
  imap::append_body_structure(item, s, false);
  EXPECT_EQ(imap::test::check_imap_data(item), "") << item;
  out += "BODY " + item + "\n";
  item.clear();
  imap::append_body_structure(item, s, true);
  EXPECT_EQ(imap::test::check_imap_data(item), "") << item;
  out += "BODYSTRUCTURE " + item + "\n";
  return out;
}

}  // namespace

TEST(ImapResponseGolden, MimeMessages) {
  std::vector<fs::path> inputs;
  for (const auto& e : fs::directory_iterator(fs::path(RINGMTA_GOLDEN_DIR) / "mime"))
    if (e.path().extension() == ".eml") inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  ASSERT_GE(inputs.size(), 10u);
  const bool update = std::getenv("RINGMTA_UPDATE_GOLDEN") != nullptr;
  const fs::path ref_dir = fs::path(RINGMTA_GOLDEN_DIR) / "imap_response";
  for (const auto& in : inputs) {
    SCOPED_TRACE(in.filename().string());
    mail::MimeStructure s = mail::parse_mime(read_file(in));
    std::string got = render(s);
    auto decoded = mail::decode_structure(mail::encode_structure(s));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(render(*decoded), got);
    fs::path ref = ref_dir / (in.stem().string() + ".ref");
    if (update) {
      fs::create_directories(ref_dir);
      std::ofstream(ref, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(ref)) << ref;
    EXPECT_EQ(got, read_file(ref));
  }
}
