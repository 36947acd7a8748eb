// tests/unit/proto/data_decoder_test.cpp — DataDecoder against a simple
// reference (whole-buffer unstuffing), at random split points.
#include <gtest/gtest.h>

#include <random>

#include "relay/proto/data_decoder.h"

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
