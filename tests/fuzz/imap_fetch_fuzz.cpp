// tests/fuzz/imap_fetch_fuzz.cpp — see imap_fetch.cmake. An input that is not
// a FETCH command still fetches a fixed list of every item kind, so the
// message half is always exercised.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mail/mime.h"
#include "proto/imap/command.h"
#include "proto/imap/fetch_response.h"
#include "tests/unit/proto/imap/fetch_check.h"

using namespace ringmta;

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__); \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

namespace {

const std::vector<imap::FetchAtt>& fallback() {
  static const std::vector<imap::FetchAtt> atts = [] {
    auto p = imap::parse_command(
        "a FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ ENVELOPE BODY BODYSTRUCTURE "
        "BODY.PEEK[] BODY[HEADER] BODY[TEXT]<1.7> BODY[1] BODY[1.MIME] BODY[2.HEADER] "
        "BODY[2.1.TEXT] BODY[HEADER.FIELDS (SUBJECT FROM)] BODY[1.HEADER.FIELDS.NOT (TO)] "
        "RFC822 RFC822.HEADER RFC822.TEXT BINARY[1] BINARY.SIZE[1] BINARY[2]<3.5> BINARY.SIZE[] "
        "BINARY[1.1] BINARY.SIZE[1.2])");
    CHECK(p.ok);
    return p.command.fetch;
  }();
  return atts;
}

void check_one(const imap::MessageData& m, std::span<const imap::FetchAtt> atts,
               const imap::FetchOptions& o) {
  std::string out;
  const bool complete = imap::append_fetch(out, m, atts, o);
  auto parsed = imap::test::parse_fetch_response(out, o.write.utf8);
  if (!parsed.error.empty()) std::fprintf(stderr, "%s\n", parsed.error.c_str());
  CHECK(parsed.error.empty());
  CHECK(parsed.seq == m.seq);
  CHECK(parsed.items.size() <= atts.size() + 3);
  if (m.structure && m.has_body) {
    // Unknown encodings aside (the host refuses those), all data was there.
    CHECK(complete || imap::binary_unknown_cte(m, atts));
  }
  for (const auto& it : parsed.items) {
    if (it.name == "BODY[]" || it.name == "RFC822" || it.name == "BINARY[]") {
      std::string expect(m.body);
      if (!it.literal8)
        for (char& c : expect)
          if (c == '\0') c = '\x80';
      CHECK(it.value == expect);
    }
    if (it.name.starts_with("BINARY.SIZE[")) {
      const auto* b = parsed.find("BINARY" + it.name.substr(11));
      if (b && b->literal) CHECK(it.value == std::to_string(b->value.size()));
    }
  }
  // Only what fetch_needs() asks for: the same answer.
  unsigned needs = imap::fetch_needs(atts);
  imap::MessageData lean = m;
  if (!(needs & imap::kNeedStructure)) lean.structure = nullptr;
  if (!(needs & imap::kNeedBody)) {
    lean.body = {};
    lean.has_body = false;
  }
  std::string again;
  imap::append_fetch(again, lean, atts, o);
  CHECK(again == out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view line = nl == std::string_view::npos ? in : in.substr(0, nl);
  std::string_view message = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  imap::ParseResult p = imap::parse_command(line);
  const bool fetch = p.ok && p.command.name == imap::Name::Fetch;
  std::span<const imap::FetchAtt> atts = fetch ? std::span<const imap::FetchAtt>(p.command.fetch)
                                               : std::span<const imap::FetchAtt>(fallback());
  const std::vector<std::string> keywords{"$Junk", "not a flag", ""};
  mail::MimeLimits tiny{.max_depth = 3, .max_parts = 8};
  for (const auto& limits : {mail::MimeLimits{}, tiny}) {
    mail::MimeStructure s = mail::parse_mime(message, limits);
    imap::MessageData m;
    m.seq = 7;
    m.uid = static_cast<uint32_t>(size);
    m.flags = static_cast<uint8_t>(size & 31);
    m.recent = size & 1;
    m.keywords = &keywords;
    m.size = message.size();
    m.internal_date_ms = static_cast<int64_t>(size) * 1000003 - 50000000000LL;
    m.modseq = size;
    m.structure = &s;
    m.body = message;
    m.has_body = true;
    imap::FetchOptions rev1{.write = {}, .uid_command = fetch && p.command.uid};
    imap::FetchOptions rev2{.write = {.utf8 = true, .rev2 = true, .charset_all_text = true},
                            .uid_command = true, .condstore = true, .rev2 = true, .add_flags = true};
    check_one(m, atts, rev1);
    check_one(m, atts, rev2);
    // The structure as stored gives the same answer.
    auto d = mail::decode_structure(mail::encode_structure(s));
    CHECK(d);
    std::string a, b;
    imap::append_fetch(a, m, atts, rev1);
    m.structure = &*d;
    imap::append_fetch(b, m, atts, rev1);
    CHECK(a == b);
  }
  return 0;
}
