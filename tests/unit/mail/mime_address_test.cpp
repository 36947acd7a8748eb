// tests/unit/mail/mime_address_test.cpp — parse_address_list() (ENVELOPE
// address structures, RFC 3501 §7.4.2 over RFC 5322 §3.4 syntax) and
// parse_content_value() on their own.
#include <gtest/gtest.h>

#include <string>

#include "mail/mime.h"

using namespace ringmta::mail;

namespace {

// "kind|name|route|mailbox|host" per element, ";"-joined: easy to read in a failure.
std::string show(std::string_view value) {
  std::string out;
  for (const EnvelopeAddress& a : parse_address_list(value)) {
    if (!out.empty()) out += " ; ";
    switch (a.kind) {
      case EnvelopeAddress::Kind::GroupStart: out += "G(" + a.mailbox + ")"; break;
      case EnvelopeAddress::Kind::GroupEnd: out += "G-end"; break;
      case EnvelopeAddress::Kind::Mailbox: out += a.name + "|" + a.route + "|" + a.mailbox + "|" + a.host; break;
    }
  }
  return out;
}

}  // namespace

TEST(MimeAddress, Common) {
  EXPECT_EQ(show("alice@example.com"), "||alice|example.com");
  EXPECT_EQ(show("Alice Smith <alice@example.com>"), "Alice Smith||alice|example.com");
  EXPECT_EQ(show("\"Smith, Alice\" <alice@example.com>, bob@example.org"),
            "Smith, Alice||alice|example.com ; ||bob|example.org");
  EXPECT_EQ(show("\"A \\\"quoted\\\" name\" <a@b>"), "A \"quoted\" name||a|b");
  EXPECT_EQ(show("John Q. Public <jqp@example.com>"), "John Q. Public||jqp|example.com");
  EXPECT_EQ(show("<bare@example.com>"), "||bare|example.com");
  EXPECT_EQ(show("first.last@sub.example.com"), "||first.last|sub.example.com");
  EXPECT_EQ(show("\"odd local\"@example.com"), "||\"odd local\"|example.com");
  EXPECT_EQ(show("user@[192.0.2.1]"), "||user|[192.0.2.1]");
}

TEST(MimeAddress, CommentsRoutesAndEncodedWords) {
  EXPECT_EQ(show("bob@example.com (Bob Smith)"), "Bob Smith||bob|example.com");
  EXPECT_EQ(show("Bob (the (nested) one) <bob@example.com> (trailing)"), "Bob||bob|example.com");
  EXPECT_EQ(show("<@relay1.example,@relay2.example:joe@example.com>"),
            "|@relay1.example,@relay2.example|joe|example.com");
  EXPECT_EQ(show("=?utf-8?q?J=C3=B6rg?= <jorg@example.de>"), "=?utf-8?q?J=C3=B6rg?=||jorg|example.de");
  EXPECT_EQ(show("J\xC3\xB6rg <j\xC3\xB6rg@b\xC3\xBC\x63her.example>"),
            "J\xC3\xB6rg||j\xC3\xB6rg|b\xC3\xBC\x63her.example");
}

TEST(MimeAddress, Groups) {
  EXPECT_EQ(show("undisclosed-recipients:;"), "G(undisclosed-recipients) ; G-end");
  EXPECT_EQ(show("Team: a@x.example, B <b@x.example>; c@y.example"),
            "G(Team) ; ||a|x.example ; B||b|x.example ; G-end ; ||c|y.example");
  EXPECT_EQ(show("Open group: a@x.example"), "G(Open group) ; ||a|x.example ; G-end");  // closed at the end
  EXPECT_EQ(show(": a@b;"), "G() ; ||a|b ; G-end");
}

TEST(MimeAddress, Junk) {
  EXPECT_EQ(show(""), "");
  EXPECT_EQ(show(" , ,, "), "");
  EXPECT_EQ(show("<>"), "");
  EXPECT_EQ(show("(only a comment)"), "");
  EXPECT_EQ(show("postmaster"), "||postmaster|");  // no domain: host ""
  EXPECT_EQ(show("Bob Smith bob@example.com"), "Bob Smith||bob|example.com");
  EXPECT_EQ(show("Bob <bob@example.com"), "Bob||bob|example.com");  // unclosed '<'
  EXPECT_EQ(show("a@b@c"), "||a|b");
  EXPECT_EQ(show("\"unclosed <x@y>"), "||unclosed <x@y>|");
  EXPECT_EQ(show("a@b; c@d"), "||a|b ; ||c|d");  // ';' outside a group only separates
  EXPECT_EQ(show("@@@"), "");
  EXPECT_EQ(show("G: a@b: c@d;"), "G(G) ; ||a|b ; ||c|d ; G-end");  // a nested ':' is junk
}

TEST(MimeContentValue, Syntax) {
  std::string type, subtype;
  std::vector<MimeParam> params;
  EXPECT_TRUE(parse_content_value(" (c) TEXT (c) / (c) Plain (c) ; a=1", true, type, subtype, params));
  EXPECT_EQ(type, "text");
  EXPECT_EQ(subtype, "plain");
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].value, "1");

  EXPECT_TRUE(parse_content_value("inline; FileName=\"x;y.txt\"; ; =v; n=", false, type, subtype, params));
  EXPECT_EQ(type, "inline");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "filename");
  EXPECT_EQ(params[0].value, "x;y.txt");  // a ';' inside quotes does not split
  EXPECT_EQ(params[1].name, "n");
  EXPECT_EQ(params[1].value, "");

  EXPECT_TRUE(parse_content_value("a/b; name=two words here ; x=\"unclosed", true, type, subtype, params));
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].value, "two words here");
  EXPECT_EQ(params[1].value, "unclosed");

  EXPECT_FALSE(parse_content_value("; a=b", false, type, subtype, params));
  ASSERT_EQ(params.size(), 1u);  // parameters are still read
}

TEST(MimeAddress, ElementLimit) {
  std::string many;
  for (int i = 0; i < 30; ++i) many += "u" + std::to_string(i) + "@x, ";
  EXPECT_EQ(parse_address_list(many).size(), 30u);
  EXPECT_EQ(parse_address_list(many, 7).size(), 7u);
  // An open group is still closed, so the writer never sees half a group.
  std::vector<EnvelopeAddress> g = parse_address_list("G: " + many + ";", 5);
  ASSERT_EQ(g.size(), 6u);
  EXPECT_EQ(g.front().kind, EnvelopeAddress::Kind::GroupStart);
  EXPECT_EQ(g.back().kind, EnvelopeAddress::Kind::GroupEnd);
  // The default bound applies to a parsed envelope too; the raw value keeps everything.
  std::string to = "To: ";
  for (int i = 0; i < 10500; ++i) to += "a@b,";
  MimeStructure s = parse_mime(to + "\r\n\r\n");
  EXPECT_EQ(s.parts[0].envelope->to.list.size(), kMaxEnvelopeAddresses);
  EXPECT_EQ(s.parts[0].envelope->to.raw->size(), to.size() - 4);
}

TEST(MimeAddress, EscapesInQuotesAndComments) {
  EXPECT_EQ(show("\"back\\\\slash\" <a@b>"), "back\\slash||a|b");
  EXPECT_EQ(show("\"ends in escaped quote\\\"\" <a@b>"), "ends in escaped quote\"||a|b");
  EXPECT_EQ(show("a@b (x \\) y (n) z)"), "x ) y (n) z||a|b");
  EXPECT_EQ(show("a@b (unclosed"), "unclosed||a|b");
  EXPECT_EQ(show("\"trailing backslash\\"), "||trailing backslash|");
}
