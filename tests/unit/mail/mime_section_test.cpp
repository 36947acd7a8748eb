// tests/unit/mail/mime_section_test.cpp — find_part() and the slicing rules of
// mail/mime.h give the IMAP BODY[section] results RFC 3501 §6.4.5 asks for:
// numbered parts of multiparts, part 1 of a single-part message, the parts of
// an encapsulated message, .MIME/.HEADER/.TEXT.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "mail/mime.h"

using namespace ringmta::mail;

namespace {

std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\r\n";
    else out.push_back(c);
  }
  return out;
}

enum class What { Body, Mime, Header, Text };

// BODY[path(.MIME|.HEADER|.TEXT)] by the rules in mail/mime.h; "<none>" when
// the section does not exist.
std::string section(const std::string& msg, const MimeStructure& s, std::vector<uint32_t> path, What what) {
  const std::optional<uint32_t> i = find_part(s, path);
  if (!i) return "<none>";
  const MimePart& p = s.parts[*i];
  const bool message = p.type == "message";
  auto slice = [&](Span sp) { return msg.substr(sp.offset, sp.length); };
  if (path.empty()) return what == What::Header ? slice(p.header) : what == What::Text ? slice(p.body) : msg;
  switch (what) {
    case What::Body: return slice(p.body);
    case What::Mime: return slice(p.header);
    case What::Header: return message ? slice(s.parts[p.children.at(0)].header) : "<none>";
    case What::Text: return message ? slice(s.parts[p.children.at(0)].body) : "<none>";
  }
  return "<none>";
}

}  // namespace

TEST(MimeSection, MultipartWithEncapsulatedMultipart) {
  const std::string msg = crlf(
      "From: a@example.org\n"
      "Content-Type: multipart/mixed; boundary=\"outer\n side\"\n\n"  // folded inside the quotes
      "prologue\n\n"
      "--outer side\n"
      "Content-Type: text/x-custom; charset=us-ascii\n\n"
      "first\n\n"
      "--outer side\n"
      "Content-Type: message/rfc822\n\n"
      "From: inner@example.org\n"
      "Subject: inner\n"
      "Content-Type: multipart/alternative; boundary=\"in\"\n\n"
      "inner prologue\n"
      "--in\n"
      "Content-Type: text/html\n\n"
      "<p>x</p>\n\n"
      "--in\n"
      "Content-Type: text/plain\n\n"
      "x\n\n"
      "--in--\n"
      "inner epilogue\n\n"
      "--outer side--\n"
      "epilogue\n");
  const MimeStructure s = parse_mime(msg);
  EXPECT_EQ(section(msg, s, {}, What::Body), msg);
  EXPECT_EQ(section(msg, s, {}, What::Header).substr(0, 5), "From:");
  EXPECT_EQ(section(msg, s, {}, What::Text).substr(0, 8), "prologue");
  EXPECT_EQ(section(msg, s, {1}, What::Body), crlf("first\n"));
  EXPECT_EQ(section(msg, s, {1}, What::Mime), crlf("Content-Type: text/x-custom; charset=us-ascii\n\n"));
  EXPECT_EQ(section(msg, s, {1}, What::Header), "<none>");  // not a message/rfc822 part
  const std::string inner = section(msg, s, {2}, What::Body);
  EXPECT_EQ(inner.substr(0, 24), "From: inner@example.org\r");
  EXPECT_EQ(inner.substr(inner.size() - 16), crlf("inner epilogue\n"));
  EXPECT_EQ(section(msg, s, {2}, What::Mime), crlf("Content-Type: message/rfc822\n\n"));
  EXPECT_EQ(section(msg, s, {2}, What::Header),
            crlf("From: inner@example.org\nSubject: inner\nContent-Type: multipart/alternative; boundary=\"in\"\n\n"));
  EXPECT_EQ(section(msg, s, {2}, What::Text).substr(0, 16), crlf("inner prologue\n"));
  EXPECT_EQ(section(msg, s, {2, 1}, What::Body), crlf("<p>x</p>\n"));
  EXPECT_EQ(section(msg, s, {2, 1}, What::Mime), crlf("Content-Type: text/html\n\n"));
  EXPECT_EQ(section(msg, s, {2, 2}, What::Body), crlf("x\n"));
  EXPECT_EQ(section(msg, s, {2, 3}, What::Body), "<none>");
  EXPECT_EQ(section(msg, s, {3}, What::Body), "<none>");
  EXPECT_EQ(section(msg, s, {1, 1}, What::Body), "<none>");  // a leaf has no parts
  EXPECT_EQ(section(msg, s, {0}, What::Body), "<none>");
}

TEST(MimeSection, SingleParts) {
  // A single-part message has only part 1, which is its body.
  const std::string plain = crlf("Subject: s\n\nhello\n");
  MimeStructure s = parse_mime(plain);
  EXPECT_EQ(section(plain, s, {1}, What::Body), crlf("hello\n"));
  EXPECT_EQ(section(plain, s, {2}, What::Body), "<none>");
  EXPECT_EQ(section(plain, s, {1, 1}, What::Body), "<none>");

  // message/rfc822 inside message/rfc822 at the top: 1, 1.1, 1.1.1 walk down.
  const std::string nested = crlf(
      "From: outer@example.org\nContent-Type: message/rfc822\n\n"
      "From: middle@example.org\nContent-Type: message/rfc822\n\n"
      "From: inner@example.org\nSubject: inner\n\nhello world\n");
  s = parse_mime(nested);
  EXPECT_EQ(section(nested, s, {1}, What::Body).substr(0, 25), "From: middle@example.org\r");
  EXPECT_EQ(section(nested, s, {1}, What::Header), crlf("From: middle@example.org\nContent-Type: message/rfc822\n\n"));
  EXPECT_EQ(section(nested, s, {1, 1}, What::Body), crlf("From: inner@example.org\nSubject: inner\n\nhello world\n"));
  EXPECT_EQ(section(nested, s, {1}, What::Text), section(nested, s, {1, 1}, What::Body));
  EXPECT_EQ(section(nested, s, {1, 1}, What::Header), crlf("From: inner@example.org\nSubject: inner\n\n"));
  EXPECT_EQ(section(nested, s, {1, 1}, What::Text), crlf("hello world\n"));
  EXPECT_EQ(section(nested, s, {1, 1, 1}, What::Body), crlf("hello world\n"));
  EXPECT_EQ(section(nested, s, {1, 1, 1, 1}, What::Body), "<none>");
  EXPECT_EQ(section(nested, s, {1, 2}, What::Body), "<none>");
}
