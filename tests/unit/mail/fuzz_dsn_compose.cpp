// tests/unit/mail/fuzz_dsn_compose.cpp — libFuzzer harness (target
// fuzz_dsn_compose, see tests/fuzz/dsn.cmake). Arbitrary original messages,
// remote replies, addresses and ENVIDs must still give a structurally valid
// DSN: CRLF only, no line over 998 octets, the boundary delimiter only where
// we put it, and 8-bit content only when the result says so.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/text.h"
#include "mail/dsn.h"
#include "mail/headers.h"

using namespace ringmta::mail;

// Report the failed invariant, then abort so libFuzzer keeps the input.
#define CHECK(c)                                                       \
  do {                                                                 \
    if (!(c)) {                                                        \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__); \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

using ringmta::base::is_ascii;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  DsnRequest rq;
  rq.reporting_mta = "relay.example.net";
  rq.message_id = "<fuzz@relay.example.net>";
  rq.date = "Sun, 22 Nov 2026 22:00:00 +0000";
  uint8_t flags = fdp.ConsumeIntegral<uint8_t>();
  rq.ret = static_cast<DsnRet>(flags % 3);
  rq.smtputf8 = flags & 4;
  rq.boundary = (flags & 8) ? fdp.ConsumeRandomLengthString(70) : "B";
  rq.max_full_message = fdp.ConsumeIntegralInRange<size_t>(0, 4096);
  rq.max_header_block = fdp.ConsumeIntegralInRange<size_t>(0, 4096);
  rq.sender = fdp.ConsumeRandomLengthString(100);
  rq.envid = fdp.ConsumeRandomLengthString(100);
  rq.delay_text = fdp.ConsumeRandomLengthString(40);
  int n = fdp.ConsumeIntegralInRange<int>(1, 3);
  for (int i = 0; i < n; ++i) {
    DsnRecipient r;
    r.action = static_cast<DsnAction>(fdp.ConsumeIntegralInRange<int>(0, 4));
    r.final_recipient = fdp.ConsumeRandomLengthString(100);
    r.original_recipient = fdp.ConsumeRandomLengthString(100);
    r.status = fdp.ConsumeRandomLengthString(12);
    r.remote_mta = fdp.ConsumeRandomLengthString(60);
    r.diagnostic = fdp.ConsumeRandomLengthString(3000);
    r.will_retry_until = fdp.ConsumeRandomLengthString(40);
    rq.recipients.push_back(r);
  }
  std::string original = fdp.ConsumeRemainingBytesAsString();
  rq.original_message = original;

  DsnResult res = compose_dsn(rq);
  if (!res.ok) return 0;
  const std::string& m = res.message;
  size_t col = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r') {
      CHECK(i + 1 < m.size() && m[i + 1] == '\n');
      ++i;
      col = 0;
    } else {
      CHECK(m[i] != '\n');
      CHECK(++col <= 998);
    }
  }
  CHECK(col == 0);
  // "--boundary" occurs exactly at the three part openers and the closer.
  std::string delim = "--" + res.boundary;
  size_t count = 0;
  for (size_t at = m.find(delim); at != std::string::npos; at = m.find(delim, at + delim.size())) {
    CHECK(at >= 2 && m.compare(at - 2, 2, "\r\n") == 0);
    ++count;
  }
  CHECK(count == 4);
  CHECK(m.compare(m.size() - delim.size() - 4, delim.size() + 4, delim + "--\r\n") == 0);
  MessageParts p = split_message(m);
  CHECK(p.has_separator);
  CHECK(header_value(p.header_block, "Content-Type").has_value());
  CHECK(res.needs_smtputf8 || is_ascii(p.header_block));
  CHECK(res.needs_8bitmime || is_ascii(p.body));
  return 0;
}
