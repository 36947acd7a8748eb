// tests/unit/mail/mime_parse_test.cpp — parse_mime() rule by rule (mail/mime.h):
// spans that serve IMAP BODY[section] by slicing, Content-* fields, defaults,
// multipart delimiters, message/rfc822, broken input and the limits.
#include <gtest/gtest.h>

#include <string>

#include "mail/mime.h"
#include "tests/unit/mail/mime_check.h"

using namespace ringmta::mail;

namespace {

// Test messages are written with "\n"; the wire form has CRLF.
std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\r\n";
    else out.push_back(c);
  }
  return out;
}

std::string_view slice(std::string_view msg, Span s) { return msg.substr(s.offset, s.length); }

MimeStructure parsed(const std::string& msg, const MimeLimits& lim = {}) {
  MimeStructure s = parse_mime(msg, lim);
  EXPECT_EQ(test::check_structure(s, msg, lim), "");
  return s;
}

const MimePart& child(const MimeStructure& s, const MimePart& p, size_t i) { return s.parts.at(p.children.at(i)); }

}  // namespace

TEST(MimeParse, PlainMessageSpansDefaultsAndLines) {
  const std::string msg = crlf("Subject: hi\nFrom: a@b.example\n\nline 1\nline 2\nno end");
  MimeStructure s = parsed(msg);
  ASSERT_EQ(s.parts.size(), 1u);
  const MimePart& p = s.parts[0];
  EXPECT_EQ(slice(msg, p.header), crlf("Subject: hi\nFrom: a@b.example\n\n"));  // BODY[HEADER] ends with the empty line
  EXPECT_EQ(slice(msg, p.body), crlf("line 1\nline 2\nno end"));
  EXPECT_EQ(p.type, "text");
  EXPECT_EQ(p.subtype, "plain");
  ASSERT_EQ(p.params.size(), 1u);
  EXPECT_EQ(p.params[0].name, "charset");
  EXPECT_EQ(p.params[0].value, "us-ascii");
  EXPECT_EQ(p.flags, kDefaultType);
  EXPECT_EQ(p.encoding, "7bit");
  EXPECT_EQ(p.lines, 3u);  // two line ends and an unterminated last line
  EXPECT_EQ(s.message_size, msg.size());
}

