// tests/unit/proto/imap/search_fixture.h — messages for the SEARCH, SORT and
// THREAD tests, built as the server builds them: the raw message (LF lines
// turned into CRLF) parsed with mail::parse_mime, and a MessageData pointing
// at both. A Mailbox owns its messages so the pointers stay valid.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "mail/mime.h"
#include "proto/imap/command.h"
#include "proto/imap/message_data.h"

namespace ringmta::imap::testing {

inline std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

struct StoredMessage {
  std::string raw;
  mail::MimeStructure structure;
  std::vector<std::string> keywords;
};

class Mailbox {
 public:
  // Adds a message (LF line ends, made CRLF unless `as_is`); seq and uid
  // follow the order of adding (uid = 10 * seq so tests can tell them apart).
  MessageData& add(std::string_view lf_text, int64_t internal_date_ms = 0, bool as_is = false) {
    store_.push_back(StoredMessage{as_is ? std::string(lf_text) : crlf(lf_text), {}, {}});
    StoredMessage& s = store_.back();
    s.structure = mail::parse_mime(s.raw);
    MessageData d;
    d.seq = static_cast<uint32_t>(msgs.size() + 1);
    d.uid = d.seq * 10;
    d.size = s.raw.size();
    d.internal_date_ms = internal_date_ms;
    d.structure = &s.structure;
    d.body = s.raw;
    d.has_body = true;
    d.keywords = &s.keywords;
    msgs.push_back(d);
    return msgs.back();
  }
  std::vector<std::string>& keywords(size_t i) { return store_[i].keywords; }
  std::vector<MessageData> msgs;

 private:
  std::deque<StoredMessage> store_;
};

// The criteria of "a SEARCH <program>" (empty key "BAD" when it does not parse).
inline SearchKey criteria(std::string_view program) {
  ParseResult r = parse_command("a SEARCH " + std::string(program));
  if (!r.ok) return SearchKey{"BAD", {}, 0, {}, {}, {}};
  return r.command.criteria;
}

}  // namespace ringmta::imap::testing
