// tests/unit/proto/smtp/client_script.h — transcript scripts for the SMTP client
// session: a tiny format that reads like an SMTP log and drives ClientSession.
//
// One item per line ('#' starts a comment line, blank lines are skipped):
//   S: text      server bytes, CRLF appended     S= text   same, no CRLF
//   C: text      expected client bytes, CRLF appended       C= text  no CRLF
//   M: text      message line for the next @start (CRLF)   M= text  no CRLF
//   @config k=v  hostname=, pipelining=off, chunking=off, starttls=on, max_line=, max_lines=
//   @env k=v     sender=, size=, body=7bit|8bit|binary, smtputf8, ret=full|hdrs, envid=
//   @rcpt ADDR [notify=success,failure,delay|never] [orcpt=TYPE;ADDR]
//   @start @quit @timeout @disconnect @written @starttls @skip_starttls @tls_established
//   A: action    expected last ClientAction (Ready, NeedInput, Close, ...)
//   T: stage     expected stage()
//   R: line      next expected result line (see render_result in script.cpp)
//   F: line      expected connection_failure() ("none" when unset)
//   K: line      expected capabilities
// Escapes in text: \r \n \t \\ \xHH.
//
// Consecutive S lines are fed as one block. run_script() can split the
// server byte stream at any offset (or feed it byte by byte): the transcript
// must come out the same, which checks the parser's incremental handling.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ringmta::smtp::test {

struct ScriptItem {
  char kind = 0;      // 'S','C','M','@','A','T','R','F','K'
  std::string name;   // '@' commands: the command name
  std::string value;  // unescaped bytes / argument text
  int line = 0;
};

// Parse a script; on error returns false with `error` set.
bool parse_script(std::string_view text, std::vector<ScriptItem>& items, std::string& error);
// Total server bytes in the script.
size_t server_byte_count(const std::vector<ScriptItem>& items);

constexpr long kNoSplit = -1;
constexpr long kByteByByte = -2;
// Run the script; returns "" on success, else a description of the first
// mismatch. `data_piece` (if not 0) overrides ClientConfig::data_piece.
std::string run_script(const std::vector<ScriptItem>& items, long split_at, size_t data_piece = 0);

std::string escape(std::string_view bytes);

}  // namespace ringmta::smtp::test
