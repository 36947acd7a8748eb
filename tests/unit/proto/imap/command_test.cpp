// tests/unit/proto/imap/command_test.cpp — unit tests for the IMAP command
// assembler (literals, limits) and parser (each command, the lexical rules,
// search keys, fetch attributes, and precise errors for bad input).
#include <gtest/gtest.h>

#include "tests/unit/proto/imap/dump.h"

namespace ringmta::imap {
namespace {

std::string P(std::string_view raw) { return testing::dump_result(parse_command(raw)); }

TEST(ImapAssembler, SyncLiteralAsksForContinuation) {
  CommandAssembler a;
  a.feed("a1 LOGIN {4}\r\n");
  EXPECT_EQ(a.next().status, AssembleStatus::Continuation);
  EXPECT_EQ(a.next().status, AssembleStatus::NeedMore);
  a.feed("us\r\n pass\r\n");
  const Assembled e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Command);
  EXPECT_EQ(e.command, "a1 LOGIN {4}\r\nus\r\n pass");
  EXPECT_EQ(P(e.command), R"("a1" LOGIN user="us\x0d\x0a" password="pass")");
}

TEST(ImapAssembler, NonSyncLiteralNoContinuationAndLiteralMinusLimit) {
  CommandAssembler a;
  a.feed("a2 APPEND INBOX {3+}\r\nabc\r\n");
  Assembled e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Command);
  EXPECT_EQ(P(e.command), R"("a2" APPEND mailbox="INBOX" message="abc")");
  a.feed("a3 APPEND INBOX {4097+}\r\n");
  e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Error);
  EXPECT_EQ(e.tag, "a3");
  EXPECT_TRUE(e.toobig);
  EXPECT_TRUE(e.fatal);
  AssemblerLimits plus;
  plus.literal_plus = true;
  CommandAssembler b(plus);
  b.feed("a4 APPEND INBOX {4097+}\r\n" + std::string(4097, 'x') + "\r\n");
  e = b.next();
  ASSERT_EQ(e.status, AssembleStatus::Command);
  EXPECT_EQ(parse_command(e.command).command.message.size(), 4097u);
}

TEST(ImapAssembler, AppendLimitAndLineLimit) {
  AssemblerLimits l;
  l.max_literal = 100;
  l.max_line = 50;
  CommandAssembler a(l);
  a.feed("t1 APPEND INBOX {101}\r\nt2 NOOP\r\n");
  Assembled e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Error);
  EXPECT_EQ(e.tag, "t1");
  EXPECT_FALSE(e.fatal);  // the client waits for "+", so the stream is still in sync
  e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Command);
  EXPECT_EQ(e.command, "t2 NOOP");
  a.feed("t3 LOGIN " + std::string(200, 'u') + " p\r\nt4 NOOP\r\n");
  e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Error);
  EXPECT_EQ(e.tag, "t3");
  e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Command);
  EXPECT_EQ(e.command, "t4 NOOP");
  // A line that never ends is bounded too.
  a.feed(std::string(10000, 'z'));
  EXPECT_EQ(a.next().status, AssembleStatus::Error);
  EXPECT_EQ(a.next().status, AssembleStatus::NeedMore);
  EXPECT_EQ(a.buffered(), 0u);
  a.feed(std::string(10000, 'z') + "\r\nt5 NOOP\r\n");
  e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Command);  // the rest of the long line was skipped
  EXPECT_EQ(e.command, "t5 NOOP");
  // An over-long line announcing a non-synchronising literal: the literal and
  // the rest of that command are skipped, not read as commands.
  a.feed("t6 APPEND INBOX " + std::string(100, 'f') + " {10+}\r\nt7 NOOP\r\n rest\r\nt8 NOOP\r\n");
  EXPECT_EQ(a.next().status, AssembleStatus::Error);
  e = a.next();
  ASSERT_EQ(e.status, AssembleStatus::Command);
  EXPECT_EQ(e.command, "t8 NOOP");
}

