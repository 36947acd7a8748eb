// tests/unit/proto/pop3/message_writer_test.cpp — RETR/TOP body conversion
// (proto/pop3/message_writer): dot-stuffing, CRLF line ends and TOP's line
// count, checked against a client-side decoder and at every chunking.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/pop3/message_writer.h"

using ringmta::pop3::MessageWriter;

namespace {

std::string convert(std::string_view msg, std::optional<uint64_t> lines, size_t chunk) {
  MessageWriter w(lines);
  std::string out;
  for (size_t i = 0; i < msg.size(); i += chunk)
    if (w.write(msg.substr(i, chunk), out)) break;
  w.finish(out);
  return out;
}

std::string convert_split(std::string_view msg, std::optional<uint64_t> lines, size_t at) {
  MessageWriter w(lines);
  std::string out;
  if (!w.write(msg.substr(0, at), out)) w.write(msg.substr(at), out);
  w.finish(out);
  return out;
}

// What a POP3 client makes of a multi-line response body (RFC 1939 §3).
std::string client_decode(const std::string& wire) {
  EXPECT_GE(wire.size(), 3u);
  EXPECT_EQ(wire.substr(wire.size() - 3), ".\r\n");
  std::string body = wire.substr(0, wire.size() - 3);
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t e = body.find("\r\n", pos);
    EXPECT_NE(e, std::string::npos) << "every line ends in CRLF";
    if (e == std::string::npos) break;
    std::string line = body.substr(pos, e - pos);
    EXPECT_NE(line, ".") << "no early terminator";
    if (!line.empty() && line[0] == '.') {
      EXPECT_GE(line.size(), 2u);
      EXPECT_EQ(line[1], '.') << "a leading dot is always stuffed";
      line.erase(0, 1);
    }
    out += line + "\r\n";
    pos = e + 2;
  }
  return out;
}

// The message as it should arrive: every LF-ended line with CRLF, an
// unterminated last line terminated.
std::string normalize(std::string_view msg) {
  std::string out;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')) out += '\r';
    out += msg[i];
  }
  if (!out.empty() && out.back() != '\n') out += out.back() == '\r' ? "\n" : "\r\n";
  return out;
}

const std::vector<std::string> kMessages = {
    "",
    "Subject: x\r\n\r\nbody\r\n",
    ".\r\n",
    "..\r\n.\r\n...\r\n",
    "Subject: x\r\n\r\n.\r\n.line\r\nend",
    "A: b\nC: d\n\n.x\n\n\n.",
    "A: b\r\n\r\nbare\rCR\r\nends with CR\r",
    "no header end\r\n.still header\r\n",
    "\r\n\r\n.\r\n",
    std::string("NUL\0inside\r\n\r\n\0.\r\n", 21),
};

TEST(MessageWriter, RetrRoundTripsAtEveryChunkSize) {
  for (const auto& m : kMessages) {
    const std::string whole = convert(m, std::nullopt, m.size() + 1);
    EXPECT_EQ(client_decode(whole), normalize(m)) << m;
    for (size_t chunk = 1; chunk <= m.size(); ++chunk)
      ASSERT_EQ(convert(m, std::nullopt, chunk), whole) << "chunk " << chunk << " of " << m;
    for (size_t at = 0; at <= m.size(); ++at)
      ASSERT_EQ(convert_split(m, std::nullopt, at), whole) << "split " << at << " of " << m;
  }
}

TEST(MessageWriter, ExactWireForm) {
  EXPECT_EQ(convert("", std::nullopt, 1), ".\r\n");
  EXPECT_EQ(convert(".\r\n", std::nullopt, 1), "..\r\n.\r\n");
  EXPECT_EQ(convert("a\nb", std::nullopt, 1), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(convert("a\r", std::nullopt, 1), "a\r\n.\r\n");
  EXPECT_EQ(convert("a.b\r\n", std::nullopt, 2), "a.b\r\n.\r\n");
}

TEST(MessageWriter, TopCountsBodyLinesAfterTheBlankLine) {
  const std::string m = "From: a\r\nSubject: s\r\n\r\none\r\n.two\r\nthree\r\n";
  EXPECT_EQ(convert(m, 0, 100), "From: a\r\nSubject: s\r\n\r\n.\r\n");
  EXPECT_EQ(convert(m, 1, 100), "From: a\r\nSubject: s\r\n\r\none\r\n.\r\n");
  EXPECT_EQ(convert(m, 2, 100), "From: a\r\nSubject: s\r\n\r\none\r\n..two\r\n.\r\n");
  EXPECT_EQ(convert(m, 3, 100), convert(m, std::nullopt, 100));
  EXPECT_EQ(convert(m, 1000, 100), convert(m, std::nullopt, 100));
  // Bare LF header end, and the LF of the blank line in the next chunk.
  EXPECT_EQ(convert("A: b\n\nx\ny\n", 1, 100), "A: b\r\n\r\nx\r\n.\r\n");
  EXPECT_EQ(convert_split("A: b\r\n\r\nx\r\ny\r\n", 0, 7), "A: b\r\n\r\n.\r\n");
  // No blank line: everything is header.
  EXPECT_EQ(convert("A: b\r\nC: d\r\n", 0, 100), "A: b\r\nC: d\r\n.\r\n");
  // A line holding a bare CR is content: it does not end the header.
  EXPECT_EQ(convert("A: b\r\n\r\r\nbody\r\n", 0, 100), "A: b\r\n\r\r\nbody\r\n.\r\n");
}

TEST(MessageWriter, TopIsTheSameAtEveryChunking) {
  for (const auto& m : kMessages) {
    for (uint64_t lines : {0u, 1u, 2u, 5u}) {
      const std::string whole = convert(m, lines, m.size() + 1);
      for (size_t chunk = 1; chunk <= m.size(); ++chunk)
        ASSERT_EQ(convert(m, lines, chunk), whole) << "chunk " << chunk << " lines " << lines << " of " << m;
      // TOP's output is a prefix of RETR's (minus the terminator).
      const std::string retr = convert(m, std::nullopt, m.size() + 1);
      EXPECT_EQ(retr.compare(0, whole.size() - 3, whole, 0, whole.size() - 3), 0) << m;
    }
  }
}

TEST(MessageWriter, WriteReportsWhenTopHasEnough) {
  MessageWriter w(1);
  std::string out;
  EXPECT_FALSE(w.write("A: b\r\n\r\n", out));
  EXPECT_TRUE(w.write("one\r\ntwo\r\n", out));
  EXPECT_TRUE(w.done());
  EXPECT_EQ(out, "A: b\r\n\r\none\r\n");
}

}  // namespace
