// tools/sendmail_message.h — the pure part of `ringmta-sendmail`: the
// sendmail command line, reading the message the way sendmail does, and
// what -t does to the header (recipients from To/Cc/Bcc, Bcc removed).
// No I/O, so it is unit-tested on strings (tests/unit/admin).
//
// Command line (the subset programs that call sendmail use):
//   -t            recipients also from To:, Cc:, Bcc: (added to the arguments)
//   -i, -oi       a line with a single "." does not end the message
//   -f ADDR, -fADDR, -r ADDR   envelope sender ("<>" for the null sender)
//   -F NAME       full name for a From: header that ringmta-sendmail adds
//   --config FILE / -C FILE    ringmta's configuration (where to submit)
//   -bm (default), -oXXX, -odb/-odi, -oem/-oep, -v, -U, -L TAG   accepted, no effect
//   -bs, -bp, -bd, -bi, -bv, -I, -q...   not supported: EX_USAGE
//   --            end of options; every other argument is a recipient.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ringmta::tools {

struct Options {
  bool extract_recipients = false;  // -t
  bool ignore_dots = false;         // -i / -oi
  std::optional<std::string> sender;  // -f/-r; "" = null sender
  std::string full_name;            // -F
  std::string config_path;          // --config / -C
  std::vector<std::string> recipients;
  bool help = false;
};

// The options, or why the command line is unusable (for stderr, exit EX_USAGE).
base::Result<Options> parse_args(const std::vector<std::string>& args);

// sendmail's input rules: LF or CRLF line ends become CRLF; without
// ignore_dots a line holding only "." ends the message (the rest is
// ignored); a missing final line end is added.
std::string normalize_input(std::string_view raw, bool ignore_dots);

// The addresses of an RFC 5322 address-list header value ("A <a@x>, b@y,
// "Q, R" <c@z>, group: d@w;"): comments, display names and group names
// dropped. Empty entries are skipped.
std::vector<std::string> parse_address_list(std::string_view value);

struct Prepared {
  std::string message;                 // CRLF lines, Bcc removed
  std::vector<std::string> recipients;  // from To/Cc/Bcc when extract was asked
};

// Apply -t (collect To/Cc/Bcc) and always remove Bcc fields; add From:,
// Date: and Message-ID: when the message has none (what sendmail does for
// local submissions). `from` is the header value to add ("Name <addr>").
Prepared prepare_message(std::string_view message, bool extract, std::string_view from, std::string_view date,
                         std::string_view message_id);

}  // namespace ringmta::tools
