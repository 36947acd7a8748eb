// tests/unit/proto/imap/response_test.cpp — the IMAP string writer
// (atom / quoted / literal / NIL), flag lists, ENVELOPE defaults and the
// BODY/BODYSTRUCTURE forms of RFC 3501 §7.4.2 on small hand-made messages.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mail/mime.h"
#include "proto/imap/response.h"
#include "tests/unit/proto/imap/syntax_check.h"

using namespace ringmta;
using namespace ringmta::imap;

namespace {

std::string str(std::string_view s, bool utf8 = false) {
  std::string out;
  append_string(out, s, WriteOptions{.utf8 = utf8});
  return out;
}
std::string astr(std::string_view s) {
  std::string out;
  append_astring(out, s);
  return out;
}
std::string bodystructure(std::string_view msg, bool extended = true, bool rev2 = false) {
  std::string out;
  EXPECT_TRUE(append_body_structure(out, mail::parse_mime(msg), extended, 0,
                                    WriteOptions{.rev2 = rev2}));
  EXPECT_EQ(test::check_imap_data(out), "") << out;
  return out;
}
std::string envelope(std::string_view msg) {
  std::string out;
  append_envelope(out, *mail::parse_mime(msg).parts[0].envelope);
  EXPECT_EQ(test::check_imap_data(out), "") << out;
  return out;
}

}  // namespace

