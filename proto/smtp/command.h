// proto/smtp/command.h — SMTP command-line parsing for the server side.
//
// Pure functions, no state: split a command line into verb and argument,
// parse MAIL/RCPT arguments (path prefix, ESMTP parameters with their RFC
// 1870/6152/6531/3461 meanings) and BDAT arguments. Errors come back as the
// complete reply line the session should send, so every reply text lives in
// one place per command.
//
// Adding a command (e.g. STARTTLS, AUTH): add a Verb, one row in the table in
// command.cpp, and a case in ServerSession's dispatch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/text.h"
#include <vector>

#include "proto/smtp/server_session.h"

namespace ringmta::smtp {

enum class Verb : uint8_t {
  Unknown, Empty, Ehlo, Helo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Help, Auth,
  StartTls,
};

struct CommandLine {
  Verb verb = Verb::Unknown;
  std::string_view arg;  // after the verb, surrounding spaces/tabs trimmed
};

// `line` excludes the line terminator (CRLF or LF). Verbs are case-insensitive.
CommandLine parse_command_line(std::string_view line);

// Strip a case-insensitive "FROM:"/"TO:" prefix and any spaces after it
// (Postfix-style leniency for "MAIL FROM: <a@b>"). nullopt when absent.
std::optional<std::string_view> strip_path_prefix(std::string_view arg, std::string_view prefix);

struct EsmtpParam {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

// Split "KEY[=VALUE] ..." (RFC 5321 §4.1.2 esmtp-param). False on bad syntax.
bool split_esmtp_params(std::string_view s, std::vector<EsmtpParam>& out);

struct MailParams {
  bool has_size = false;
  uint64_t size = 0;
  BodyType body = BodyType::Unspecified;
  bool smtputf8 = false;
  Ret ret = Ret::Unspecified;
  std::string envid;  // decoded
  bool has_auth = false;  // AUTH= given (RFC 4954 §5; syntax-checked, value ignored)
};

// Parse MAIL parameters. Returns "" on success, else the reply line to send.
std::string parse_mail_params(std::string_view params, bool esmtp, uint64_t max_size,
                              MailParams& out);

// Parse RCPT parameters into `out` (notify, orcpt). "" or the reply line.
std::string parse_rcpt_params(std::string_view params, bool esmtp, Recipient& out);

struct BdatArgs {
  uint64_t size = 0;
  bool last = false;
};
// "n" or "n LAST" (LAST case-insensitive); nullopt on anything else.
std::optional<BdatArgs> parse_bdat_args(std::string_view arg);

// ASCII case-insensitive comparison (base/text.h).
using base::iequals;

}  // namespace ringmta::smtp
