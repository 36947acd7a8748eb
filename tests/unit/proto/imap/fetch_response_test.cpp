// tests/unit/proto/imap/fetch_response_test.cpp — proto/imap/fetch_response.h
// by case: what each FETCH item writes, partial ranges (inside, across and
// beyond the end), HEADER.FIELDS(.NOT) with folded lines, sections of nested
// messages (2.1.HEADER), BINARY decoding and literal8, missing data, and the
// needs / \Seen / UNKNOWN-CTE questions the host asks. Every response is also
// read back by the independent reader in fetch_check.h.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mail/mime.h"
#include "proto/imap/fetch_response.h"
#include "tests/unit/proto/imap/fetch_check.h"

using namespace ringmta;
using imap::FetchItem;

namespace {

const std::string kSimple =
    "From: Alice <a@example.com>\r\n"
    "Subject: hello\r\n"
    " world\r\n"
    "X-Long: one\r\n"
    "\ttwo\r\n"
    "To: b@example.org\r\n"
    "subject : second\r\n"
    "\r\n"
    "Body line 1\r\n"
    "Body line 2\r\n";

// A message holding a message/rfc822 that itself holds one (2 and 2.2).
const std::string kNested =
    "From: a@example.com\r\n"
    "Subject: outer\r\n"
    "Content-Type: multipart/mixed; boundary=o\r\n"
    "\r\n"
    "--o\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "first\r\n"
    "--o\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: middle\r\n"
    "Content-Type: multipart/mixed; boundary=m\r\n"
    "\r\n"
    "--m\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "middle text\r\n"
    "--m\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "X-Deep: yes\r\n"
    "\r\n"
    "inner text\r\n"
    "--m--\r\n"
    "--o--\r\n";

const std::string kBinary =
    "Subject: binary\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC\r\n"
    "/w==\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: Quoted-Printable\r\n"
    "\r\n"
    "Caf=E9 soft=\r\n"
    "break, pad   \r\n"
    "=3d=zz=\r\n"
    "--b\r\n"
    "Content-Type: application/x-thing\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin 644 x\r\n"
    "--b--\r\n";

struct Fixture {
  std::string body;
  mail::MimeStructure structure;
  std::vector<std::string> keywords{"$Forwarded", "bad keyword"};
  imap::MessageData data() const {
    imap::MessageData m;
    m.seq = 3;
    m.uid = 42;
    m.flags = imap::kFlagSeen | imap::kFlagFlagged;
    m.recent = true;
    m.keywords = &keywords;
    m.size = body.size();
    m.internal_date_ms = 1796633998LL * 1000 + 999;  // 2026-12-07 08:59:58.999 UTC
    m.modseq = 77;
    m.structure = &structure;
    m.body = body;
    m.has_body = true;
    return m;
  }
  explicit Fixture(std::string b) : body(std::move(b)), structure(mail::parse_mime(body)) {}
};

std::vector<imap::FetchAtt> atts(std::string_view list, bool uid = false) {
  std::string cmd = std::string("a ") + (uid ? "UID " : "") + "FETCH 1 " + std::string(list);
  imap::ParseResult p = imap::parse_command(cmd);
  EXPECT_TRUE(p.ok) << cmd << ": " << p.error;
  return p.command.fetch;
}

struct Fetched {
  std::string text;
  bool complete = false;
  imap::test::ParsedFetch parsed;
};

Fetched fetch(const imap::MessageData& m, std::string_view list, imap::FetchOptions o = {}) {
  Fetched f;
  auto a = atts(list, o.uid_command);
  f.complete = imap::append_fetch(f.text, m, a, o);
  f.parsed = imap::test::parse_fetch_response(f.text, o.write.utf8);
  EXPECT_EQ(f.parsed.error, "") << f.text;
  return f;
}

std::string value(const Fetched& f, std::string_view name) {
  const auto* i = f.parsed.find(name);
  EXPECT_NE(i, nullptr) << name << " not in " << f.text;
  return i ? i->value : "<missing>";
}

}  // namespace

