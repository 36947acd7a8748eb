// tests/unit/proto/imap/sort_test.cpp — SORT (sort.h, RFC 5256 / RFC 5957):
// the base subject of RFC 5256 §2.1 step by step, and each sort key over
// messages parsed with mail::parse_mime, with REVERSE, several keys and ties.
#include <gtest/gtest.h>

#include "proto/imap/sort.h"
#include "tests/unit/proto/imap/search_fixture.h"

namespace ringmta::imap {
namespace {

std::string B(std::string_view s, bool expect_reply) {
  bool reply = !expect_reply;
  std::string b = base_subject(s, &reply);
  EXPECT_EQ(reply, expect_reply) << s;
  return b;
}

TEST(BaseSubject, Rfc5256Steps) {
  EXPECT_EQ(B("Hello", false), "Hello");
  EXPECT_EQ(B("  Hello\t  world  ", false), "Hello world");     // (1) spaces
  EXPECT_EQ(B("Re: Hello", true), "Hello");                       // (3)
  EXPECT_EQ(B("RE:Re: re : Hello", true), "Hello");
  EXPECT_EQ(B("Fwd: Hello", true), "Hello");
  EXPECT_EQ(B("FW: Hello", true), "Hello");
  EXPECT_EQ(B("Re[2]: Hello", true), "Hello");                    // blob inside subj-refwd
  EXPECT_EQ(B("[list] Re: Hello", true), "Hello");                // blobs before subj-refwd
  EXPECT_EQ(B("[list] Hello", false), "Hello");                   // (4)
  EXPECT_EQ(B("[a] [b] Re: [c] Hello", true), "Hello");           // (5) repeat
  EXPECT_EQ(B("[PATCH]", false), "[PATCH]");                      // (4) would leave nothing
  EXPECT_EQ(B("Re: [PATCH]", true), "[PATCH]");
  EXPECT_EQ(B("Hello (fwd)", true), "Hello");                     // (2)
  EXPECT_EQ(B("Hello (FWD) (fwd)  ", true), "Hello");
  EXPECT_EQ(B("[Fwd: Re: Hello]", true), "Hello");                // (6) then (2)-(5) again
  EXPECT_EQ(B("[fwd: [fwd: Hello (fwd)]]", true), "Hello");
  EXPECT_EQ(B("Re: [Fwd: x] tail", true), "tail");                // (4): a leading blob, not (6)
  EXPECT_EQ(B("[Fwd: x] tail]", false), "tail]");                 // (4) comes before (6)
  EXPECT_EQ(B("[Fwd: hello [x]]", true), "hello [x]");            // not a blob: (6)
  EXPECT_EQ(B("Reply: Hello", false), "Reply: Hello");            // "re" must end at ':'
  EXPECT_EQ(B("Fwd Hello", false), "Fwd Hello");
  EXPECT_EQ(B("=?UTF-8?Q?Re=3A_caf=C3=A9?=", true), "café");      // decoded first
  EXPECT_EQ(B("=?UTF-8?Q?=5Bliste=5D?= =?UTF-8?Q?_Gr=C3=BC=C3=9Fe?=", false), "Grüße");
  EXPECT_EQ(B("", false), "");
  EXPECT_EQ(B("Re:", true), "");
  EXPECT_EQ(B("[unclosed Re: x", false), "[unclosed Re: x");
  std::string blobs;  // 100000 blobs and no "Re:": removed one by one, without rescanning
  for (int i = 0; i < 100000; ++i) blobs += "[a]";
  EXPECT_EQ(B(blobs, false), "[a]");
  EXPECT_EQ(B(blobs + " Re: x", true), "x");
}

class Sort : public ::testing::Test {
 protected:
  // One message per spec; `date` goes into the Date: header when not empty.
  void add(std::string_view from, std::string_view to, std::string_view cc, std::string_view subject,
           std::string_view date, int64_t internal_s, uint64_t size) {
    std::string m;
    if (!from.empty()) m += "From: " + std::string(from) + "\n";
    if (!to.empty()) m += "To: " + std::string(to) + "\n";
    if (!cc.empty()) m += "Cc: " + std::string(cc) + "\n";
    m += "Subject: " + std::string(subject) + "\n";
    if (!date.empty()) m += "Date: " + std::string(date) + "\n";
    m += "\nbody\n";
    box.add(m, internal_s * 1000).size = size;
  }
  std::string order(std::vector<std::string> keys) {
    std::string out;
    for (uint32_t i : sort_messages(box.msgs, keys)) out += (out.empty() ? "" : " ") + std::to_string(box.msgs[i].seq);
    return out;
  }
  testing::Mailbox box;
};

TEST_F(Sort, EachKey) {
  // seq:  from               to                 cc              subject          date (UTC)        arrival size
  add("Zed <zed@x.org>", "b@x", "", "Re: beta", "Tue, 2 Jan 2024 10:00:00 +0000", 300, 30);   // 1
  add("=?UTF-8?Q?=C3=89mile?= <Amy@y.org>", "a@x", "c2@x", "alpha", "2 Jan 2024 09:00 -0200", 100, 10);  // 2: 11:00 UTC
  add("bob@z.org", "", "c1@x", "[list] Gamma", "", 200, 20);  // 3: no Date: arrival (200 s)
  add("BOB@w.org", "Carl <c@x>", "", "Fwd: ALPHA", "Mon, 1 Jan 2024 23:00 -0500", 400, 20);  // 4: 2 Jan 04:00 UTC
  EXPECT_EQ(order({"ARRIVAL"}), "2 3 1 4");
  EXPECT_EQ(order({"REVERSE", "ARRIVAL"}), "4 1 3 2");
  EXPECT_EQ(order({"SIZE"}), "2 3 4 1");                 // 3 and 4 tie: sequence order
  EXPECT_EQ(order({"REVERSE", "SIZE"}), "1 3 4 2");      // ties stay in sequence order
  EXPECT_EQ(order({"DATE"}), "3 4 1 2");
  EXPECT_EQ(order({"FROM"}), "2 3 4 1");                 // amy, bob, BOB, zed (mailbox part)
  EXPECT_EQ(order({"TO"}), "3 2 1 4");                   // "" < a < b < c
  EXPECT_EQ(order({"CC"}), "1 4 3 2");                   // "", "", c1, c2
  EXPECT_EQ(order({"SUBJECT"}), "2 4 1 3");              // alpha, ALPHA, beta, Gamma
  EXPECT_EQ(order({"SUBJECT", "REVERSE", "DATE"}), "2 4 1 3");
  EXPECT_EQ(order({"SUBJECT", "REVERSE", "ARRIVAL"}), "4 2 1 3");
  EXPECT_EQ(order({"REVERSE", "SUBJECT", "SIZE"}), "3 1 2 4");
  EXPECT_EQ(order({"DISPLAYFROM"}), "4 3 1 2");          // bob@w.org, bob@z.org, zed, émile (code points)
  EXPECT_EQ(order({"DISPLAYTO"}), "3 2 1 4");            // "", a@x, b@x, Carl
  EXPECT_EQ(order({}), "1 2 3 4");
}

TEST(SortKeys, NeedsAndSupport) {
  EXPECT_EQ(sort_needs({"ARRIVAL", "REVERSE", "SIZE"}), kNeedNothing);
  EXPECT_EQ(sort_needs({"REVERSE", "DATE"}), kNeedStructure);
  EXPECT_EQ(sort_needs({"SUBJECT"}), kNeedStructure);
  EXPECT_TRUE(sort_key_supported("DISPLAYFROM"));
  EXPECT_FALSE(sort_key_supported("REVERSE"));
  EXPECT_FALSE(sort_key_supported("BOGUS"));
}

}  // namespace
}  // namespace ringmta::imap
