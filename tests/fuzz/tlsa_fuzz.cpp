// tests/fuzz/tlsa_fuzz.cpp — see tlsa.cmake. The input is a DNS response;
// every TLSA/TXT record found is parsed again on its own, and the input as
// a bare RDATA too.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dns/tlsa.h"

using namespace ringmta::dns;

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__); \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string why;
  for (uint16_t type : {kTypeTlsa, kTypeTxt}) {
    RawAnswer a;
    if (!parse_raw_answer(data, size, type, &a, &why)) continue;
    CHECK(size >= 12);
    CHECK(a.rcode >= 0 && a.rcode <= 15);
    size_t total = 0;
    for (const auto& rd : a.rdata) {
      total += rd.size();
      if (type == kTypeTlsa) {
        if (auto r = parse_tlsa_rdata(rd.data(), rd.size(), &why)) {
          CHECK(r->data.size() + 3 == rd.size());
          if (r->mtype == 1) CHECK(r->data.size() == 32);
          if (r->mtype == 2) CHECK(r->data.size() == 64);
          (void)usable_for_smtp(*r);
          CHECK(to_string(*r).size() == 6 + 2 * r->data.size() + std::to_string(r->usage).size() - 1 +
                                            std::to_string(r->selector).size() - 1 + std::to_string(r->mtype).size() - 1);
        }
      } else if (auto t = txt_text(rd)) {
        CHECK(t->size() < rd.size() || rd.empty());
      }
    }
    CHECK(total <= size);
  }
  if (auto r = parse_tlsa_rdata(data, size, &why)) CHECK(r->data.size() + 3 == size);
  return 0;
}