TEST(ImapFetch, RecordItemsAndOrder) {
  Fixture fx(kSimple);
  Fetched f = fetch(fx.data(), "(FLAGS INTERNALDATE RFC822.SIZE UID MODSEQ FLAGS)");
  EXPECT_TRUE(f.complete);
  EXPECT_EQ(f.text,
            "* 3 FETCH (FLAGS (\\Flagged \\Seen \\Recent $Forwarded) "
            "INTERNALDATE \"07-Dec-2026 08:59:58 +0000\" RFC822.SIZE " +
                std::to_string(kSimple.size()) + " UID 42 MODSEQ (77))\r\n");
  // UID FETCH: UID first, once; rev2: no \Recent; CONDSTORE: MODSEQ added;
  // add_flags: FLAGS added after what was asked.
  imap::FetchOptions o{.write = {}, .uid_command = true, .condstore = true, .rev2 = true, .add_flags = true};
  f = fetch(fx.data(), "(RFC822.SIZE UID)", o);
  EXPECT_EQ(f.text, "* 3 FETCH (UID 42 RFC822.SIZE " + std::to_string(kSimple.size()) +
                        " FLAGS (\\Flagged \\Seen $Forwarded) MODSEQ (77))\r\n");
}

TEST(ImapFetch, InternalDateForm) {
  std::string s;
  imap::append_internal_date(s, 951782400LL * 1000);
  EXPECT_EQ(s, "\"29-Feb-2000 00:00:00 +0000\"");
  s.clear();
  imap::append_internal_date(s, -1);  // 1 ms before the epoch
  EXPECT_EQ(s, "\"31-Dec-1969 23:59:59 +0000\"");
  s.clear();
  imap::append_internal_date(s, INT64_MAX);  // clamped to a 4-digit year
  EXPECT_EQ(s, "\"31-Dec-9999 23:59:59 +0000\"");
  s.clear();
  imap::append_internal_date(s, INT64_MIN);
  EXPECT_EQ(s, "\"01-Jan-0001 00:00:00 +0000\"");
}

TEST(ImapFetch, WholeMessageHeaderText) {
  Fixture fx(kSimple);
  size_t split = kSimple.find("\r\n\r\n") + 4;
  Fetched f = fetch(fx.data(), "(BODY.PEEK[] BODY[HEADER] BODY[TEXT] RFC822.HEADER RFC822.TEXT RFC822)");
  EXPECT_EQ(value(f, "BODY[]"), kSimple);
  EXPECT_EQ(value(f, "BODY[HEADER]"), kSimple.substr(0, split));
  EXPECT_EQ(value(f, "BODY[TEXT]"), kSimple.substr(split));
  EXPECT_EQ(value(f, "RFC822.HEADER"), kSimple.substr(0, split));
  EXPECT_EQ(value(f, "RFC822.TEXT"), kSimple.substr(split));
  EXPECT_EQ(value(f, "RFC822"), kSimple);
  // A non-multipart message has part 1: its body; nothing else.
  f = fetch(fx.data(), "(BODY[1] BODY[2] BODY[1.1] BODY[1.HEADER] BODY[1.MIME])");
  EXPECT_TRUE(f.complete);
  EXPECT_EQ(value(f, "BODY[1]"), kSimple.substr(split));
  EXPECT_EQ(value(f, "BODY[2]"), "\"\"");
  EXPECT_EQ(value(f, "BODY[1.1]"), "\"\"");
  EXPECT_EQ(value(f, "BODY[1.HEADER]"), "\"\"");
  EXPECT_EQ(value(f, "BODY[1.MIME]"), kSimple.substr(0, split));
}

TEST(ImapFetch, PartialRanges) {
  Fixture fx(kSimple);
  const size_t n = kSimple.size();
  Fetched f = fetch(fx.data(), "(BODY[]<0.10>)");
  EXPECT_EQ(f.text, "* 3 FETCH (BODY[]<0> {10}\r\n" + kSimple.substr(0, 10) + ")\r\n");
  f = fetch(fx.data(), "(BODY[]<" + std::to_string(n - 3) + ".100>)");
  EXPECT_EQ(value(f, "BODY[]<" + std::to_string(n - 3) + ">"), kSimple.substr(n - 3));
  f = fetch(fx.data(), "(BODY[]<" + std::to_string(n) + ".5> BODY[TEXT]<4294967295.4294967295>)");
  EXPECT_EQ(value(f, "BODY[]<" + std::to_string(n) + ">"), "");
  EXPECT_EQ(value(f, "BODY[TEXT]<4294967295>"), "");
  EXPECT_NE(f.text.find("BODY[]<" + std::to_string(n) + "> {0}\r\n"), std::string::npos);
  f = fetch(fx.data(), "(BODY[HEADER.FIELDS (SUBJECT)]<2.5>)");
  EXPECT_EQ(value(f, "BODY[HEADER.FIELDS (SUBJECT)]<2>"), "bject");
}

