// tests/unit/proto/smtp/data_decoder_test.cpp — DataDecoder against a simple
// reference (whole-buffer unstuffing), at random split points.
#include <gtest/gtest.h>

#include <random>

#include "proto/smtp/data_decoder.h"

using ringmta::smtp::DataDecoder;

namespace {

struct Decoded {
  std::string body;
  size_t consumed = 0;
  bool done = false, bare = false, nul = false, oversize = false;
};

Decoded decode(std::string_view in, const std::vector<size_t>& cuts, uint64_t max = 1 << 20) {
  DataDecoder d;
  d.reset(max);
  Decoded r;
  size_t prev = 0;
  std::vector<size_t> all = cuts;
  all.push_back(in.size());
  for (size_t c : all) {
    auto res = d.feed(in.substr(prev, c - prev), r.body);
    r.consumed += res.consumed;
    if (res.done) {
      r.done = true;
      break;
    }
    EXPECT_EQ(res.consumed, c - prev);
    prev = c;
  }
  r.bare = d.bare_newline();
  r.nul = d.has_nul();
  r.oversize = d.oversize();
  return r;
}

// Reference: split into CRLF lines up to the first ".\r\n" line.
std::string reference(std::string_view in) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t e = in.find("\r\n", pos);
    if (e == std::string_view::npos) return out + "<unterminated>";
    std::string_view line = in.substr(pos, e - pos);
    pos = e + 2;
    if (line == ".") return out;
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);
    out.append(line);
    out += "\r\n";
  }
}

TEST(DataDecoder, EmptyMessage) {
  Decoded d = decode(".\r\nNEXT", {});
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.consumed, 3u);
  EXPECT_EQ(d.body, "");
}

TEST(DataDecoder, StuffingAndFlags) {
  Decoded d = decode("..\r\n...x\r\nab\n.\ncd\r\n.\r\n", {});
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.body, ".\r\n..x\r\nab\n.\ncd\r\n");
  EXPECT_TRUE(d.bare);
  EXPECT_FALSE(d.nul);
  d = decode("a\rb\r\n.\r\n", {});
  EXPECT_TRUE(d.bare);
  using namespace std::string_literals;
  d = decode("a\0b\r\n.\r\n"s, {});
  EXPECT_TRUE(d.nul);
  EXPECT_FALSE(d.bare);
  EXPECT_EQ(d.body, "a\0b\r\n"s);
}

TEST(DataDecoder, OnlyCrLfDotCrLfEnds) {
  for (std::string_view s : {"a\n.\n", "a\r\n.\n", "a\n.\r\n", "a\r.\r\n", "a\r\n. \r\n"}) {
    Decoded d = decode(s, {});
    EXPECT_FALSE(d.done) << s;
    EXPECT_EQ(d.consumed, s.size());
  }
}

TEST(DataDecoder, OversizeKeepsConsuming) {
  std::string in = std::string(100, 'x') + "\r\n.\r\n";
  Decoded d = decode(in, {50}, 10);
  EXPECT_TRUE(d.done);
  EXPECT_TRUE(d.oversize);
  EXPECT_EQ(d.consumed, in.size());
  EXPECT_TRUE(d.body.empty());
  d = decode("12345678\r\n.\r\n", {}, 10);  // exactly 10 bytes: fits
  EXPECT_FALSE(d.oversize);
  EXPECT_EQ(d.body, "12345678\r\n");
}

// Random bodies over a small alphabet full of '.', CR and LF, cut at random
// points: the decoder must agree with the whole-buffer reference.
TEST(DataDecoder, RandomSplitsMatchReference) {
  std::mt19937 rng(12345);
  const char alphabet[] = {'.', '.', '\r', '\n', 'a', 'b'};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string in;
    const size_t len = rng() % 40;
    for (size_t i = 0; i < len; ++i) in.push_back(alphabet[rng() % sizeof alphabet]);
    in += "\r\n.\r\n";
    Decoded whole = decode(in, {});
    ASSERT_TRUE(whole.done);
    if (!whole.bare) {
      EXPECT_EQ(whole.body, reference(in.substr(0, whole.consumed)));
    }
    std::vector<size_t> cuts;
    size_t c = 0;
    while (true) {
      c += 1 + rng() % 4;
      if (c >= in.size()) break;
      cuts.push_back(c);
    }
    Decoded split = decode(in, cuts);
    ASSERT_TRUE(split.done);
    EXPECT_EQ(split.body, whole.body);
    EXPECT_EQ(split.consumed, whole.consumed);
    EXPECT_EQ(split.bare, whole.bare);
  }
}

}  // namespace

// LineEndCheck (BDAT bodies) against a whole-buffer reference, with the body
// cut into chunks at random points: a chunk boundary between CR and LF is
// still a CRLF; a CR ending the whole body is bare.
namespace {

struct Flags {
  bool bare = false, nul = false;
  bool operator==(const Flags& o) const { return bare == o.bare && nul == o.nul; }
};

Flags reference_flags(std::string_view b) {
  Flags f;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == '\0') f.nul = true;
    if (b[i] == '\r' && (i + 1 == b.size() || b[i + 1] != '\n')) f.bare = true;
    if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r')) f.bare = true;
  }
  return f;
}

Flags checked_flags(std::string_view b, const std::vector<size_t>& cuts) {
  ringmta::smtp::LineEndCheck c;
  c.reset();
  size_t prev = 0;
  for (size_t cut : cuts) {
    c.feed(b.substr(prev, cut - prev));
    prev = cut;
  }
  c.feed(b.substr(prev));
  c.finish();
  return {c.bare_newline(), c.has_nul()};
}

}  // namespace

TEST(LineEndCheck, SmugglingEndingsAndChunkBoundaries) {
  for (std::string_view ending : {std::string_view("\n.\n"), std::string_view("\n.\r\n"),
                                  std::string_view("\r.\r\n"), std::string_view("\r\n.\r")}) {
    std::string body = "a" + std::string(ending) + "b\r\n";
    EXPECT_TRUE(checked_flags(body, {}).bare) << body;
  }
  EXPECT_TRUE(checked_flags(std::string_view("a\r\n\0.\r\n", 7), {}).nul);
  EXPECT_FALSE(checked_flags(std::string_view("a\r\n\0.\r\n", 7), {}).bare);
  EXPECT_FALSE(checked_flags("x\r\ny\r\n", {2}).bare);  // "x\r" | "\ny\r\n"
  EXPECT_TRUE(checked_flags("x\r\ny\r", {3}).bare);     // ends in CR
  EXPECT_TRUE(checked_flags("x\ry\r\n", {2}).bare);     // "x\r" | "y..."
  EXPECT_FALSE(checked_flags("", {}).bare);
  EXPECT_FALSE(checked_flags("no line end", {}).bare);
}

TEST(LineEndCheck, RandomChunksMatchReference) {
  std::mt19937 rng(15);
  static const char* atoms[] = {"a", "\r\n", "\n", "\r", ".", "\r\n.\r\n", "xyz", "\r\r\n"};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string body;
    for (int k = rng() % 12; k > 0; --k) body += atoms[rng() % 8];
    if (rng() % 10 == 0) body.insert(body.size() / 2, 1, '\0');
    std::vector<size_t> cuts;
    for (size_t i = 1; i < body.size(); ++i)
      if (rng() % 3 == 0) cuts.push_back(i);
    ASSERT_TRUE(checked_flags(body, cuts) == reference_flags(body)) << testing::PrintToString(body);
  }
}
