// tests/fuzz/admin_json_fuzz.cpp — libFuzzer target for the admin API's JSON
// (base/json), which parses whatever an admin client sends. Invariants
// checked on every input: no crash or sanitizer report (nesting, numbers,
// escapes, bad UTF-8); a refusal always says why; an accepted text dumps to
// one line of valid UTF-8 with no control byte, and that dump parses back and
// dumps to the same bytes (the writer and parser agree).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/text.h"
#include "base/json.h"

using namespace ringmta::base;

static void check(bool ok) {
  if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto v = ringmta::base::json::parse(in);
  if (!v) {
    check(!v.error().empty());
    return 0;
  }
  check(v.error().empty());
  const std::string once = ringmta::base::json::dump(*v);
  for (size_t i = 0; i < once.size();) {
    const auto c = static_cast<unsigned char>(once[i]);
    check(c >= 0x20 && c != 0x7f);
    const size_t n = ringmta::base::utf8_sequence_length(once, i);
    check(n > 0);
    check(!(n == 2 && c == 0xC2 && static_cast<unsigned char>(once[i + 1]) < 0xA0));  // no raw C1
    i += n;
  }
  const auto again = ringmta::base::json::parse(once);
  check(again.ok());
  check(ringmta::base::json::dump(*again) == once);
  return 0;
}