TEST(ImapFetch, HeaderFieldsKeepFolding) {
  Fixture fx(kSimple);
  Fetched f = fetch(fx.data(), "(BODY.PEEK[HEADER.FIELDS (x-long Subject \"NOPE\")] BODY[HEADER.FIELDS.NOT (SUBJECT X-LONG)])");
  EXPECT_EQ(value(f, "BODY[HEADER.FIELDS (X-LONG SUBJECT NOPE)]"),
            "Subject: hello\r\n world\r\nX-Long: one\r\n\ttwo\r\nsubject : second\r\n\r\n");
  EXPECT_EQ(value(f, "BODY[HEADER.FIELDS.NOT (SUBJECT X-LONG)]"),
            "From: Alice <a@example.com>\r\nTo: b@example.org\r\n\r\n");
  // Nothing matches: only the empty line.
  f = fetch(fx.data(), "(BODY[HEADER.FIELDS (X-NONE)])");
  EXPECT_EQ(value(f, "BODY[HEADER.FIELDS (X-NONE)]"), "\r\n");
  // Direct: a block without its empty line and with bare LF, a line without a colon.
  std::vector<std::string> fields{"A", "B"};
  EXPECT_EQ(imap::select_header_fields("a: 1\n x\njunk line\nB:2", fields, false), "a: 1\n x\nB:2\r\n\r\n");
  EXPECT_EQ(imap::select_header_fields("a: 1\n x\njunk line\nC:3\n", fields, true), "C:3\n\r\n");
  EXPECT_EQ(imap::select_header_fields("", fields, true), "\r\n");
  // A field name that is not an atom is written as a quoted string.
  f = fetch(fx.data(), "(BODY[HEADER.FIELDS (\"a b\")])");
  EXPECT_EQ(value(f, "BODY[HEADER.FIELDS (\"A B\")]"), "\r\n");
  // 8-bit: a literal in rev1, a quoted string where UTF-8 is allowed.
  f = fetch(fx.data(), "(BODY[HEADER.FIELDS (\"\xc3\xa9\")])");
  EXPECT_EQ(value(f, "BODY[HEADER.FIELDS ({2}\r\n\xc3\xa9)]"), "\r\n");
  f = fetch(fx.data(), "(BODY[HEADER.FIELDS (\"\xc3\xa9\")])", {.write = {.utf8 = true}});
  EXPECT_EQ(value(f, "BODY[HEADER.FIELDS (\"\xc3\xa9\")]"), "\r\n");
}

TEST(ImapFetch, NestedMessages) {
  Fixture fx(kNested);
  auto m = fx.data();
  Fetched f = fetch(m, "(BODY[1] BODY[2.HEADER] BODY[2.1] BODY[2.2.HEADER] BODY[2.2.TEXT] "
                       "BODY[2.2.1] BODY[2.2.HEADER.FIELDS (X-DEEP)] BODY[2.2.MIME] BODY[2.1.HEADER] BODY[3])");
  EXPECT_TRUE(f.complete);
  EXPECT_EQ(value(f, "BODY[1]"), "first");
  EXPECT_EQ(value(f, "BODY[2.HEADER]"),
            "Subject: middle\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n");
  EXPECT_EQ(value(f, "BODY[2.1]"), "middle text");
  EXPECT_EQ(value(f, "BODY[2.2.HEADER]"), "Subject: inner\r\nX-Deep: yes\r\n\r\n");
  EXPECT_EQ(value(f, "BODY[2.2.TEXT]"), "inner text");
  EXPECT_EQ(value(f, "BODY[2.2.1]"), "inner text");  // the inner message is single-part
  EXPECT_EQ(value(f, "BODY[2.2.HEADER.FIELDS (X-DEEP)]"), "X-Deep: yes\r\n\r\n");
  EXPECT_EQ(value(f, "BODY[2.2.MIME]"), "Content-Type: message/rfc822\r\n\r\n");
  EXPECT_EQ(value(f, "BODY[2.1.HEADER]"), "\"\"");  // 2.1 is text/plain
  EXPECT_EQ(value(f, "BODY[3]"), "\"\"");
}