TEST(ImapParser, SimpleCommandsAndUid) {
  EXPECT_EQ(P("a CAPABILITY"), R"("a" CAPABILITY)");
  EXPECT_EQ(P("a noop"), R"("a" NOOP)");
  EXPECT_EQ(P("a NOOP x"), R"(BAD tag="a" Unexpected extra arguments)");
  EXPECT_EQ(P("a UID EXPUNGE 1:3,7"), R"("a" UID EXPUNGE set=1:3,7)");
  EXPECT_EQ(P("a UID LOGIN x y"), R"(BAD tag="a" Invalid UID command)");
  EXPECT_EQ(P("a FROB"), R"(BAD tag="a" Unknown command)");
  EXPECT_EQ(P("+a NOOP"), R"(BAD tag="" Missing or invalid tag)");
  EXPECT_EQ(P("a AUTHENTICATE plain AGZvbwBiYXI="), R"("a" AUTHENTICATE mech="PLAIN" ir="AGZvbwBiYXI=")");
  EXPECT_EQ(P("a AUTHENTICATE PLAIN ="), R"("a" AUTHENTICATE mech="PLAIN" ir="")");
  EXPECT_EQ(P("a ENABLE condstore UTF8=ACCEPT"), R"("a" ENABLE atoms=("CONDSTORE" "UTF8=ACCEPT"))");
}

