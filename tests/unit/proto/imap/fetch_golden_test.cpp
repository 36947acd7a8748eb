// tests/unit/proto/imap/fetch_golden_test.cpp — golden FETCH responses: for
// every tests/golden/imap_fetch/NAME.in, the message NAME.eml (from that folder,
// else tests/golden/mime/) is fetched with each command line of NAME.in and the
// responses are compared with NAME.ref byte for byte (reviewed by hand against
// RFC 3501 §6.4.5/§7.4.2 and RFC 3516; see the folder's README.md).
//
// NAME.in: one command per line without its tag ("FETCH 1 (...)" or "UID
// FETCH 1 (...)"), optionally preceded by options in brackets: [rev2]
// (IMAP4rev2 + UTF-8), [condstore], [seen] (the FETCH set \Seen). '#' lines
// are comments. NAME.ref: "C: <line>\n" then "S: " and the response.
//
// Each response must also read back (fetch_check.h), and come out the same
// when the message data holds only what fetch_needs() asked for, and when the
// structure went through encode_structure()/decode_structure() as stored.
//
// To regenerate after an intended change: RINGMTA_UPDATE_GOLDEN=1
// imap_fetch_test --gtest_filter='ImapFetchGolden.*', then review the diff.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mail/mime.h"
#include "proto/imap/fetch_response.h"
#include "tests/unit/proto/imap/fetch_check.h"

using namespace ringmta;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string run_line(const std::string& line, const std::string& msg,
                     const mail::MimeStructure& structure) {
  std::string cmd = line;
  imap::FetchOptions o;
  if (cmd.starts_with('[')) {
    size_t close = cmd.find(']');
    std::string opts = cmd.substr(1, close - 1);
    cmd = cmd.substr(close + 2);
    o.rev2 = opts.find("rev2") != std::string::npos;
    o.write.utf8 = o.rev2;
    o.condstore = opts.find("condstore") != std::string::npos;
    o.add_flags = opts.find("seen") != std::string::npos;
  }
  imap::ParseResult p = imap::parse_command("a " + cmd);
  EXPECT_TRUE(p.ok) << line << ": " << p.error;
  o.uid_command = p.command.uid;
  const std::vector<std::string> keywords{"$Forwarded", "Junk"};
  imap::MessageData m;
  m.seq = 1;
  m.uid = 1001;
  m.flags = imap::kFlagAnswered | (o.add_flags ? imap::kFlagSeen : 0);
  m.recent = true;
  m.keywords = &keywords;
  m.size = msg.size();
  m.internal_date_ms = 1796633998000LL;  // 07-Dec-2026 08:59:58 +0000
  m.modseq = 12345;
  m.structure = &structure;
  m.body = msg;
  m.has_body = true;
  std::string full;
  EXPECT_TRUE(imap::append_fetch(full, m, p.command.fetch, o)) << line;
  auto parsed = imap::test::parse_fetch_response(full, o.write.utf8);
  EXPECT_EQ(parsed.error, "") << line << "\n" << full;

  // Only what fetch_needs() asks for: same answer.
  unsigned needs = imap::fetch_needs(p.command.fetch);
  imap::MessageData lean = m;
  if (!(needs & imap::kNeedStructure)) lean.structure = nullptr;
  if (!(needs & imap::kNeedBody)) {
    lean.body = {};
    lean.has_body = false;
  }
  std::string again;
  imap::append_fetch(again, lean, p.command.fetch, o);
  EXPECT_EQ(again, full) << line << ": needs " << needs;

  // From the stored blob: same answer.
  auto decoded = mail::decode_structure(mail::encode_structure(structure));
  EXPECT_TRUE(decoded);
  if (decoded) {
    lean = m;
    lean.structure = &*decoded;
    again.clear();
    imap::append_fetch(again, lean, p.command.fetch, o);
    EXPECT_EQ(again, full) << line << ": from the stored structure";
  }
  return full;
}

}  // namespace

TEST(ImapFetchGolden, Transcripts) {
  const fs::path dir = fs::path(RINGMTA_GOLDEN_DIR) / "imap_fetch";
  std::vector<fs::path> inputs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".in") inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  ASSERT_GE(inputs.size(), 6u);
  const bool update = std::getenv("RINGMTA_UPDATE_GOLDEN") != nullptr;
  for (const auto& in : inputs) {
    const std::string name = in.stem().string();
    SCOPED_TRACE(name);
    fs::path eml = dir / (name + ".eml");
    if (!fs::exists(eml)) eml = fs::path(RINGMTA_GOLDEN_DIR) / "mime" / (name + ".eml");
    ASSERT_TRUE(fs::exists(eml)) << eml;
    const std::string msg = read_file(eml);
    const mail::MimeStructure structure = mail::parse_mime(msg);
    std::string got;
    std::istringstream lines(read_file(in));
    std::string line;
    size_t count = 0;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      ++count;
      got += "C: " + line + "\n";
      got += "S: " + run_line(line, msg, structure);
    }
    EXPECT_GE(count, 3u);
    const fs::path ref = dir / (name + ".ref");
    if (update) {
      std::ofstream(ref, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(ref)) << ref;
    EXPECT_EQ(got, read_file(ref));
  }
}
