// base/base64.h — RFC 4648 base64, one implementation for SASL (SMTP AUTH,
// POP3/IMAP AUTHENTICATE), the bench client and, later, DKIM and MIME.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ringmta::base {

std::string base64_encode(std::string_view in);
// Strict: padding required, no whitespace, nothing after '='; nullopt on error
// (SASL must refuse what it cannot decode exactly, RFC 4954 §4).
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace ringmta::base
