// tests/unit/compress/deflate_test.cpp — compress/deflate.h: round trips with
// history kept across calls, every deflate() output decodable at once by an
// independent raw inflater (Z_SYNC_FLUSH), interoperation with Python's zlib
// (another program's streams, both directions), input split at every byte,
// the per-call output bound, the compression-bomb error, corrupt streams and
// data after the end.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "compress/deflate.h"

using ringmta::compress::DeflateOptions;
using ringmta::compress::DeflateStream;
using ringmta::compress::InflateLimits;
namespace fs = std::filesystem;

namespace {

// An IMAP-like response text, `n` lines.
std::string sample(int n, int seed = 0) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += "* " + std::to_string(i + seed) + " FETCH (UID " + std::to_string(1000 + i * 7 + seed) +
         " FLAGS (\\Seen) RFC822.SIZE " + std::to_string((i * 7919 + seed) % 100000) + ")\r\n";
  return s;
}

// A raw inflater that is not the code under test (plain zlib, own state).
class RawInflater {
 public:
  RawInflater() { EXPECT_EQ(inflateInit2(&z_, -15), Z_OK); }
  ~RawInflater() { inflateEnd(&z_); }
  std::string feed(std::string_view in) {
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    char buf[4096];
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      int rc = ::inflate(&z_, Z_SYNC_FLUSH);
      out.append(buf, sizeof buf - z_.avail_out);
      EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR || rc == Z_STREAM_END) << rc;
      if (z_.avail_out != 0 || rc != Z_OK) break;
    }
    return out;
  }

 private:
  z_stream z_{};
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("ringmta_deflate_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// Inflates everything `s` can give for `in`, calling again while pending().
bool inflate_all(DeflateStream& s, std::string_view in, std::string& out, size_t max_calls = 100000) {
  if (!s.inflate(in, out)) return false;
  for (size_t i = 0; i < max_calls && s.pending(); ++i)
    if (!s.inflate({}, out)) return false;
  return !s.pending();
}

}  // namespace

TEST(Deflate, RoundTripKeepsHistoryAndFlushesEachCall) {
  DeflateStream server, client;
  RawInflater independent;
  std::string all_plain, all_inflated;
  size_t first_size = 0, repeat_size = 0;
  for (int round = 0; round < 20; ++round) {
    std::string msg = sample(50, round % 2);  // rounds repeat: the history makes them cheap
    std::string wire;
    ASSERT_TRUE(server.deflate(msg, wire));
    // Z_SYNC_FLUSH: the block ends with the empty stored block 00 00 ff ff,
    // and an independent inflater gets the whole message from this output alone.
    ASSERT_GE(wire.size(), 4u);
    EXPECT_EQ(wire.substr(wire.size() - 4), std::string("\0\0\xff\xff", 4));
    EXPECT_EQ(independent.feed(wire), msg) << "round " << round;
    std::string got;
    ASSERT_TRUE(inflate_all(client, wire, got));
    EXPECT_EQ(got, msg);
    if (round == 0) first_size = wire.size();
    if (round == 2) repeat_size = wire.size();
  }
  EXPECT_LT(repeat_size * 4, first_size);  // the same text again costs a few bytes
  EXPECT_EQ(server.deflated_in(), client.inflated_out());
  EXPECT_EQ(server.deflated_out(), client.inflated_in());
  // Every call flushed, so an empty call has nothing to add.
  std::string wire, got;
  ASSERT_TRUE(server.deflate({}, wire));
  EXPECT_EQ(wire, "");
  ASSERT_TRUE(server.deflate("x", wire));
  ASSERT_TRUE(client.inflate(wire, got));
  EXPECT_EQ(got, "x");
}

TEST(Deflate, SmallWindowAndLevelsStillRoundTrip) {
  for (DeflateOptions o : {DeflateOptions{1, 9, 1}, DeflateOptions{9, 12, 5}, DeflateOptions{0, 15, 9},
                           DeflateOptions{42, 3, 77}}) {  // out of range: clamped
    DeflateStream server(InflateLimits{}, o), client;
    std::string msg = sample(2000), wire, got;
    ASSERT_TRUE(server.deflate(msg, wire));
    ASSERT_TRUE(inflate_all(client, wire, got));
    EXPECT_EQ(got, msg);
  }
}

TEST(Deflate, InputSplitAtEveryByte) {
  DeflateStream server;
  std::string msg = sample(40) + std::string(3000, 'z') + sample(5, 9), wire;
  ASSERT_TRUE(server.deflate(msg, wire));
  DeflateStream client;
  std::string got;
  for (char c : wire) ASSERT_TRUE(inflate_all(client, std::string_view(&c, 1), got));
  EXPECT_EQ(got, msg);
}

