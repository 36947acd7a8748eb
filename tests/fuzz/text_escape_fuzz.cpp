// tests/fuzz/text_escape_fuzz.cpp — libFuzzer target for escape_for_log
// (mail/text_escape), the last thing between client bytes and an operator's
// log or terminal. Invariants: the output holds no control byte (C0, DEL),
// no C1 control and only valid UTF-8; needs_log_escape says exactly whether
// the text changes; text that needs no escape comes out unchanged; escaping
// twice changes nothing more (escaped text is plain); keep_tabs differs only
// in TABs.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/text.h"
#include "mail/text_escape.h"

using namespace ringmta::mail;

static void check(bool ok) {
  if (!ok) std::abort();
}

static void check_safe(const std::string& s, bool tabs_allowed) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    check((c >= 0x20 && c != 0x7f) || (tabs_allowed && c == '\t'));
    const size_t n = ringmta::base::utf8_sequence_length(s, i);
    check(n > 0);
    check(!(n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0));
    i += n;
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (bool keep_tabs : {false, true}) {
    const std::string out = escape_for_log(in, keep_tabs);
    check_safe(out, keep_tabs);
    check(needs_log_escape(in, keep_tabs) == (out != in));
    check(!needs_log_escape(out, keep_tabs));
    check(escape_for_log(out, keep_tabs) == out);
  }
  return 0;
}