TEST(ImapFetch, BinaryDecoding) {
  Fixture fx(kBinary);
  auto m = fx.data();
  auto a = atts("(BINARY[1] BINARY[2])");
  EXPECT_FALSE(imap::binary_unknown_cte(m, a));
  Fetched f = fetch(m, "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY[2] BINARY.SIZE[2] BINARY[1]<1.2> BINARY[9] BINARY.SIZE[9])");
  EXPECT_TRUE(f.complete);
  const auto* b1 = f.parsed.find("BINARY[1]");
  ASSERT_NE(b1, nullptr);
  EXPECT_TRUE(b1->literal8);  // holds NUL
  EXPECT_EQ(b1->value, std::string("\0\1\2\xff", 4));
  EXPECT_EQ(value(f, "BINARY.SIZE[1]"), "4");
  const auto* b2 = f.parsed.find("BINARY[2]");
  ASSERT_NE(b2, nullptr);
  EXPECT_FALSE(b2->literal8);
  EXPECT_EQ(b2->value, "Caf\xe9 softbreak, pad\r\n==zz");
  EXPECT_EQ(value(f, "BINARY.SIZE[2]"), std::to_string(b2->value.size()));
  EXPECT_EQ(value(f, "BINARY[1]<1>"), std::string("\1\2", 2));
  EXPECT_EQ(value(f, "BINARY[9]"), "\"\"");
  EXPECT_EQ(value(f, "BINARY.SIZE[9]"), "0");
  // BINARY[] is the message as stored.
  f = fetch(m, "(BINARY[])");
  EXPECT_EQ(value(f, "BINARY[]"), kBinary);
  // An encoding we cannot remove: the host answers NO [UNKNOWN-CTE].
  EXPECT_TRUE(imap::binary_unknown_cte(m, atts("(BINARY.SIZE[3])")));
  EXPECT_TRUE(imap::binary_unknown_cte(m, atts("(FLAGS BINARY[3])")));
  EXPECT_FALSE(imap::binary_unknown_cte(m, atts("(BODY[3] BINARY[])")));
  f = fetch(m, "(BINARY[3])");  // written anyway: NIL, reported incomplete
  EXPECT_FALSE(f.complete);
  EXPECT_EQ(value(f, "BINARY[3]"), "NIL");
}

