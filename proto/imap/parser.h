// proto/imap/parser.h — internal: the cursor over one complete command and
// the RFC 9051 §9 lexical rules (atom, quoted, literal, astring, nstring,
// list-mailbox, number, sequence-set, date), shared by the command, search
// and fetch parsers. Every rule either consumes input and returns true, or
// sets `error` (first error wins) and returns false; nothing recurses except
// search keys, which are depth-limited.
#pragma once

#include <string>
#include <string_view>

#include "proto/imap/command.h"

namespace ringmta::imap::detail {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool at_end() const { return p_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[p_]; }
  bool fail(std::string why);
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }

  bool sp();                       // exactly one SP
  bool eat(char c);                // optional single char
  bool expect(char c);             // required single char
  bool keyword(std::string_view k);  // case-insensitive, followed by a delimiter
  bool end();                      // no more input

  bool atom(std::string& out);     // 1*ATOM-CHAR
  bool upper_atom(std::string& out);  // atom, upper-cased
  bool tag(std::string& out);      // 1*<ASTRING-CHAR except "+">
  bool quoted(std::string& out);
  bool literal(std::string& out, bool allow8 = false);
  bool string(std::string& out);   // quoted / literal
  bool astring(std::string& out);
  bool nstring(std::string& out, bool& nil);
  bool mailbox(std::string& out);  // astring, INBOX case-folded
  bool list_mailbox(std::string& out);
  bool number(std::uint64_t& out, std::uint64_t max);  // digits
  bool nz_number(std::uint32_t& out);
  bool sequence_set(SequenceSet& out);
  bool date(Date& out);            // date-text or DQUOTE date-text DQUOTE
  bool date_time(std::string& out);  // DQUOTE date-time DQUOTE, validated
  bool flag(std::string& out, bool allow_recent);  // \Flag or keyword
  bool flag_list(std::vector<std::string>& out);   // "(" [flag *(SP flag)] ")"

  std::size_t pos() const { return p_; }

 private:
  std::string_view s_;
  std::size_t p_ = 0;
  std::string error_;
};

bool is_atom_char(unsigned char c);

// search.cpp: search keys (depth-limited), the SEARCH/SORT/THREAD programs.
bool search_key(Parser& p, SearchKey& out, int depth);
bool search_criteria(Parser& p, SearchKey& out);  // key *(SP key) to the end
// fetch.cpp: FETCH attributes (macros or one att or a list) and modifiers.
bool fetch_atts(Parser& p, Command& c);

}  // namespace ringmta::imap::detail
