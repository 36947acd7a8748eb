// tests/fuzz/proxy_protocol_fuzz.cpp — libFuzzer target for the PROXY
// protocol parser (proto/proxy/proxy_protocol). Invariants checked on every
// input: no crash or sanitizer report; an Ok parse consumes at most the input
// and at most the spec's size; its header re-encodes (v1 and v2) to bytes
// that parse back to the same addresses; a prefix shorter than `consumed`
// never parses Ok (split reads give the same answer).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/proxy/proxy_protocol.h"

using namespace ringmta::proxy;

static void check(bool ok) {
  if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const ProxyParse p = parse_proxy_header(in);
  if (p.status == ProxyStatus::Invalid) check(!p.error.empty());
  if (p.status != ProxyStatus::Ok) return 0;
  check(p.consumed > 0 && p.consumed <= size);
  check(p.consumed <= (p.header.version == 1 ? kProxyV1MaxLength : kProxyV2MaxLength));
  if (p.consumed > 1) check(parse_proxy_header(in.substr(0, p.consumed - 1)).status == ProxyStatus::NeedMore);
  for (const std::string& again : {encode_proxy_v1(p.header), encode_proxy_v2(p.header)}) {
    const ProxyParse q = parse_proxy_header(again);
    check(q.status == ProxyStatus::Ok && q.consumed == again.size() && q.header.local == p.header.local);
    if (!p.header.local)
      check(q.header.source_ip == p.header.source_ip && q.header.dest_ip == p.header.dest_ip &&
            q.header.source_port == p.header.source_port && q.header.dest_port == p.header.dest_port);
  }
  return 0;
}
