// tests/unit/tools/mailbox_formats_test.cpp — `ringmtactl mailbox import`
// and `export`'s pure parts: Maildir flags and names, line-end
// normalisation, mboxrd splitting/quoting both ways, From_ line dates.
#include <gtest/gtest.h>

#include "tools/mailbox_formats.h"

namespace ringmta::tools {
namespace {

constexpr uint8_t kSeen = 1, kAnswered = 2, kFlagged = 4, kDeleted = 8, kDraft = 16;

TEST(MaildirFlags, FromInfoSuffix) {
  EXPECT_EQ(maildir_flags("1700000000.M1P2.host,S=120:2,S"), kSeen);
  EXPECT_EQ(maildir_flags("1700000000.M1P2.host:2,FRS"), kSeen | kAnswered | kFlagged);
  EXPECT_EQ(maildir_flags("x:2,DT"), kDraft | kDeleted);
  EXPECT_EQ(maildir_flags("x:2,Pab"), 0);  // passed and Dovecot keywords: not imported
  EXPECT_EQ(maildir_flags("1700000000.M1P2.host"), 0);  // new/: no info
  EXPECT_EQ(maildir_flags("x:2,"), 0);
  EXPECT_EQ(maildir_flags("x:1,S"), 0);  // experimental info: not flags
}

TEST(MaildirFlags, InfoRoundTripsEveryCombination) {
  for (uint8_t f = 0; f < 32; ++f) {
    const std::string info = maildir_info(f);
    EXPECT_EQ(maildir_flags("name" + info), f) << info;
    // Letters in ASCII order (the Maildir rule).
    std::string letters = info.substr(3);
    EXPECT_TRUE(std::is_sorted(letters.begin(), letters.end())) << info;
  }
  EXPECT_EQ(maildir_info(kSeen | kDraft | kFlagged), ":2,DFS");
}

TEST(MaildirNames, FileAndFolderNames) {
  EXPECT_EQ(maildir_file_name(1700000000123, 1700000000, 7, 321, kSeen | kAnswered),
            "1700000000.U1700000000_7.ringmta,S=321:2,RS");
  EXPECT_EQ(maildir_folder_mailbox(".Sent"), "Sent");
  EXPECT_EQ(maildir_folder_mailbox(".Archive.2023"), "Archive.2023");
  EXPECT_FALSE(maildir_folder_mailbox("."));
  EXPECT_FALSE(maildir_folder_mailbox(".."));
  EXPECT_FALSE(maildir_folder_mailbox("cur"));
  EXPECT_FALSE(maildir_folder_mailbox(""));
  EXPECT_EQ(maildir_folder_name("Sent"), ".Sent");
  EXPECT_EQ(maildir_folder_name("Archive/2023"), ".Archive.2023");
}

TEST(LineEnds, ToCrlf) {
  EXPECT_EQ(to_crlf("a\nb\n"), "a\r\nb\r\n");
  EXPECT_EQ(to_crlf("a\r\nb\r\n"), "a\r\nb\r\n");  // already CRLF: unchanged
  EXPECT_EQ(to_crlf("a\r\nb\nc"), "a\r\nb\r\nc\r\n");  // mixed, no final line end
  EXPECT_EQ(to_crlf("a\rb\n"), "a\rb\r\n");  // a bare CR inside a line stays
  EXPECT_EQ(to_crlf("a\r"), "a\r\n");
  EXPECT_EQ(to_crlf(""), "\r\n");
  EXPECT_EQ(to_crlf("\n"), "\r\n");
  EXPECT_EQ(to_lf("a\r\nb\r\n"), "a\nb\n");
  EXPECT_EQ(to_lf("a\rb\n"), "a\rb\n");
  const std::string crlf = to_crlf("x\ny\n\nz\n");
  EXPECT_EQ(to_crlf(to_lf(crlf)), crlf);
}

TEST(FromLine, Dates) {
  // 2023-11-14 22:13:20 UTC = 1700000000.
  EXPECT_EQ(parse_from_line_date("From alice@example.org Tue Nov 14 22:13:20 2023"), 1700000000000);
  EXPECT_EQ(parse_from_line_date("From MAILER-DAEMON Thu Jan  1 00:00:00 1970"), 0);
  EXPECT_EQ(parse_from_line_date("From bob Tue Nov 14 22:13:20 2023 +0000\r\n"), 1700000000000);
  EXPECT_EQ(parse_from_line_date("From bob Tue Nov 14 22:13:20 UTC 2023"), 1700000000000);
  EXPECT_EQ(parse_from_line_date("From bob Tue Nov 14 22:13 2023"), 1699999980000);
  EXPECT_EQ(parse_from_line_date("From  Sat Feb 29 12:00:00 2020"), 1582977600000);  // empty sender, leap day
  EXPECT_FALSE(parse_from_line_date("From bob"));
  EXPECT_FALSE(parse_from_line_date("From bob Tue Nov 14 25:13:20 2023"));
  EXPECT_FALSE(parse_from_line_date("From bob Tue Nov 99 22:13:20 2023"));
  EXPECT_FALSE(parse_from_line_date("Frob bob Tue Nov 14 22:13:20 2023"));
  EXPECT_FALSE(parse_from_line_date("From bob Tue Nov 14 22:13:20"));
}

TEST(Mbox, SplitsUnquotesAndDropsSeparators) {
  const std::string file =
      "From a@x Tue Nov 14 22:13:20 2023\n"
      "Subject: one\n"
      "\n"
      ">From the start\n"
      ">>From deeper\n"
      "From inside a paragraph is not a separator\n"
      "\n"
      "From b@x Thu Jan  1 00:00:00 1970\n"
      "Subject: two\n"
      "\n"
      "body\n"
      "\n";
  MboxParse p = parse_mbox(file);
  ASSERT_TRUE(p.error.empty());
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0].body,
            "Subject: one\n\nFrom the start\n>From deeper\nFrom inside a paragraph is not a separator\n");
  EXPECT_EQ(p.messages[0].date_ms, 1700000000000);
  EXPECT_EQ(p.messages[0].line, 1u);
  EXPECT_EQ(p.messages[1].body, "Subject: two\n\nbody\n");
  EXPECT_EQ(p.messages[1].date_ms, 0);
  EXPECT_EQ(p.messages[1].line, 8u);
}

