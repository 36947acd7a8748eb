// tests/unit/mail/fuzz_mail_headers.cpp — libFuzzer harness (target
// fuzz_mail_headers, see tests/fuzz/dsn.cmake): split/list/unfold/get/limit/
// count on arbitrary bytes must not crash and must keep their documented
// invariants; count_header_fields() (the hop count) must agree with
// header_fields() on the same header section.
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <string_view>

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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  MessageParts p = split_message(in);
  // Views into the input: header block is a prefix, body a suffix, and
  // only the separator line lies between them.
  CHECK(in.substr(0, p.header_block.size()) == p.header_block);
  CHECK(p.body.size() <= in.size() - p.header_block.size());
  size_t gap = in.size() - p.header_block.size() - p.body.size();
  CHECK(p.has_separator ? (gap == 1 || gap == 2) : (gap == 0 && p.body.empty()));

  size_t received = 0;
  const auto fields = header_fields(p.header_block);
  for (const HeaderField& f : fields) {
    if (header_name_equals(f.name, "Received")) ++received;
    CHECK(!f.name.empty() && f.name.find(':') == std::string_view::npos);
    CHECK(f.raw_value.data() >= p.header_block.data() &&
          f.raw_value.data() + f.raw_value.size() <= p.header_block.data() + p.header_block.size());
    std::string u = unfold(f.raw_value);
    CHECK(u.find('\n') == std::string::npos);
  }
  (void)header_value(p.header_block, "Subject");
  if (fields.size() < 10000) {  // header_fields() stops at 10000 fields
    CHECK(count_header_fields(in, "Received", 1000000) == received);
    const size_t k = size ? data[size - 1] % 8u : 0;
    CHECK(count_header_fields(in, "Received", k) == std::min(received, k + 1));
  }
  size_t max = size ? data[0] * 4u : 0;
  LimitedHeaders l = limit_header_block(p.header_block, max);
  CHECK(l.header_block.size() <= p.header_block.size());
  CHECK(l.truncated == (p.header_block.size() > max));
  if (l.truncated) CHECK(l.header_block.size() <= max);
  CHECK(p.header_block.substr(0, l.header_block.size()) == l.header_block);
  return 0;
}
