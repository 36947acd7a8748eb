// tests/unit/mail/mime_codec_test.cpp — encode_structure()/decode_structure():
// exact round trips, and a decoder that refuses every truncation, trailing
// bytes, a wrong version and hand-made trees that break the invariants
// (cycles, shared children, spans outside the message).
#include <gtest/gtest.h>

#include <string>

#include "mail/mime.h"
#include "tests/unit/mail/mime_check.h"

using namespace ringmta::mail;

namespace {

const std::string kMessage =
    "From: \"A, B\" <a@example.com>\r\nTo: team: x@y, z@w;\r\nSubject: s\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Language: en\r\n\r\nhi\r\n"
    "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: c@d\r\n\r\ninner body\r\n"
    "--b\r\nContent-Type: image/png; name=p.png\r\nContent-Disposition: attachment; filename=p.png\r\n"
    "Content-Transfer-Encoding: base64\r\nContent-ID: <i@d>\r\n\r\niVBORw0KGgo=\r\n--b--\r\n";

}  // namespace

TEST(MimeCodec, RoundTripIsExact) {
  const MimeStructure s = parse_mime(kMessage);
  ASSERT_EQ(s.parts.size(), 5u);
  const std::string blob = encode_structure(s);
  EXPECT_EQ(static_cast<uint8_t>(blob[0]), kMimeBlobVersion);
  const std::optional<MimeStructure> d = decode_structure(blob);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, s);
  EXPECT_EQ(encode_structure(*d), blob);
  EXPECT_EQ(dump_structure(*d), dump_structure(s));
}

TEST(MimeCodec, RejectsTruncationTrailingBytesAndVersion) {
  const std::string blob = encode_structure(parse_mime(kMessage));
  for (size_t n = 0; n < blob.size(); ++n) EXPECT_FALSE(decode_structure(blob.substr(0, n))) << n;
  EXPECT_FALSE(decode_structure(blob + '\0'));
  std::string v = blob;
  v[0] = static_cast<char>(kMimeBlobVersion + 1);
  EXPECT_FALSE(decode_structure(v));
}

TEST(MimeCodec, CorruptBytesNeverYieldABrokenTree) {
  // Every single-byte change either is refused or still decodes to a tree
  // that keeps the structural invariants (checked against a message of the
  // decoded size; contents do not matter for spans).
  const std::string blob = encode_structure(parse_mime(kMessage));
  size_t accepted = 0;
  for (size_t i = 1; i < blob.size(); ++i) {
    for (int delta : {1, 0x40, 0x80, 0xff}) {
      std::string b = blob;
      b[i] = static_cast<char>(static_cast<uint8_t>(b[i]) + delta);
      const std::optional<MimeStructure> d = decode_structure(b);
      if (!d) continue;
      ++accepted;
      EXPECT_LE(d->message_size, kMessage.size() * 1000);
      for (const MimePart& p : d->parts) {
        EXPECT_LE(p.body.offset + p.body.length, d->message_size);
        for (uint32_t c : p.children) EXPECT_LT(c, d->parts.size());
      }
    }
  }
  EXPECT_GT(accepted, 0u);  // string contents may change freely: the test does exercise decoding
}

TEST(MimeCodec, RejectsBadTrees) {
  const MimeStructure good = parse_mime(kMessage);
  ASSERT_TRUE(decode_structure(encode_structure(good)));
  auto rejected = [](const MimeStructure& s) { return !decode_structure(encode_structure(s)); };

  MimeStructure s = good;
  s.parts[1].children.push_back(1);  // self-loop (and a text part with children)
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[0].children.push_back(s.parts[0].children[0]);  // a child shared twice
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[2].children = {0};  // a child before its parent
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[2].children = {77};  // out of range
  EXPECT_TRUE(rejected(s));
  s = good;
  s.message_size -= 1;  // spans beyond the message
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[1].body.length += 1000;  // outside its parent
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[1].header.offset = 0;  // starts before its parent's body
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[1].flags = 0x80;
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[1].envelope = Envelope{};  // an envelope on a MIME part
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[0].envelope.reset();
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[0].children.clear();  // a multipart without children
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[1].lines = s.parts[1].body.length + 1;  // more lines than bytes
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts.clear();
  EXPECT_TRUE(rejected(s));
  s = good;
  s.parts[0].body.length = UINT64_MAX;  // overflow in offset + length
  EXPECT_TRUE(rejected(s));
}

TEST(MimeCodec, RejectsHugeCounts) {
  // A count far larger than the bytes that follow is refused before any allocation.
  std::string b(1, static_cast<char>(kMimeBlobVersion));
  b += '\x10';                                      // message_size 16
  b += "\xff\xff\xff\xff\xff\xff\xff\xff\x7f";      // part count ~2^63
  EXPECT_FALSE(decode_structure(b));
  b = std::string(1, static_cast<char>(kMimeBlobVersion)) + std::string(11, '\xff');  // varint too long
  EXPECT_FALSE(decode_structure(b));
}
