// tests/unit/proto/proxy/proxy_protocol_test.cpp — PROXY protocol parser.
//
// Golden: each tests/golden/proxy/NAME.in (raw bytes: a header, often followed
// by the first SMTP bytes) is parsed whole and the result, rendered as one
// line, must equal NAME.ref. For every golden input the parse of each proper
// prefix must say NeedMore (valid headers: before `consumed`) or never Ok
// (invalid ones): a header split over many reads parses the same.
// RINGMTA_GOLDEN_UPDATE=1 rewrites the .ref files (review the diff!).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "proto/proxy/proxy_protocol.h"

namespace ringmta::proxy {
namespace {

namespace fs = std::filesystem;

std::string render(const ProxyParse& p) {
  switch (p.status) {
    case ProxyStatus::NeedMore: return "need_more";
    case ProxyStatus::Invalid: return "invalid: " + p.error;
    case ProxyStatus::Ok: break;
  }
  std::ostringstream o;
  o << "ok v" << p.header.version << " consumed=" << p.consumed;
  if (p.header.local) {
    o << " local";
  } else {
    o << (p.header.ipv6 ? " tcp6 " : " tcp4 ") << p.header.source_ip << " port " << p.header.source_port << " -> "
      << p.header.dest_ip << " port " << p.header.dest_port;
  }
  return o.str();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ProxyProtocolGolden, AllCases) {
  const fs::path dir = fs::path(RINGMTA_GOLDEN_DIR) / "proxy";
  const bool update = std::getenv("RINGMTA_GOLDEN_UPDATE") != nullptr;
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".in") continue;
    ++cases;
    const std::string input = read_file(entry.path());
    const ProxyParse whole = parse_proxy_header(input);
    const std::string got = render(whole) + "\n";
    fs::path ref = entry.path();
    ref.replace_extension(".ref");
    if (update) {
      std::ofstream(ref, std::ios::binary) << got;
    } else {
      EXPECT_EQ(got, read_file(ref)) << entry.path();
    }
    const size_t limit = whole.status == ProxyStatus::Ok ? whole.consumed : input.size();
    for (size_t n = 0; n < limit; ++n) {
      const ProxyParse part = parse_proxy_header(std::string_view(input).substr(0, n));
      if (whole.status == ProxyStatus::Ok) {
        ASSERT_EQ(part.status, ProxyStatus::NeedMore) << entry.path() << " prefix " << n;
      } else {
        ASSERT_NE(part.status, ProxyStatus::Ok) << entry.path() << " prefix " << n;
      }
    }
    // Bytes after a complete header never change the header.
    if (whole.status == ProxyStatus::Ok) {
      const ProxyParse more = parse_proxy_header(input + "QUIT\r\n");
      EXPECT_EQ(render(more), render(whole)) << entry.path();
    }
  }
  EXPECT_GE(cases, 30);
}

TEST(ProxyProtocol, EmptyInputNeedsMore) {
  EXPECT_EQ(parse_proxy_header("").status, ProxyStatus::NeedMore);
  EXPECT_EQ(parse_proxy_header("P").status, ProxyStatus::NeedMore);
  EXPECT_EQ(parse_proxy_header("\r\n").status, ProxyStatus::NeedMore);
}

TEST(ProxyProtocol, FirstWrongByteIsInvalidAtOnce) {
  // A client that speaks first (or a TLS ClientHello) is refused without
  // waiting for more bytes.
  EXPECT_EQ(parse_proxy_header("E").status, ProxyStatus::Invalid);
  EXPECT_EQ(parse_proxy_header("PROXX").status, ProxyStatus::Invalid);
  EXPECT_EQ(parse_proxy_header("\r\n\r\nX").status, ProxyStatus::Invalid);
}

TEST(ProxyProtocol, V1WithoutCrlfWithin107BytesIsInvalid) {
  std::string s = "PROXY TCP4 " + std::string(200, '1');
  for (size_t n = 100; n <= s.size(); ++n) {
    const auto p = parse_proxy_header(std::string_view(s).substr(0, n));
    if (n < kProxyV1MaxLength) {
      EXPECT_EQ(p.status, ProxyStatus::NeedMore) << n;
    } else {
      EXPECT_EQ(p.status, ProxyStatus::Invalid) << n;
    }
  }
}

TEST(ProxyProtocol, V2WaitsForTheWholeAddressBlock) {
  ProxyHeader h;
  h.source_ip = "192.0.2.1";
  h.dest_ip = "192.0.2.2";
  h.source_port = 1;
  h.dest_port = 2;
  const std::string bytes = encode_proxy_v2(h);
  ASSERT_EQ(bytes.size(), 28u);
  EXPECT_EQ(parse_proxy_header(bytes.substr(0, 27)).status, ProxyStatus::NeedMore);
  EXPECT_EQ(parse_proxy_header(bytes).status, ProxyStatus::Ok);
}

TEST(ProxyProtocol, RoundTrips) {
  const ProxyHeader samples[] = {
      {1, false, false, "192.0.2.1", "198.51.100.25", 65535, 25},
      {1, false, true, "2001:db8::7", "::1", 1, 587},
      {1, false, false, "0.0.0.0", "255.255.255.255", 0, 0},
      {1, true, false, "", "", 0, 0},
  };
  for (const ProxyHeader& h : samples) {
    for (int version : {1, 2}) {
      const std::string bytes = version == 1 ? encode_proxy_v1(h) : encode_proxy_v2(h);
      const ProxyParse p = parse_proxy_header(bytes + "EHLO x\r\n");
      ASSERT_EQ(p.status, ProxyStatus::Ok) << version << " " << p.error;
      EXPECT_EQ(p.consumed, bytes.size());
      EXPECT_EQ(p.header.version, version);
      EXPECT_EQ(p.header.local, h.local);
      if (h.local) continue;
      EXPECT_EQ(p.header.ipv6, h.ipv6);
      EXPECT_EQ(p.header.source_ip, h.source_ip);
      EXPECT_EQ(p.header.dest_ip, h.dest_ip);
      EXPECT_EQ(p.header.source_port, h.source_port);
      EXPECT_EQ(p.header.dest_port, h.dest_port);
    }
  }
}

}  // namespace
}  // namespace ringmta::proxy
