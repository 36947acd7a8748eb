// tests/fuzz/imap_bodystructure_fuzz.cpp — see imap_bodystructure.cmake. The
// input is also written directly as a string, astring and mailbox name.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/mime.h"
#include "proto/imap/response.h"
#include "tests/unit/proto/imap/syntax_check.h"

using namespace ringmta;

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__); \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

namespace {

std::string render(const mail::MimeStructure& s, const imap::WriteOptions& o) {
  std::string all;
  for (uint32_t i = 0; i < s.parts.size(); ++i) {
    std::string item;
    if (s.parts[i].envelope) {
      imap::append_envelope(item, *s.parts[i].envelope, o);
      std::string err = imap::test::check_imap_data(item, o.utf8);
      if (!err.empty()) std::fprintf(stderr, "ENVELOPE: %s\n", err.c_str());
      CHECK(err.empty());
      all += item;
      item.clear();
    }
    for (bool extended : {false, true}) {
      CHECK(imap::append_body_structure(item, s, extended, i, o));
      std::string err = imap::test::check_imap_data(item, o.utf8);
      if (!err.empty()) std::fprintf(stderr, "BODY%s: %s\n", extended ? "STRUCTURE" : "", err.c_str());
      CHECK(err.empty());
      CHECK(item.front() == '(' && item.back() == ')');
      all += item;
      item.clear();
    }
  }
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The input itself as a string, an astring and a mailbox name.
  for (bool utf8 : {false, true}) {
    imap::WriteOptions o{.utf8 = utf8};
    std::string item;
    imap::append_string(item, in, o);
    item += ' ';
    imap::append_astring(item, in, o);
    item += ' ';
    if (!imap::append_mailbox(item, in, o)) item.pop_back();  // not a valid name: nothing written
    CHECK(imap::test::check_imap_data(item, utf8).empty());
  }
  mail::MimeLimits tiny{.max_depth = 4, .max_parts = 12};
  for (const auto& limits : {mail::MimeLimits{}, tiny}) {
    mail::MimeStructure s = mail::parse_mime(in, limits);
    for (bool rev2 : {false, true}) {
      imap::WriteOptions o{.utf8 = rev2, .rev2 = rev2, .charset_all_text = rev2};
      std::string a = render(s, o);
      auto d = mail::decode_structure(mail::encode_structure(s));
      CHECK(d);
      CHECK(render(*d, o) == a);
    }
  }
  return 0;
}
