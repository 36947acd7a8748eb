// tests/unit/proto/imap/search_golden_test.cpp — SEARCH, SORT and THREAD over
// the real messages of tests/golden/mime/*.eml: the commands of
// tests/golden/imap_search/mailbox.in and their answers in mailbox.ref
// (reviewed by hand: which messages hold each string, the dates of their
// Date: fields, their base subjects).
//
// To regenerate after an intended change: RINGMTA_UPDATE_GOLDEN=1
// imap_search_test --gtest_filter='SearchGolden*', then review the diff by eye.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "proto/imap/search_eval.h"
#include "proto/imap/sort.h"
#include "proto/imap/thread.h"
#include "tests/unit/proto/imap/search_fixture.h"

namespace ringmta::imap {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string run(const std::string& line, const std::vector<MessageData>& msgs) {
  ParseResult r = parse_command("a " + line);
  if (!r.ok) return "BAD " + r.error;
  const Command& c = r.command;
  std::string out;
  if (c.name == Name::Search) {
    SearchContext ctx{static_cast<uint32_t>(msgs.size()), msgs.empty() ? 0u : msgs.back().uid, nullptr, 0};
    for (const MessageData& m : msgs)
      if (search_matches(c.criteria, m, ctx)) out += " " + std::to_string(m.seq);
  } else if (c.name == Name::Sort) {
    for (uint32_t i : sort_messages(msgs, c.sort_keys)) out += " " + std::to_string(msgs[i].seq);
  } else if (c.name == Name::Thread) {
    out = " " + thread_messages(msgs, c.mechanism, false);
  }
  return out;
}

TEST(SearchGolden, MimeMessages) {
  const fs::path golden(RINGMTA_GOLDEN_DIR);
  std::vector<fs::path> emls;
  for (const auto& e : fs::directory_iterator(golden / "mime"))
    if (e.path().extension() == ".eml") emls.push_back(e.path());
  std::sort(emls.begin(), emls.end());
  ASSERT_GE(emls.size(), 10u);
  testing::Mailbox box;
  std::string out;
  constexpr int64_t kDec1Noon = (1796601600LL - 6 * 86400 + 12 * 3600) * 1000;
  for (size_t i = 0; i < emls.size(); ++i) {
    // As stored (the files' own line ends: parse_mime accepts bare LF too).
    const uint32_t seq = static_cast<uint32_t>(i + 1);
    MessageData& m = box.add(read_file(emls[i]), kDec1Noon + static_cast<int64_t>(seq) * 86400000, true);
    m.uid = 100 + seq;
    m.flags = static_cast<uint8_t>((seq % 2 ? kFlagSeen : 0) | (seq % 3 == 0 ? kFlagFlagged : 0));
    out += "* " + std::to_string(seq) + " " + emls[i].filename().string() + "\n";
  }
  std::istringstream in(read_file(golden / "imap_search" / "mailbox.in"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    out += line + " =>" + run(line, box.msgs) + "\n";
  }
  const fs::path ref = golden / "imap_search" / "mailbox.ref";
  if (std::getenv("RINGMTA_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(ref, std::ios::binary) << out;
    GTEST_SKIP() << "golden file rewritten";
  }
  EXPECT_EQ(out, read_file(ref));
}

}  // namespace
}  // namespace ringmta::imap