TEST(ImapString, QuotedLiteralAtom) {
  EXPECT_EQ(str("hello world"), "\"hello world\"");
  EXPECT_EQ(str(""), "\"\"");
  EXPECT_EQ(str("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(str("line1\r\nline2"), "{12}\r\nline1\r\nline2");
  EXPECT_EQ(str("bare\nlf"), "{7}\r\nbare\nlf");
  EXPECT_EQ(str("J\xc3\xb6rg"), "{5}\r\nJ\xc3\xb6rg");           // 8-bit: literal
  EXPECT_EQ(str("J\xc3\xb6rg", true), "\"J\xc3\xb6rg\"");          // unless UTF-8 is on
  EXPECT_EQ(str("bad\xff", true), "{4}\r\nbad\xff");               // and it is UTF-8
  EXPECT_EQ(str(std::string("a\0b", 3)), "\"ab\"");                // NUL cannot be sent
  EXPECT_EQ(str(std::string("a\0\r\n", 4)), "{3}\r\na\r\n");
  EXPECT_EQ(str(std::string(kMaxQuoted, 'x')), "\"" + std::string(kMaxQuoted, 'x') + "\"");
  EXPECT_EQ(str(std::string(kMaxQuoted + 1, 'x')).substr(0, 7), "{1001}\r");
  EXPECT_EQ(astr("INBOX"), "INBOX");
  EXPECT_EQ(astr("a]b"), "a]b");
  EXPECT_EQ(astr("NIL"), "\"NIL\"");
  EXPECT_EQ(astr("nil"), "\"nil\"");
  EXPECT_EQ(astr("two words"), "\"two words\"");
  EXPECT_EQ(astr("a*"), "\"a*\"");
  EXPECT_EQ(astr(""), "\"\"");
  std::string n;
  append_nstring(n, std::nullopt);
  append_nstring(n, std::string("x"));
  EXPECT_EQ(n, "NIL\"x\"");
}

TEST(ImapString, MailboxNames) {
  auto mbox = [](std::string_view name, bool utf8) {
    std::string out;
    if (!append_mailbox(out, name, WriteOptions{.utf8 = utf8})) return std::string("<invalid>");
    return out;
  };
  EXPECT_EQ(mbox("INBOX", false), "INBOX");
  EXPECT_EQ(mbox("Sent Items", false), "\"Sent Items\"");
  EXPECT_EQ(mbox("Entw\xc3\xbcrfe", false), "Entw&APw-rfe");
  EXPECT_EQ(mbox("Entw\xc3\xbcrfe", true), "\"Entw\xc3\xbcrfe\"");
  EXPECT_EQ(mbox("A&B", false), "A&-B");
  EXPECT_EQ(mbox("A&B", true), "A&B");
  EXPECT_EQ(mbox("a\r\nb", false), "<invalid>");
  EXPECT_EQ(mbox("a\xff", true), "<invalid>");
}

TEST(ImapString, Flags) {
  EXPECT_TRUE(is_flag("\\Seen"));
  EXPECT_TRUE(is_flag("$Forwarded"));
  EXPECT_FALSE(is_flag("\\"));
  EXPECT_FALSE(is_flag("a b"));
  EXPECT_FALSE(is_flag("x]"));
  EXPECT_FALSE(is_flag("\\\\Seen"));
  std::vector<std::string_view> flags{"\\Seen", "$Junk", "bad flag", "\\Answered"};
  std::string out;
  append_flag_list(out, flags);
  EXPECT_EQ(out, "(\\Seen $Junk \\Answered)");
  out.clear();
  append_flag_list(out, std::vector<std::string>{});
  EXPECT_EQ(out, "()");
}

TEST(ImapEnvelope, DefaultsAndGroups) {
  EXPECT_EQ(envelope("From: A <a@x.example>\r\nTo: g: b@y.example;\r\nSubject: hi\r\n\r\nbody\r\n"),
            "(NIL \"hi\" ((\"A\" NIL \"a\" \"x.example\")) ((\"A\" NIL \"a\" \"x.example\")) "
            "((\"A\" NIL \"a\" \"x.example\")) ((NIL NIL \"g\" NIL)(NIL NIL \"b\" \"y.example\")"
            "(NIL NIL NIL NIL)) NIL NIL NIL NIL)");
  // An empty Reply-To is the From list too; an explicit Sender is kept.
  EXPECT_EQ(envelope("From: a@x\r\nSender: s@x\r\nReply-To:\r\nMessage-ID: <1@x>\r\n\r\n"),
            "(NIL NIL ((NIL NIL \"a\" \"x\")) ((NIL NIL \"s\" \"x\")) ((NIL NIL \"a\" \"x\")) "
            "NIL NIL NIL NIL \"<1@x>\")");
  // No header at all: everything NIL.
  EXPECT_EQ(envelope("\r\nbody"), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
  // A subject with a raw 8-bit byte and one with a quote.
  EXPECT_EQ(envelope("Subject: caf\xe9 \"x\"\r\n\r\n"),
            "(NIL {8}\r\ncaf\xe9 \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(ImapBody, SinglePartText) {
  const char* msg = "Content-Type: text/plain; charset=utf-8\r\n\r\nline 1\r\nline 2\r\n";
  EXPECT_EQ(bodystructure(msg),
            "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 16 2 NIL NIL NIL NIL)");
  EXPECT_EQ(bodystructure(msg, false),
            "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 16 2)");
  // The default type carries charset us-ascii; an explicit text/plain without one does not.
  EXPECT_EQ(bodystructure("\r\nx"), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 1 NIL NIL NIL NIL)");
  EXPECT_EQ(bodystructure("Content-Type: text/plain\r\n\r\nx", false),
            "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)");
  // Unless asked to, as Dovecot does; a written charset is never doubled.
  std::string out;
  WriteOptions all{.charset_all_text = true};
  append_body_structure(out, mail::parse_mime("Content-Type: text/html\r\n\r\nx"), false, 0, all);
  EXPECT_EQ(out, "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 1)");
  out.clear();
  append_body_structure(out, mail::parse_mime("Content-Type: text/html; charset=x\r\n\r\nx"), false, 0, all);
  EXPECT_EQ(out, "(\"text\" \"html\" (\"charset\" \"x\") NIL NIL \"7bit\" 1 1)");
}

TEST(ImapBody, BasicWithExtensions) {
  const char* msg =
      "Content-Type: application/pdf; name=\"a b.pdf\"\r\n"
      "Content-Transfer-Encoding: BASE64\r\n"
      "Content-ID: <id1@x>\r\nContent-Description: the report\r\n"
      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
      "Content-Disposition: attachment; filename=\"a b.pdf\"\r\n"
      "Content-Language: en, de\r\nContent-Location: http://x.example/a.pdf\r\n\r\nQUJD\r\n";
  EXPECT_EQ(bodystructure(msg),
            "(\"application\" \"pdf\" (\"name\" \"a b.pdf\") \"<id1@x>\" \"the report\" \"base64\" 6 "
            "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" (\"filename\" \"a b.pdf\")) (\"en\" \"de\") "
            "\"http://x.example/a.pdf\")");
  EXPECT_EQ(bodystructure(msg, false),
            "(\"application\" \"pdf\" (\"name\" \"a b.pdf\") \"<id1@x>\" \"the report\" \"base64\" 6)");
}

TEST(ImapBody, MultipartAndMessage) {
  const char* msg =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\n\r\nhello\r\n"
      "--b\r\nContent-Type: message/rfc822\r\n\r\n"
      "From: x@y\r\nSubject: inner\r\n\r\ninner body\r\n"
      "--b--\r\n";
  EXPECT_EQ(bodystructure(msg, false),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1)"
            "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 39 "
            "(NIL \"inner\" ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) NIL NIL NIL NIL NIL) "
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1) 4) \"mixed\")");
  EXPECT_EQ(bodystructure(msg, true),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
            "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 39 "
            "(NIL \"inner\" ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) NIL NIL NIL NIL NIL) "
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL) "
            "\"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
}

TEST(ImapBody, MessageGlobalOnlyInRev2) {
  const char* msg = "Content-Type: message/global\r\n\r\nSubject: s\r\n\r\nx\r\n";
  std::string rev1 = bodystructure(msg, false, false);
  std::string rev2 = bodystructure(msg, false, true);
  EXPECT_EQ(rev1, "(\"message\" \"global\" NIL NIL NIL \"7bit\" 17)");
  EXPECT_EQ(rev2, "(\"message\" \"global\" NIL NIL NIL \"7bit\" 17 "
                  "(NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) "
                  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1) 3)");
}

TEST(ImapBody, PartIndexAndDeepNesting) {
  std::string out;
  mail::MimeStructure s = mail::parse_mime("x");
  EXPECT_FALSE(append_body_structure(out, s, true, 1));
  EXPECT_EQ(out, "");
  // 40 nested multiparts: the walk does not recurse and stays balanced.
  std::string msg;
  for (int i = 0; i < 40; ++i)
    msg += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  msg += "\r\nleaf\r\n";
  std::string b = bodystructure(msg);
  EXPECT_EQ(b.substr(0, 41), std::string(40, '(') + "(");
  EXPECT_NE(b.find("\"mixed\" (\"boundary\" \"b0\") NIL NIL NIL)"), std::string::npos);
}

TEST(ImapBody, MalformedTreeWritesEachPartOnce) {
  // Trees come from decode_structure(), which checks them; the writer still
  // never follows a child backwards or writes one twice.
  mail::MimeStructure s = mail::parse_mime(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n");
  ASSERT_EQ(s.parts.size(), 2u);
  s.parts[0].children = {1, 1, 0, 7};
  s.parts[1].type = "multipart";
  s.parts[1].children = {0, 1};
  std::string out;
  ASSERT_TRUE(append_body_structure(out, s, false));
  EXPECT_EQ(out, "((\"multipart\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1) \"mixed\")");
  EXPECT_EQ(test::check_imap_data(out), "");
}

TEST(ImapBody, HostileValuesStayWellFormed) {
  const char* msg =
      "From: \"a)(\\\"b\" <x\"y@z>\r\nSubject: {5}\r\n\r\n"
      "Content-Type: text/plain; name=\"}\r\n(\"\r\n\r\n";
  std::string out;
  auto s = mail::parse_mime(msg);
  append_envelope(out, *s.parts[0].envelope);
  out += ' ';
  append_body_structure(out, s, true);
  EXPECT_EQ(test::check_imap_data(out), "") << out;
}

TEST(SyntaxCheck, CatchesBrokenData) {
  EXPECT_NE(test::check_imap_data("(a"), "");
  EXPECT_NE(test::check_imap_data("a)"), "");
  EXPECT_NE(test::check_imap_data("(a  b)"), "");
  EXPECT_NE(test::check_imap_data("\"a\r\""), "");
  EXPECT_NE(test::check_imap_data("{5}\r\nabc"), "");
  EXPECT_NE(test::check_imap_data("{1}\nabc"), "");
  EXPECT_NE(test::check_imap_data("\"x\"\"y\""), "");
  EXPECT_EQ(test::check_imap_data("((a)(b) \"c\" {2}\r\n)( \\Seen)"), "");
  EXPECT_EQ(test::check_imap_data("(a]b NIL)"), "");  // ASTRING-CHAR includes ']'
  EXPECT_NE(test::check_imap_data("(a[b*)"), "");
}
