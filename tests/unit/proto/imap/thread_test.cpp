// tests/unit/proto/imap/thread_test.cpp — THREAD (thread.h, RFC 5256 §3)
// over messages parsed with mail::parse_mime: ORDEREDSUBJECT, and REFERENCES
// step by step (linking, loops, duplicates, dummy pruning and promotion,
// root sorting, subject merging), each checked on the exact response text.
#include <gtest/gtest.h>

#include "proto/imap/thread.h"
#include "tests/unit/proto/imap/search_fixture.h"

namespace ringmta::imap {
namespace {

class Thread : public ::testing::Test {
 protected:
  // A message sent `hour` hours after 2024-01-01 00:00 UTC.
  void add(std::string_view id, std::string_view refs, std::string_view irt, std::string_view subject, int hour) {
    std::string m = "From: a@example.org\n";
    if (!id.empty()) m += "Message-ID: " + std::string(id) + "\n";
    if (!refs.empty()) m += "References: " + std::string(refs) + "\n";
    if (!irt.empty()) m += "In-Reply-To: " + std::string(irt) + "\n";
    m += "Subject: " + std::string(subject) + "\n";
    m += "Date: " + std::to_string(1 + hour / 24) + " Jan 2024 " + std::to_string(hour % 24) + ":00:00 +0000\n";
    m += "\nbody\n";
    box.add(m, 0);
  }
  std::string T(std::string_view algorithm, bool uid = false) { return thread_messages(box.msgs, algorithm, uid); }
  testing::Mailbox box;
};

TEST_F(Thread, OrderedSubject) {
  add("<1>", "", "", "Hello", 3);
  add("<2>", "", "", "Re: hello", 1);
  add("<3>", "", "", "Other", 2);
  add("<4>", "", "", "hello (fwd)", 4);
  add("<5>", "<3>", "", "Re: Other", 5);
  add("<6>", "", "", "Solo", 6);
  // Earliest of a subject is the parent of the rest; threads by their parent's date.
  EXPECT_EQ(T("ORDEREDSUBJECT"), "(2 (1)(4))(3 5)(6)");
  EXPECT_EQ(T("ORDEREDSUBJECT", true), "(20 (10)(40))(30 50)(60)");
}

TEST_F(Thread, ReferencesTree) {
  add("<a@x>", "", "", "Topic A", 1);
  add("<b@x>", "<a@x>", "", "Re: Topic A", 2);
  add("<c@x>", "<a@x> <b@x>", "", "Re: Topic A", 3);
  add("<d@x>", "", "<a@x>", "Re: Topic A", 4);       // In-Reply-To only
  add("<e@x>", "", "", "Other", 5);
  add("<f@x>", "<missing@x>", "", "Lost", 6);          // parent never seen: a dummy
  add("<g@x>", "<missing@x>", "", "Found", 7);
  add("<h@x>", "", "", "Re: Other", 8);                // joins "Other" by subject (a reply)
  EXPECT_EQ(T("REFERENCES"), "(1 (2 3)(4))(5 8)((6)(7))");
  EXPECT_EQ(T("REFERENCES", true), "(10 (20 30)(40))(50 80)((60)(70))");
}

TEST_F(Thread, SameSubjectWithoutReferencesGetsADummy) {
  add("<1>", "", "", "Hello", 1);
  add("<2>", "", "", "[list] hello", 2);
  add("<3>", "", "", "Unrelated", 0);
  EXPECT_EQ(T("REFERENCES"), "(3)((1)(2))");
}

TEST_F(Thread, DummiesArePrunedAndPromoted) {
  add("<a>", "", "", "one", 1);
  add("<c>", "<a> <b>", "", "two", 2);   // <b> missing inside: c is promoted under a
  add("<z>", "<y>", "", "three", 3);     // a top-level dummy with one child: promoted
  add("<w>", "<v>", "", "four", 0);
  EXPECT_EQ(T("REFERENCES"), "(4)(1 2)(3)");
}

TEST_F(Thread, SentDateOrdersSiblingsAndRoots) {
  add("<p>", "", "", "root", 5);
  add("<q>", "<p>", "", "Re: root", 9);
  add("<r>", "<p>", "", "Re: root", 7);
  add("<s>", "", "", "early", 1);
  add("<t>", "<p>", "", "Re: root", 7);  // same date as r: sequence order
  EXPECT_EQ(T("REFERENCES"), "(4)(1 (3)(5)(2))");
}

TEST_F(Thread, ReferenceLoopsAndDuplicatesTerminate) {
  add("<x>", "<y>", "", "loop", 1);
  add("<y>", "<x>", "", "loop", 2);           // would close x -> y -> x
  add("<self>", "<self>", "", "self", 3);     // refers to itself
  add("<dup>", "", "", "first dup", 4);
  add("<dup>", "", "", "second dup", 5);      // duplicate id: a unique one of its own
  add("<k>", "<dup>", "", "Re: first dup", 6);
  add("<m>", "<n> <m> <n>", "", "tangle", 7);
  EXPECT_EQ(T("REFERENCES"), "(2 1)(3)(4 6)(5)(7)");
}

TEST_F(Thread, TruncatedReferencesKeepTheMessagesOwnParent) {
  add("<a>", "", "", "s", 1);
  add("<b>", "<z>", "", "Re: s", 2);          // b's real parent is z (missing)
  add("<c>", "<a> <b>", "", "Re: s", 3);      // says a -> b: b already has a parent
  // z is a dummy with one child at the top: promoted, so b is a root, merged
  // into a's thread by subject (b is a reply, a is not).
  EXPECT_EQ(T("REFERENCES"), "(1 2 3)");
}

TEST_F(Thread, LongChainStaysIterative) {
  constexpr int kN = 3000;
  std::string refs;
  std::string want = "(";
  for (int i = 0; i < kN; ++i) {
    add("<m" + std::to_string(i) + ">", refs, "", i == 0 ? "chain" : "Re: chain", i);
    refs += " <m" + std::to_string(i) + ">";
    want += (i ? " " : "") + std::to_string(i + 1);
  }
  want += ")";
  EXPECT_EQ(T("REFERENCES"), want);
}

TEST_F(Thread, EmptyAndUnknown) {
  EXPECT_EQ(T("REFERENCES"), "");
  add("<a>", "", "", "s", 1);
  EXPECT_EQ(T("REFS"), "");
  EXPECT_FALSE(thread_algorithm_supported("refs"));
  EXPECT_EQ(thread_needs("REFERENCES"), kNeedStructure | kNeedBody);
  EXPECT_EQ(thread_needs("ORDEREDSUBJECT"), kNeedStructure);
}

}  // namespace
}  // namespace ringmta::imap