TEST(Deflate, InteroperatesWithPythonZlib) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  const fs::path dir = temp_dir();
  const std::string msg = sample(300) + std::string("\0\x01\xff binary\r\n", 11);
  std::ofstream(dir / "plain", std::ios::binary) << msg;
  // Python compresses (raw deflate, two sync-flushed halves, like an IMAP
  // client) and decompresses what we wrote.
  std::string wire;
  DeflateStream server;
  ASSERT_TRUE(server.deflate(msg.substr(0, 5000), wire));
  ASSERT_TRUE(server.deflate(msg.substr(5000), wire));
  std::ofstream(dir / "ours", std::ios::binary) << wire;
  const std::string script =
      "import sys, zlib\n"
      "d = sys.argv[1]\n"
      "plain = open(d + '/plain', 'rb').read()\n"
      "c = zlib.compressobj(9, zlib.DEFLATED, -15)\n"
      "h = len(plain) // 2\n"
      "out = c.compress(plain[:h]) + c.flush(zlib.Z_SYNC_FLUSH) + c.compress(plain[h:]) + c.flush(zlib.Z_SYNC_FLUSH)\n"
      "open(d + '/theirs', 'wb').write(out)\n"
      "dec = zlib.decompressobj(-15)\n"
      "open(d + '/decoded', 'wb').write(dec.decompress(open(d + '/ours', 'rb').read()))\n";
  std::ofstream(dir / "run.py") << script;
  const std::string cmd = "/usr/bin/python3 '" + (dir / "run.py").string() + "' '" + dir.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(read_file(dir / "decoded"), msg);
  DeflateStream client;
  std::string got;
  ASSERT_TRUE(inflate_all(client, read_file(dir / "theirs"), got));
  EXPECT_EQ(got, msg);
  fs::remove_all(dir);
}

TEST(Deflate, OutputPerCallIsBounded) {
  // 8 MiB of text compresses to a few KiB; with no bomb check it all comes
  // out, but never more than max_output_per_call per call.
  std::string msg;
  for (int i = 0; msg.size() < 8u << 20; ++i) msg += sample(1, i % 50);
  DeflateStream server;
  std::string wire;
  ASSERT_TRUE(server.deflate(msg, wire));
  DeflateStream client(InflateLimits{.max_output_per_call = 100000, .max_ratio = 0, .ratio_grace = 0});
  std::string got;
  ASSERT_TRUE(client.inflate(wire, got));
  size_t calls = 1;
  EXPECT_LE(got.size(), 100000u);
  while (client.pending() && calls < 1000) {
    size_t before = got.size();
    ASSERT_TRUE(client.inflate({}, got));
    EXPECT_LE(got.size() - before, 100000u);
    ++calls;
  }
  EXPECT_FALSE(client.pending());
  EXPECT_EQ(got, msg);
  EXPECT_GE(calls, msg.size() / 100000);
}

TEST(Deflate, CompressionBombIsAnError) {
  // 64 MiB of zeros compress to ~64 KiB (deflate tops out near 1000:1).
  std::string wire;
  {
    DeflateStream bomber;
    const std::string zeros(16u << 20, '\0');
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(bomber.deflate(zeros, wire));
  }
  ASSERT_LT(wire.size(), 1u << 20);
  DeflateStream client;  // defaults: 256 KiB per call, 250:1 after 4 MiB
  std::string out;
  bool ok = client.inflate(wire, out);
  size_t calls = 1;
  while (ok && client.pending() && calls < 100000) {
    out.clear();  // the host consumes what it got
    ok = client.inflate({}, out);
    ++calls;
  }
  EXPECT_FALSE(ok);
  EXPECT_NE(client.error().find("compression bomb"), std::string::npos) << client.error();
  EXPECT_LT(client.inflated_out(), 8u << 20);  // stopped soon after the grace
  // Failed streams stay failed; the other direction still works (for BYE).
  EXPECT_FALSE(client.inflate("x", out));
  std::string bye;
  ASSERT_TRUE(client.deflate("* BYE compression bomb\r\n", bye));
  RawInflater independent;
  EXPECT_EQ(independent.feed(bye), "* BYE compression bomb\r\n");
}

TEST(Deflate, CorruptStreamAndTrailingData) {
  DeflateStream client;
  std::string out;
  EXPECT_FALSE(client.inflate(std::string("\xff\xff\xff\xff garbage", 12), out));
  EXPECT_NE(client.error().find("corrupt"), std::string::npos);

  // A stream that ends (BFINAL) followed by more bytes.
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string in = "hello", buf(256, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(buf.data());
  z.avail_out = static_cast<uInt>(buf.size());
  ASSERT_EQ(::deflate(&z, Z_FINISH), Z_STREAM_END);
  buf.resize(buf.size() - z.avail_out);
  deflateEnd(&z);
  DeflateStream c2;
  out.clear();
  EXPECT_TRUE(c2.inflate(buf, out));
  EXPECT_EQ(out, "hello");
  EXPECT_FALSE(c2.inflate("more", out));
  DeflateStream c3;
  out.clear();
  EXPECT_FALSE(c3.inflate(buf + "x", out));
  EXPECT_NE(c3.error().find("after the end"), std::string::npos);
}