TEST(ImapFetch, TransferDecodingEdges) {
  std::string out;
  EXPECT_TRUE(imap::decode_transfer_encoding("base64", "SGVs\r\nbG8 gd29y!!bGQ=\r\nignored", out));
  EXPECT_EQ(out, "Hello world");
  out.clear();
  EXPECT_TRUE(imap::decode_transfer_encoding("base64", "QQ", out));  // unpadded tail
  EXPECT_EQ(out, "A");
  out.clear();
  EXPECT_TRUE(imap::decode_transfer_encoding("quoted-printable", "a=\nb\t \n=4A=4a=\r\n=", out));
  EXPECT_EQ(out, "ab\nJJ");  // a lone "=" at the end is a soft break too
  out.clear();
  EXPECT_FALSE(imap::decode_transfer_encoding("x-uuencode", "abc", out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(imap::known_transfer_encoding("8bit"));
  EXPECT_FALSE(imap::known_transfer_encoding("BASE64"));  // MimePart holds it lower-cased
}

TEST(ImapFetch, NulInBodyData) {
  std::string msg = std::string("Subject: x\r\n\r\na\0b\r\n", 19);
  Fixture fx(msg);
  Fetched f = fetch(fx.data(), "(BODY[TEXT] BINARY[1])");
  EXPECT_EQ(value(f, "BODY[TEXT]"), "a\x80" "b\r\n");
  EXPECT_EQ(value(f, "BINARY[1]"), std::string("a\0b\r\n", 5));
}

TEST(ImapFetch, StructureItems) {
  Fixture fx(kSimple);
  Fetched f = fetch(fx.data(), "(ENVELOPE BODY BODYSTRUCTURE)");
  std::string env, body, bs;
  imap::append_envelope(env, *fx.structure.parts[0].envelope);
  imap::append_body_structure(body, fx.structure, false);
  imap::append_body_structure(bs, fx.structure, true);
  EXPECT_EQ(f.text, "* 3 FETCH (ENVELOPE " + env + " BODY " + body + " BODYSTRUCTURE " + bs + ")\r\n");
}

TEST(ImapFetch, MissingDataIsNilNotACrash) {
  Fixture fx(kSimple);
  imap::MessageData m = fx.data();
  m.structure = nullptr;
  Fetched f = fetch(m, "(ENVELOPE BODYSTRUCTURE BODY[1] BINARY.SIZE[1])");
  EXPECT_FALSE(f.complete);
  EXPECT_EQ(f.text, "* 3 FETCH (ENVELOPE NIL BODYSTRUCTURE NIL BODY[1] NIL BINARY.SIZE[1] 0)\r\n");
  // The whole message needs only the bytes.
  f = fetch(m, "(BODY[] RFC822.SIZE)");
  EXPECT_TRUE(f.complete);
  EXPECT_EQ(value(f, "BODY[]"), kSimple);
  m.has_body = false;
  m.body = {};
  f = fetch(m, "(BODY[])");
  EXPECT_FALSE(f.complete);
  EXPECT_EQ(value(f, "BODY[]"), "NIL");
  // A structure that does not describe these bytes (wrong size) is not sliced.
  m = fx.data();
  m.body = std::string_view(kSimple).substr(0, 20);
  f = fetch(m, "(BODY[TEXT])");
  EXPECT_FALSE(f.complete);
  EXPECT_EQ(value(f, "BODY[TEXT]"), "NIL");
}

TEST(ImapFetch, DuplicatesWrittenOnce) {
  Fixture fx(kSimple);
  Fetched f = fetch(fx.data(), "(BODY[TEXT] BODY.PEEK[TEXT] UID UID BODY[TEXT]<0.3>)", {.write = {}, .uid_command = true});
  EXPECT_EQ(f.parsed.items.size(), 3u) << f.text;
  EXPECT_EQ(f.parsed.items[0].name, "UID");
}

TEST(ImapFetch, NeedsAndSeen) {
  using imap::fetch_needs;
  EXPECT_EQ(fetch_needs(atts("(FLAGS UID RFC822.SIZE INTERNALDATE MODSEQ)")), imap::kNeedNothing);
  EXPECT_EQ(fetch_needs(atts("FAST")), imap::kNeedNothing);
  EXPECT_EQ(fetch_needs(atts("ALL")), imap::kNeedStructure);
  EXPECT_EQ(fetch_needs(atts("(BODY BODYSTRUCTURE)")), imap::kNeedStructure);
  EXPECT_EQ(fetch_needs(atts("(BODY.PEEK[])")), imap::kNeedBody);
  EXPECT_EQ(fetch_needs(atts("RFC822")), imap::kNeedBody);
  EXPECT_EQ(fetch_needs(atts("(BINARY.SIZE[])")), imap::kNeedBody);
  EXPECT_EQ(fetch_needs(atts("(BODY.PEEK[HEADER])")), imap::kNeedBody | imap::kNeedStructure);
  EXPECT_EQ(fetch_needs(atts("(BINARY.SIZE[1])")), imap::kNeedBody | imap::kNeedStructure);
  EXPECT_EQ(fetch_needs(atts("(RFC822.HEADER)")), imap::kNeedBody | imap::kNeedStructure);

  using imap::sets_seen;
  EXPECT_TRUE(sets_seen(atts("(BODY[])")));
  EXPECT_TRUE(sets_seen(atts("(FLAGS BODY[1.MIME])")));
  EXPECT_TRUE(sets_seen(atts("RFC822")));
  EXPECT_TRUE(sets_seen(atts("RFC822.TEXT")));
  EXPECT_TRUE(sets_seen(atts("(BINARY[1])")));
  EXPECT_FALSE(sets_seen(atts("(BODY.PEEK[] BINARY.PEEK[1] BINARY.SIZE[1])")));
  EXPECT_FALSE(sets_seen(atts("(RFC822.HEADER RFC822.SIZE BODY BODYSTRUCTURE ENVELOPE)")));
}
