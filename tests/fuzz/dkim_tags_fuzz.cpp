// tests/fuzz/dkim_tags_fuzz.cpp — libFuzzer target for the pure DKIM code.
// Invariants on every input: no crash or sanitizer report; a parsed tag list
// has unique names made of ALPHA/DIGIT/"_" starting with a letter, and
// values without ';' or control characters other than CR/LF/TAB in folds; a
// refused one has no tags and names a reason. Canonicalisation: the body fed
// in two chunks (split chosen by the first byte) equals the body fed whole;
// relaxed output has no WSP before a CRLF and no runs of WSP, and ends in
// CRLF unless empty; simple output ends in CRLF; a relaxed header is one
// line "name:value\r\n" with a lower-case name. Header selection and header
// data never pick more fields than the message has.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dkim/canon.h"
#include "dkim/signature.h"
#include "dkim/tags.h"

using namespace ringmta::dkim;

static void check(bool ok) {
  if (!ok) std::abort();
}

static bool wsp(char c) { return c == ' ' || c == '\t'; }

static void check_tags(std::string_view in) {
  const TagList t = parse_tags(in);
  if (!t.ok()) {
    check(t.tags.empty());
    return;
  }
  for (size_t i = 0; i < t.tags.size(); ++i) {
    const auto& [name, value] = t.tags[i];
    check(!name.empty() && ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')));
    for (size_t j = i + 1; j < t.tags.size(); ++j) check(t.tags[j].first != name);
    check(value.find(';') == std::string::npos);
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      check(u < 0x7f && (u >= 0x20 || c == '\r' || c == '\n' || c == '\t'));
    }
    check(value.empty() || (!wsp(value.front()) && !wsp(value.back())));
  }
}

static void check_body(std::string_view body, size_t split) {
  for (Canon c : {Canon::Simple, Canon::Relaxed}) {
    const std::string whole = canon_body(c, body);
    BodyCanon b(c);
    std::string parts;
    b.feed(body.substr(0, split), parts);
    b.feed(body.substr(split), parts);
    b.finish(parts);
    check(parts == whole);
    if (c == Canon::Simple) check(whole.size() >= 2 && whole.compare(whole.size() - 2, 2, "\r\n") == 0);
    if (c == Canon::Relaxed) {
      check(whole.empty() || whole.compare(whole.size() - 2, 2, "\r\n") == 0);
      for (size_t i = 0; i + 1 < whole.size(); ++i) {
        check(!(wsp(whole[i]) && whole[i + 1] == '\r' && i + 2 < whole.size() && whole[i + 2] == '\n'));
        check(!(wsp(whole[i]) && wsp(whole[i + 1])));
        check(whole[i] != '\t');
      }
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_tags(in);
  const size_t split = size == 0 ? 0 : data[0] % (size + 1);
  const SplitMessage m = split_fields(in);
  check(m.body_offset <= in.size());
  for (const auto& f : m.fields) {
    check(!f.name.empty() && f.text.size() > f.name.size());
    const std::string r = canon_header(Canon::Relaxed, f);
    check(r.size() >= 3 && r.compare(r.size() - 2, 2, "\r\n") == 0);
    check(r.find("\r\n") == r.size() - 2 || r.find("\r\n") < r.find(':'));
    for (size_t i = 0; i < r.find(':'); ++i) check(!(r[i] >= 'A' && r[i] <= 'Z'));
    const std::string s = canon_header(Canon::Simple, f);
    check(s.size() >= f.text.size());
  }
  check_body(in.substr(m.body_offset), split > size - m.body_offset ? size - m.body_offset : split);
  const auto h = select_headers(m.fields, {"from", "to", "subject", "x"}, {"from", "date"});
  check(h.size() <= m.fields.size() + 2);
  std::string data_text = header_data(m.fields, h, Canon::Relaxed);
  check(data_text.size() <= 2 * size + 8 * m.fields.size() + 8);
  return 0;
}