TEST(MimeParse, ContentFields) {
  const std::string msg = crlf(
      "Content-Type: Text/HTML ; CharSet=\"UTF-8\" (comment); format=flowed;\n"
      "  title*=us-ascii'en'This%20is ; name=\"=?utf-8?q?caf=C3=A9?=\"; junk\n"
      "Content-Transfer-Encoding: Quoted-Printable (why not)\n"
      "Content-ID: <part1@example>\n"
      "Content-Description: the   body\n"
      "Content-Disposition: ATTACHMENT; filename=\"a \\\"b\\\".html\"; size=42\n"
      "Content-Language: en-GB (British), fr\n"
      "Content-Location: http://example.com/\n x.html\n"
      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
      "Content-Type: text/plain\n"  // a second one is ignored
      "\n<p>x</p>\n");
  MimeStructure s = parsed(msg);
  const MimePart& p = s.parts[0];
  EXPECT_EQ(p.type, "text");
  EXPECT_EQ(p.subtype, "html");
  EXPECT_EQ(p.flags, 0);
  ASSERT_EQ(p.params.size(), 4u);
  EXPECT_EQ(p.params[0].name, "charset");
  EXPECT_EQ(p.params[0].value, "UTF-8");
  EXPECT_EQ(p.params[1].name, "format");
  EXPECT_EQ(p.params[1].value, "flowed");
  EXPECT_EQ(p.params[2].name, "title*");  // RFC 2231 left for the client
  EXPECT_EQ(p.params[2].value, "us-ascii'en'This%20is");
  EXPECT_EQ(p.params[3].value, "=?utf-8?q?caf=C3=A9?=");  // RFC 2047 left as well
  EXPECT_EQ(p.encoding, "quoted-printable");
  EXPECT_EQ(p.id, "<part1@example>");
  EXPECT_EQ(p.description, "the   body");
  EXPECT_EQ(p.disposition, "attachment");
  ASSERT_EQ(p.disposition_params.size(), 2u);
  EXPECT_EQ(p.disposition_params[0].value, "a \"b\".html");
  EXPECT_EQ(p.disposition_params[1].name, "size");
  EXPECT_EQ(p.language, (std::vector<std::string>{"en-GB", "fr"}));
  EXPECT_EQ(p.location, "http://example.com/ x.html");
  EXPECT_EQ(p.md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
  EXPECT_EQ(p.lines, 1u);
}

TEST(MimeParse, UnusableContentTypeGetsTheDefault) {
  for (const char* ct : {"text", "/plain", "text/", "te xt/plain", "\"text\"/plain", "", "multipart/mixed"}) {
    const std::string msg = crlf(std::string("Content-Type: ") + ct + "\n\nbody\n");
    MimeStructure s = parsed(msg);
    EXPECT_EQ(s.parts[0].type + "/" + s.parts[0].subtype, "text/plain") << ct;
    EXPECT_EQ(s.parts[0].flags, kDefaultType) << ct;
    ASSERT_EQ(s.parts[0].params.size(), 1u) << ct;
    EXPECT_EQ(s.parts[0].params[0].value, "us-ascii") << ct;
  }
  // Junk after a good type is tolerated.
  MimeStructure s = parsed(crlf("Content-Type: image/png junk; name=x.png\n\n"));
  EXPECT_EQ(s.parts[0].type + "/" + s.parts[0].subtype, "image/png");
  ASSERT_EQ(s.parts[0].params.size(), 1u);
  EXPECT_EQ(s.parts[0].params[0].value, "x.png");
}

TEST(MimeParse, MultipartDelimitersPreambleEpilogue) {
  const std::string msg = crlf(
      "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
      "preamble\n"
      "--b1-not-a-delimiter\n"
      "--b1 \t\n"  // trailing whitespace allowed
      "Content-Type: text/plain\n\n"
      "first\n"
      "--b1x\n"    // not a delimiter: more than whitespace follows
      "\n"
      "--b1\n"
      "\n"
      "second\n\n"
      "--b1--  \n"
      "epilogue\n--b1\nignored\n");
  MimeStructure s = parsed(msg);
  const MimePart& root = s.parts[0];
  EXPECT_EQ(root.type, "multipart");
  ASSERT_EQ(root.children.size(), 2u);
  const MimePart& a = child(s, root, 0);
  EXPECT_EQ(slice(msg, a.header), crlf("Content-Type: text/plain\n\n"));
  EXPECT_EQ(slice(msg, a.body), crlf("first\n--b1x\n"));  // the CRLF before "--b1" is the delimiter's
  EXPECT_EQ(a.lines, 2u);
  EXPECT_EQ(a.flags, 0);
  const MimePart& b = child(s, root, 1);
  EXPECT_EQ(slice(msg, b.header), crlf("\n"));  // no MIME headers: BODY[2.MIME] is the empty line
  EXPECT_EQ(slice(msg, b.body), crlf("second\n"));
  EXPECT_EQ(b.flags, kDefaultType);
}

TEST(MimeParse, MissingCloseDelimiterAndEmptyParts) {
  const std::string msg = crlf(
      "Content-Type: multipart/alternative; boundary=zz\n\n"
      "--zz\n--zz\nContent-Type: text/html\n\n<b>x</b>\n");
  MimeStructure s = parsed(msg);
  ASSERT_EQ(s.parts[0].children.size(), 2u);
  const MimePart& empty = child(s, s.parts[0], 0);
  EXPECT_EQ(empty.header.length, 0u);
  EXPECT_EQ(empty.body.length, 0u);
  EXPECT_EQ(empty.lines, 0u);
  const MimePart& last = child(s, s.parts[0], 1);
  EXPECT_EQ(last.subtype, "html");
  EXPECT_EQ(slice(msg, last.body), crlf("<b>x</b>\n"));  // runs to the end of the multipart body
}

TEST(MimeParse, MultipartWithoutDelimiterIsBrokenText) {
  const std::string msg = crlf("Content-Type: multipart/mixed; boundary=q\n\n--qq\nhello\n--q--\n");
  MimeStructure s = parsed(msg);
  ASSERT_EQ(s.parts.size(), 1u);
  EXPECT_EQ(s.parts[0].type + "/" + s.parts[0].subtype, "text/plain");
  EXPECT_EQ(s.parts[0].flags, kBroken);
  EXPECT_EQ(s.parts[0].lines, 3u);
}

TEST(MimeParse, NestedMultipartAndMessageRfc822) {
  const std::string inner_msg = crlf(
      "From: \"Inner, Person\" <inner@example.org>\n"
      "Subject: inner\n"
      "Content-Type: multipart/mixed; boundary=in\n\n"
      "--in\n\ninner text\n--in\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nAAAA\n--in--\n");
  const std::string msg = crlf(
      "From: outer@example.org\nSubject: outer\nContent-Type: multipart/mixed; boundary=out\n\n"
      "--out\nContent-Type: multipart/alternative; boundary=alt\n\n"
      "--alt\n\nplain\n--alt\nContent-Type: text/html\n\n<p>html</p>\n--alt--\n"
      "--out\nContent-Type: message/rfc822\nContent-Description: forwarded\n\n") +
      inner_msg + crlf("--out--\n");
  MimeStructure s = parsed(msg);
  const MimePart& root = s.parts[0];
  ASSERT_EQ(root.children.size(), 2u);
  const MimePart& alt = child(s, root, 0);
  EXPECT_EQ(alt.subtype, "alternative");
  ASSERT_EQ(alt.children.size(), 2u);
  EXPECT_EQ(slice(msg, child(s, alt, 0).body), "plain");
  EXPECT_EQ(slice(msg, child(s, alt, 1).body), "<p>html</p>");
  const MimePart& fwd = child(s, root, 1);
  EXPECT_EQ(fwd.type + "/" + fwd.subtype, "message/rfc822");
  EXPECT_EQ(fwd.description, "forwarded");
  EXPECT_FALSE(fwd.envelope);  // the envelope belongs to the encapsulated message
  // BODY[2] is the whole encapsulated message (without the CRLF of "--out--").
  EXPECT_EQ(std::string(slice(msg, fwd.body)) + "\r\n", inner_msg);
  EXPECT_EQ(fwd.lines, 13u);  // 12 line ends and the unterminated "--in--"
  ASSERT_EQ(fwd.children.size(), 1u);
  const MimePart& inner = child(s, fwd, 0);
  ASSERT_TRUE(inner.envelope);
  EXPECT_EQ(inner.envelope->subject, "inner");
  ASSERT_EQ(inner.envelope->from.list.size(), 1u);
  EXPECT_EQ(inner.envelope->from.list[0].name, "Inner, Person");
  EXPECT_EQ(slice(msg, inner.header).substr(0, 5), "From:");  // BODY[2.HEADER]
  ASSERT_EQ(inner.children.size(), 2u);
  const MimePart& pdf = child(s, inner, 1);
  EXPECT_EQ(pdf.encoding, "base64");
  EXPECT_EQ(slice(msg, pdf.body), "AAAA");
  EXPECT_EQ(pdf.lines, 0u);  // only text/* and message/* count lines
  ASSERT_TRUE(root.envelope);
  EXPECT_EQ(root.envelope->subject, "outer");
}

TEST(MimeParse, DigestDefaultsToMessageRfc822) {
  const std::string msg = crlf(
      "Content-Type: multipart/digest; boundary=d\n\n"
      "--d\n\nSubject: one\n\nbody one\n"
      "--d\nContent-Type: text/plain\n\nnot a message\n"
      "--d--\n");
  MimeStructure s = parsed(msg);
  ASSERT_EQ(s.parts[0].children.size(), 2u);
  const MimePart& one = child(s, s.parts[0], 0);
  EXPECT_EQ(one.type + "/" + one.subtype, "message/rfc822");
  EXPECT_EQ(one.flags, kDefaultType);
  EXPECT_TRUE(one.params.empty());
  ASSERT_EQ(one.children.size(), 1u);
  EXPECT_EQ(child(s, one, 0).envelope->subject, "one");
  EXPECT_EQ(child(s, one, 0).type, "text");  // inside the encapsulated message the default is text/plain again
  EXPECT_EQ(child(s, s.parts[0], 1).type, "text");
}

TEST(MimeParse, EncodedMessageRfc822IsALeaf) {
  const std::string msg = crlf("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0K\n");
  MimeStructure s = parsed(msg);
  ASSERT_EQ(s.parts.size(), 1u);
  EXPECT_EQ(s.parts[0].type + "/" + s.parts[0].subtype, "application/octet-stream");
  EXPECT_EQ(s.parts[0].flags, kBroken);
  EXPECT_EQ(s.parts[0].encoding, "base64");
}

TEST(MimeParse, BareLfAndNoHeaders) {
  const std::string lf = "Subject: lf\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\none\n--x--\n";
  MimeStructure s = parsed(lf);
  ASSERT_EQ(s.parts[0].children.size(), 1u);
  EXPECT_EQ(slice(lf, child(s, s.parts[0], 0).body), "one");
  EXPECT_EQ(s.parts[0].envelope->subject, "lf");

  const std::string no_headers = crlf("\nbody only\n");
  s = parsed(no_headers);
  EXPECT_EQ(s.parts[0].header.length, 2u);
  EXPECT_EQ(slice(no_headers, s.parts[0].body), crlf("body only\n"));
  EXPECT_FALSE(s.parts[0].envelope->subject);

  const std::string no_separator = crlf("Subject: all header\nX: y\n");
  s = parsed(no_separator);
  EXPECT_EQ(s.parts[0].header.length, no_separator.size());
  EXPECT_EQ(s.parts[0].body.length, 0u);
  EXPECT_EQ(s.parts[0].lines, 0u);

  s = parsed("");
  EXPECT_EQ(s.parts.size(), 1u);
}

TEST(MimeParse, EnvelopeRawValues) {
  const std::string msg = crlf(
      "Date: Mon, 7 Dec 2026 08:00:00 +0000\n"
      "Subject:\n"
      "Subject: second subject is ignored\n"
      "From: A <a@example.com>\n"
      "To: b@example.com,\n\tc@example.com\n"
      "In-Reply-To: <x@y>\n"
      "Message-ID: <id@example.com>\n\n");
  MimeStructure s = parsed(msg);
  const Envelope& e = *s.parts[0].envelope;
  EXPECT_EQ(e.date, "Mon, 7 Dec 2026 08:00:00 +0000");
  EXPECT_EQ(e.subject, "");  // present but empty, unlike an absent field
  EXPECT_EQ(e.to.raw, "b@example.com,\tc@example.com");
  EXPECT_EQ(e.to.list.size(), 2u);
  EXPECT_FALSE(e.sender.raw);
  EXPECT_TRUE(e.sender.list.empty());  // defaults to From are the IMAP writer's job
  EXPECT_FALSE(e.cc.raw);
  EXPECT_EQ(e.in_reply_to, "<x@y>");
  EXPECT_EQ(e.message_id, "<id@example.com>");
}

TEST(MimeParse, DepthLimit) {
  std::string msg;
  for (int i = 0; i < 60; ++i) msg += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  msg += "\r\nleaf\r\n";
  MimeStructure s = parsed(msg);
  // Containers at depth 0..49 are expanded; the one at depth 50 is a leaf.
  ASSERT_EQ(s.parts.size(), 51u);
  size_t limited = 0;
  for (const MimePart& p : s.parts) limited += (p.flags & kLimit) != 0;
  EXPECT_EQ(limited, 1u);
  EXPECT_EQ(s.parts.back().type + "/" + s.parts.back().subtype, "application/octet-stream");

  MimeLimits small{3, 100};
  s = parsed(msg, small);
  EXPECT_EQ(s.parts.size(), 4u);

  // message/rfc822 nesting counts too.
  std::string m;
  for (int i = 0; i < 80; ++i) m += "Content-Type: message/rfc822\r\n\r\n";
  s = parsed(m);
  EXPECT_EQ(s.parts.size(), 51u);
  EXPECT_EQ(s.parts.back().flags, kLimit);
}

TEST(MimeParse, PartLimit) {
  std::string msg = "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (int i = 0; i < 20000; ++i) msg += "--p\r\n\r\nx\r\n";
  msg += "--p--\r\n";
  MimeStructure s = parsed(msg);
  EXPECT_EQ(s.parts.size(), 10000u);
  EXPECT_EQ(s.parts[0].flags, kLimit);
  EXPECT_EQ(s.parts[0].children.size(), 9999u);
  // The last kept child ends where the next (dropped) one begins.
  EXPECT_TRUE(slice(msg, s.parts.back().body) == "x");  // (no EXPECT_EQ: it would print the whole message)

  // With the cap already reached, a container is not expanded at all.
  const std::string two = crlf("Content-Type: multipart/mixed; boundary=p\n\n--p\nContent-Type: message/rfc822\n\nSubject: x\n\n--p--\n");
  s = parsed(two, MimeLimits{50, 2});
  ASSERT_EQ(s.parts.size(), 2u);
  EXPECT_EQ(s.parts[1].type, "application");
  EXPECT_EQ(s.parts[1].flags, kLimit);
  s = parsed(two, MimeLimits{50, 1});
  ASSERT_EQ(s.parts.size(), 1u);
  EXPECT_EQ(s.parts[0].flags, kLimit);
}

TEST(MimeParse, ManyDelimiterLinesAtFullDepthFinish) {
  // The worst case for the delimiter scan: deep nesting and a huge body of
  // delimiter-like lines. It must stay linear (times the depth); the test
  // only shows it finishes and stays consistent, it asserts no timing.
  std::string msg;
  for (int i = 0; i < 50; ++i) {
    const std::string b = "b" + std::to_string(i);
    msg += "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n";
  }
  for (int i = 0; i < 100000; ++i) msg += "--b-\r\n";
  MimeStructure s = parsed(msg);
  EXPECT_EQ(s.parts.size(), 51u);
}

TEST(MimeParse, FirstNonEmptyBoundaryCounts) {
  const std::string msg = crlf("Content-Type: multipart/mixed; boundary=\"\"; boundary=x\n\n--\nnot a part\n--x\n\nyes\n--x--\n");
  MimeStructure s = parsed(msg);
  ASSERT_EQ(s.parts[0].children.size(), 1u);
  EXPECT_EQ(slice(msg, child(s, s.parts[0], 0).body), "yes");
}

TEST(MimeParse, EnvelopeEmptyFieldsAndGroups) {
  // Empty Sender/Reply-To fields are present (raw "") with empty lists: the
  // IMAP writer then uses From, as for absent ones (RFC 3501 §7.4.2).
  const std::string msg = crlf(
      "From: user@example.org (Real Name)\n"
      "Sender: \n"
      "Reply-To:\n"
      "To: one: a@x.example, b@y.example;, two: c@z.example;\n\n");
  const MimeStructure s = parsed(msg);
  const Envelope& e = *s.parts[0].envelope;
  ASSERT_EQ(e.from.list.size(), 1u);
  EXPECT_EQ(e.from.list[0].name, "Real Name");
  EXPECT_EQ(e.sender.raw, "");
  EXPECT_TRUE(e.sender.list.empty());
  EXPECT_EQ(e.reply_to.raw, "");
  EXPECT_TRUE(e.reply_to.list.empty());
  using K = EnvelopeAddress::Kind;
  std::vector<K> kinds;
  for (const EnvelopeAddress& a : e.to.list) kinds.push_back(a.kind);
  EXPECT_EQ(kinds, (std::vector<K>{K::GroupStart, K::Mailbox, K::Mailbox, K::GroupEnd, K::GroupStart, K::Mailbox,
                                   K::GroupEnd}));
  EXPECT_EQ(e.to.list[4].mailbox, "two");
}
