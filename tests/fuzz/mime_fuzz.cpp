// tests/fuzz/mime_fuzz.cpp — libFuzzer target for mail/mime.h. Every input is
// used twice:
//  - as a message: parse_mime() with the default and with tiny limits must
//    keep the tree invariants (tests/unit/mail/mime_check.h: spans nested in
//    the message, line counts, container/leaf rules, limits), and the tree
//    must survive encode_structure() → decode_structure() unchanged, with the
//    same bytes when encoded again; find_part() must stay inside the tree for
//    any part-number path;
//  - as a blob: decode_structure() on raw bytes must not crash, and whatever
//    it accepts must round-trip and dump.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

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
  // Section lookups: paths made of the first input bytes (small numbers).
  std::vector<uint32_t> path;
  for (size_t i = 0; i < in.size() && i < 6; ++i) {
    path.push_back(static_cast<uint8_t>(in[i]) % 4);
    const std::optional<uint32_t> found = find_part(s, path);
    CHECK(!found || *found < s.parts.size());
  }
  const MimePart& root = s.parts[0];
  for (uint32_t k = 0; k < root.children.size() && root.type == "multipart"; ++k) {
    const uint32_t one[] = {k + 1};
    CHECK(find_part(s, one) == root.children[k]);
  }
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
