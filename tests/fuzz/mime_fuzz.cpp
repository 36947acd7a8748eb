// tests/fuzz/mime_fuzz.cpp — libFuzzer target for mail/mime.h. Every input is
// used twice:
//  - as a message: parse_mime() with the default and with tiny limits must
//    keep the tree invariants (tests/unit/mail/mime_check.h: spans nested in
//    the message, line counts, container/leaf rules, limits), and the tree
//    must survive encode_structure() → decode_structure() unchanged, with the
//    same bytes when encoded again;
//  - as a blob: decode_structure() on raw bytes must not crash, and whatever
//    it accepts must round-trip and dump.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/mime.h"
#include "tests/unit/mail/mime_check.h"

using namespace ringmta::mail;

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__); \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

static void as_message(std::string_view in, const MimeLimits& lim) {
  const MimeStructure s = parse_mime(in, lim);
  const std::string broken = test::check_structure(s, in, lim);
  if (!broken.empty()) std::fprintf(stderr, "invariant: %s\n", broken.c_str());
  CHECK(broken.empty());
  const std::string blob = encode_structure(s);
  const std::optional<MimeStructure> back = decode_structure(blob);
  CHECK(back.has_value());
  CHECK(*back == s);
  CHECK(encode_structure(*back) == blob);
  CHECK(!dump_structure(s).empty());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  as_message(in, MimeLimits{});
  as_message(in, MimeLimits{2, 6});

  if (const std::optional<MimeStructure> d = decode_structure(in)) {
    CHECK(!d->parts.empty());
    for (const MimePart& p : d->parts) {
      CHECK(p.body.offset <= d->message_size && p.body.length <= d->message_size - p.body.offset);
      for (uint32_t c : p.children) CHECK(c < d->parts.size());
    }
    const std::string again = encode_structure(*d);
    const std::optional<MimeStructure> d2 = decode_structure(again);
    CHECK(d2.has_value() && *d2 == *d);
    CHECK(!dump_structure(*d).empty());
  }
  parse_address_list(in.substr(0, 4096));
  return 0;
}