TEST(ImapParser, StringsAndMailboxes) {
  EXPECT_EQ(P(R"(a LOGIN "jo\"e" "p\\w")"), R"("a" LOGIN user="jo\"e" password="p\\w")");
  EXPECT_EQ(P(R"(a LOGIN "bad\x" y)"), R"(BAD tag="a" Invalid escape in quoted string)");
  EXPECT_EQ(P("a LOGIN \"unterminated"), R"(BAD tag="a" Unterminated quoted string)");
  EXPECT_EQ(P("a SELECT inbox"), R"("a" SELECT mailbox="INBOX")");
  EXPECT_EQ(P("a SELECT \"Inbox\""), R"("a" SELECT mailbox="INBOX")");
  EXPECT_EQ(P("a CREATE &AMk-t&AOk-"), R"("a" CREATE mailbox="&AMk-t&AOk-")");
  EXPECT_EQ(P("a CREATE foo(bar"), R"(BAD tag="a" Expected a space)");
  EXPECT_EQ(P("a CREATE Spam (USE (\\Junk))"), R"("a" CREATE mailbox="Spam" flags=("\\Junk"))");
  EXPECT_EQ(P("a CREATE Spam (FOO)"), R"(BAD tag="a" Invalid CREATE parameters)");
  EXPECT_EQ(P("a RENAME a b"), R"("a" RENAME mailbox="a" new="b")");
  EXPECT_EQ(P("a DELETE {3}\r\nx\"y"), R"("a" DELETE mailbox="x\"y")");
  EXPECT_EQ(P("a DELETE {5}\r\nxy"), R"(BAD tag="a" Literal shorter than announced)");
}

TEST(ImapParser, SelectListStatus) {
  EXPECT_EQ(P("a SELECT INBOX (CONDSTORE)"), R"("a" SELECT mailbox="INBOX" condstore)");
  EXPECT_EQ(P("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"),
            R"("a" SELECT mailbox="INBOX" qresync=67890007/20050715194045000/41,43:211,214:541//)");
  EXPECT_EQ(P("a EXAMINE INBOX (QRESYNC (1 2 1:* (1:5 10:20)))"),
            R"("a" EXAMINE mailbox="INBOX" qresync=1/2/1:*/1:5/10:20)");
  EXPECT_EQ(P("a LIST \"\" %"), R"("a" LIST patterns=("%"))");
  EXPECT_EQ(P("a LIST (SUBSCRIBED REMOTE) \"\" (INBOX* Sent) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))"),
            R"("a" LIST patterns=("INBOX*" "Sent") atoms=("MESSAGES" "UNSEEN") select=("SUBSCRIBED" "REMOTE") return=("CHILDREN" "STATUS"))");
  EXPECT_EQ(P("a LIST () \"\" %"), R"("a" LIST patterns=("%"))");
  EXPECT_EQ(P("a LIST  \"\" %"), R"(BAD tag="a" Invalid character in astring)");
  EXPECT_EQ(P("a LIST \"\" % RETURN ()"), R"("a" LIST patterns=("%"))");
  EXPECT_EQ(P("a LIST \"\" % FOO ()"), R"(BAD tag="a" Expected RETURN options)");
  EXPECT_EQ(P("a LSUB \"#news.\" comp.%"), R"("a" LSUB mailbox="#news." patterns=("comp.%"))");
  EXPECT_EQ(P("a STATUS Sent (MESSAGES SIZE HIGHESTMODSEQ)"),
            R"("a" STATUS mailbox="Sent" atoms=("MESSAGES" "SIZE" "HIGHESTMODSEQ"))");
  EXPECT_EQ(P("a STATUS Sent (FOO)"), R"(BAD tag="a" Unknown STATUS item)");
  EXPECT_EQ(P("a STATUS Sent ()"), R"(BAD tag="a" Empty list)");
}

TEST(ImapParser, Append) {
  EXPECT_EQ(P("a APPEND Drafts (\\Seen \\Draft) \" 7-Feb-1994 21:52:25 -0800\" {2}\r\nhi"),
            R"("a" APPEND mailbox="Drafts" flags=("\\Seen" "\\Draft") date=" 7-Feb-1994 21:52:25 -0800" message="hi")");
  EXPECT_EQ(P("a APPEND x \"32-Feb-1994 21:52:25 -0800\" {2}\r\nhi"), R"(BAD tag="a" Invalid date)");
  EXPECT_EQ(P("a APPEND x (\\Recent) {2}\r\nhi"), R"(BAD tag="a" \Recent cannot be set)");
  EXPECT_EQ(P("a APPEND x hi"), R"(BAD tag="a" Expected the message as a literal)");
  EXPECT_EQ(P(std::string_view("a APPEND x ~{3}\r\na\0b", 20)), std::string(R"("a" APPEND mailbox="x" message="a\x00b")"));
}

TEST(ImapParser, SequenceSets) {
  EXPECT_EQ(P("a FETCH 1,2:4,*,5:* FLAGS"), R"("a" FETCH set=1,2:4,*,5:* {FLAGS})");
  EXPECT_EQ(P("a FETCH $ FLAGS"), R"("a" FETCH set=$ {FLAGS})");
  EXPECT_EQ(P("a FETCH 0 FLAGS"), R"(BAD tag="a" Zero is not a valid message number)");
  EXPECT_EQ(P("a FETCH 4294967296 FLAGS"), R"(BAD tag="a" Number out of range)");
  EXPECT_EQ(P("a FETCH 1, FLAGS"), R"(BAD tag="a" Invalid sequence set)");
  SequenceSet s;
  s.ranges = {{5, 0}, {2, 2}};
  EXPECT_TRUE(s.contains(9, 9));
  EXPECT_TRUE(s.contains(2, 9));
  EXPECT_FALSE(s.contains(3, 9));
  EXPECT_TRUE(s.contains(4, 4));  // 5:* with * = 4 is 4:5
}

TEST(ImapParser, Fetch) {
  EXPECT_EQ(P("a FETCH 1 ALL"), R"("a" FETCH set=1 {FLAGS} {INTERNALDATE} {RFC822.SIZE} {ENVELOPE})");
  EXPECT_EQ(P("a FETCH 1 FULL"), R"("a" FETCH set=1 {FLAGS} {INTERNALDATE} {RFC822.SIZE} {ENVELOPE} {BODY})");
  EXPECT_EQ(P("a FETCH 1 fast"), R"("a" FETCH set=1 {FLAGS} {INTERNALDATE} {RFC822.SIZE})");
  EXPECT_EQ(P("a FETCH 1 (ALL)"), R"(BAD tag="a" Unknown fetch attribute)");
  EXPECT_EQ(P("a FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[1.2.TEXT]<0.100>)"),
            R"("a" FETCH set=1:* {UID} {RFC822.SIZE} {BODY[]/peek part= text=HEADER.FIELDS fields=("FROM" "SUBJECT")} {BODY[] part=1.2 text=TEXT <0.100>})");
  EXPECT_EQ(P("a FETCH 1 (BODY[] BODY[3.MIME] BINARY.PEEK[1]<5.6> BINARY.SIZE[2] BODYSTRUCTURE)"),
            R"("a" FETCH set=1 {BODY[] part=} {BODY[] part=3 text=MIME} {BINARY[]/peek part=1 <5.6>} {BINARY.SIZE[] part=2} {BODYSTRUCTURE})");
  EXPECT_EQ(P("a FETCH 1 BODY[MIME]"), R"(BAD tag="a" Invalid section)");
  EXPECT_EQ(P("a FETCH 1 BINARY[TEXT]"), R"(BAD tag="a" BINARY takes only a part number)");
  EXPECT_EQ(P("a FETCH 1 BODY[]<0.0>"), R"(BAD tag="a" Partial length must not be zero)");
  EXPECT_EQ(P("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)"),
            R"("a" UID FETCH set=1:* {FLAGS} changedsince=12345 vanished)");
  EXPECT_EQ(P("a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
            R"(BAD tag="a" VANISHED needs UID FETCH with CHANGEDSINCE)");
}

TEST(ImapParser, StoreCopyMove) {
  EXPECT_EQ(P("a STORE 2:4 +FLAGS.SILENT (\\Deleted $Junk)"),
            R"("a" STORE flags=("\\Deleted" "$Junk") set=2:4 mode=+ silent)");
  EXPECT_EQ(P("a UID STORE 1 (UNCHANGEDSINCE 7) -FLAGS \\Seen"),
            R"("a" UID STORE flags=("\\Seen") set=1 mode=- unchangedsince=7)");
  EXPECT_EQ(P("a STORE 1 FLAGZ (x)"), R"(BAD tag="a" Expected FLAGS, +FLAGS or -FLAGS)");
  EXPECT_EQ(P("a UID MOVE 1:3 Trash"), R"("a" UID MOVE mailbox="Trash" set=1:3)");
  EXPECT_EQ(P("a COPY 1 \"Sent Items\""), R"("a" COPY mailbox="Sent Items" set=1)");
}

TEST(ImapParser, Search) {
  EXPECT_EQ(P("a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
            R"("a" SEARCH criteria=(AND (FLAGGED) (SINCE 1994-2-1) (NOT (FROM "Smith"))))");
  EXPECT_EQ(P("a UID SEARCH RETURN (MIN COUNT) CHARSET utf-8 OR (SEEN 1:*) UID 5:* HEADER X-Foo bar LARGER 100"),
            R"("a" UID SEARCH charset="UTF-8" esearch search_return=("MIN" "COUNT") criteria=(AND (OR (AND (SEEN) (SEQ 1:*)) (UID 5:*)) (HEADER "X-Foo" "bar") (LARGER 100)))");
  EXPECT_EQ(P("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338"),
            R"("a" SEARCH criteria=(AND (MODSEQ "/flags/\\draft" "ALL" 620162338)))");
  EXPECT_EQ(P("a SEARCH ON \"3-Mar-2020\" BODY {3}\r\nxyz TEXT t"),
            R"("a" SEARCH criteria=(AND (ON 2020-3-3) (BODY "xyz") (TEXT "t")))");
  EXPECT_EQ(P("a SEARCH FOO"), R"(BAD tag="a" Unknown search key)");
  EXPECT_EQ(P("a SEARCH OR SEEN"), R"(BAD tag="a" Missing argument)");
  EXPECT_EQ(P("a SEARCH SINCE 1-Foo-1994"), R"(BAD tag="a" Invalid month in date)");
  EXPECT_EQ(P("a SEARCH (SEEN"), R"(BAD tag="a" Missing argument)");
  std::string deep = "a SEARCH ";
  for (int i = 0; i < 100000; ++i) deep += "NOT ";
  deep += "SEEN";
  EXPECT_EQ(P(deep), R"(BAD tag="a" Search key nesting too deep)");
  std::string parens = "a SEARCH " + std::string(100000, '(') + "SEEN" + std::string(100000, ')');
  EXPECT_EQ(P(parens), R"(BAD tag="a" Search key nesting too deep)");
}

TEST(ImapParser, SortThreadIdCompressQuota) {
  EXPECT_EQ(P("a UID SORT (REVERSE DATE SUBJECT) UTF-8 ALL"),
            R"("a" UID SORT charset="UTF-8" sort=("REVERSE" "DATE" "SUBJECT") criteria=(AND (ALL)))");
  EXPECT_EQ(P("a SORT RETURN (MIN COUNT) (SIZE) UTF-8 UNSEEN"),
            R"("a" SORT charset="UTF-8" esearch search_return=("MIN" "COUNT") sort=("SIZE") criteria=(AND (UNSEEN)))");
  EXPECT_EQ(P("a SORT RETURN (FOO) (SIZE) UTF-8 ALL"), R"(BAD tag="a" Unknown SEARCH return option)");
  EXPECT_EQ(P("a SORT (REVERSE) UTF-8 ALL"), R"(BAD tag="a" REVERSE without a sort key)");
  EXPECT_EQ(P("a THREAD REFERENCES US-ASCII SINCE 1-Jan-2020"),
            R"("a" THREAD mech="REFERENCES" charset="US-ASCII" criteria=(AND (SINCE 2020-1-1)))");
  EXPECT_EQ(P("a ID (\"name\" \"mutt\" \"version\" NIL)"), R"("a" ID id["name"]="mutt" id["version"]="")");
  EXPECT_EQ(P("a ID NIL"), R"("a" ID id=NIL)");
  EXPECT_EQ(P("a COMPRESS deflate"), R"("a" COMPRESS mech="DEFLATE")");
  EXPECT_EQ(P("a GETQUOTAROOT inbox"), R"("a" GETQUOTAROOT mailbox="INBOX")");
  EXPECT_EQ(P("a GETQUOTA \"\""), R"("a" GETQUOTA)");
  EXPECT_EQ(P("a IDLE"), R"("a" IDLE)");
}

}  // namespace
}  // namespace ringmta::imap
