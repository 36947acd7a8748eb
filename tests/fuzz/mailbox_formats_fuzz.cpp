// tests/fuzz/mailbox_formats_fuzz.cpp — libFuzzer target for
// tools/mailbox_formats. Any bytes go through every parser (mbox, From_
// line, Maildir name, header lookup) without a crash or an out-of-bounds
// read, and the round trips the import/export promise must hold:
//   - to_crlf is idempotent and its result ends with CRLF;
//   - a message written with append_mbox_message and parsed again is one
//     message, to_lf of the body (plus a final LF), with its date;
//   - maildir_flags(maildir_info(f)) == f.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tools/mailbox_formats.h"

using namespace ringmta::tools;

namespace {

void require(bool ok) {
  if (!ok) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Parsers on raw input.
  MboxParse p = parse_mbox(in);
  size_t total = 0;
  for (const MboxMessage& m : p.messages) total += m.body.size();
  require(total <= in.size());
  (void)parse_from_line_date(in);
  const uint8_t flags = maildir_flags(in);
  require(flags <= 31);
  require(maildir_flags("x" + maildir_info(flags)) == flags);
  (void)first_header(in, "Subject");
  require(mbox_flags(in) <= 31);
  (void)maildir_folder_mailbox(in);

  // Line ends.
  const std::string crlf = to_crlf(in);
  require(crlf.size() >= 2 && crlf.compare(crlf.size() - 2, 2, "\r\n") == 0);
  require(to_crlf(crlf) == crlf);

  // mbox write -> parse: the body comes back (LF line ends), date too.
  const int64_t date_ms = static_cast<int64_t>(size) * 86'400'000 + 1'000;
  std::string file;
  append_mbox_message(file, in, date_ms);
  append_mbox_message(file, "Subject: second\r\n\r\nFrom x\r\n", 0);
  MboxParse back = parse_mbox(file);
  require(back.error.empty());
  require(back.messages.size() == 2);
  std::string want = to_lf(in);
  if (want.empty() || want.back() != '\n') want += '\n';
  require(back.messages[0].body == want);
  require(back.messages[0].date_ms == date_ms);
  require(back.messages[1].body == "Subject: second\n\nFrom x\n");
  require(back.messages[1].date_ms == 0);
  return 0;
}