TEST(Mbox, CrlfFileAndNoFinalSeparator) {
  MboxParse p = parse_mbox("From a Tue Nov 14 22:13:20 2023\r\nA: 1\r\n\r\nx\r\n\r\nFrom b\r\nB: 2\r\n\r\ny\r\n");
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0].body, "A: 1\r\n\r\nx\r\n");
  EXPECT_EQ(p.messages[1].body, "B: 2\r\n\r\ny\r\n");
  EXPECT_FALSE(p.messages[1].date_ms);  // no date on its From_ line
}

TEST(Mbox, NotAnMbox) {
  EXPECT_FALSE(parse_mbox("Subject: hi\n\nbody\n").error.empty());
  EXPECT_FALSE(parse_mbox("").error.empty());
  EXPECT_TRUE(parse_mbox("From x\n").error.empty());
  EXPECT_EQ(parse_mbox("From x\n").messages.size(), 1u);
  EXPECT_EQ(parse_mbox("From x\n").messages[0].body, "");
}

TEST(Mbox, WriteThenParseIsTheIdentityOnLfBodies) {
  const std::vector<std::string> bodies = {
      "Subject: a\n\nFrom here\n>From there\n>>>From far\n\n\nend\n",
      "Subject: b\n\n\n",  // ends with empty lines
      "Subject: c\n\nno final newline",
      "From: x@y\n\nFrom \n",
  };
  std::string file;
  int64_t t = 1700000000000;
  for (const auto& b : bodies) append_mbox_message(file, to_crlf(b), t += 86400000);
  MboxParse p = parse_mbox(file);
  ASSERT_TRUE(p.error.empty());
  ASSERT_EQ(p.messages.size(), bodies.size());
  t = 1700000000000;
  for (size_t i = 0; i < bodies.size(); ++i) {
    // Stored as to_crlf(body): what comes back is to_lf of that.
    EXPECT_EQ(p.messages[i].body, to_lf(to_crlf(bodies[i]))) << i;
    EXPECT_EQ(p.messages[i].date_ms, t += 86400000) << i;
  }
  EXPECT_EQ(file.substr(0, 44), "From MAILER-DAEMON Wed Nov 15 22:13:20 2023\n");
}

TEST(Mbox, FlagsFromStatusFields) {
  EXPECT_EQ(mbox_flags("Subject: x\nStatus: RO\nX-Status: AF\n\nbody\n"), kSeen | kAnswered | kFlagged);
  EXPECT_EQ(mbox_flags("Status: O\n\n"), 0);  // old, unread
  EXPECT_EQ(mbox_flags("X-Status: DT\r\n\r\n"), kDeleted | kDraft);
  EXPECT_EQ(mbox_flags("Subject: x\n\nStatus: R\n"), 0);  // in the body: not a field
  EXPECT_EQ(mbox_flags(""), 0);
}

TEST(Headers, FirstHeaderUnfoldsAndStopsAtTheBody) {
  const std::string m =
      "Received: x\r\nsubject: Hello\r\n  world\r\nFrom: A <a@x>\r\nSubject: second\r\n\r\nSubject: body\r\n";
  EXPECT_EQ(first_header(m, "Subject"), "Hello  world");
  EXPECT_EQ(first_header(m, "FROM"), "A <a@x>");
  EXPECT_EQ(first_header(m, "To"), "");
  EXPECT_EQ(first_header("\r\nSubject: x\r\n", "Subject"), "");
  EXPECT_EQ(first_header("Subject:\r\n", "Subject"), "");
  EXPECT_EQ(first_header("Subject: cut", "Subject", 10), "c");
}

}  // namespace
}  // namespace ringmta::tools
