// tests/fuzz/imap_mutf7_fuzz.cpp — see imap_mutf7.cmake.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proto/imap/mutf7.h"

using namespace ringmta::imap;

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__); \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto utf8 = mutf7_decode(in)) {
    CHECK(valid_utf8_mailbox_name(*utf8));
    auto back = mutf7_encode(*utf8);
    CHECK(back && *back == in);
  }
  if (auto wire = mutf7_encode(in)) {
    CHECK(valid_utf8_mailbox_name(in));
    for (char c : *wire) CHECK(c >= 0x20 && c <= 0x7e);
    auto back = mutf7_decode(*wire);
    CHECK(back && *back == in);
  } else {
    CHECK(!valid_utf8_mailbox_name(in));
  }
  return 0;
}
