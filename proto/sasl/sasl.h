// proto/sasl/sasl.h — the server side of SMTP AUTH's SASL exchange (RFC 4954)
// for the PLAIN (RFC 4616) and LOGIN mechanisms, as a pure state machine.
//
// smtp::ServerSession (proto/smtp) owns one SaslExchange while an AUTH
// command is in progress: start() takes the AUTH arguments, respond() each
// client line after a 334.
// Every step returns either the next 334 challenge, a final error reply, or
// the credentials to check — the check itself (password hashing) is the
// glue's business, off the shard thread. Nothing here touches a password
// store, and a password is never part of a reply.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/base64.h"

namespace ringmta::sasl {

// base64 (strict) is base/base64.h's, shared with POP3, IMAP and the tools.
using base::base64_decode;
using base::base64_encode;

struct SaslCredentials {
  std::string user;      // authentication identity (authcid)
  std::string password;
};

// Parse a decoded PLAIN message: [authzid] NUL authcid NUL passwd.
// An authorization identity other than the authcid is refused (no proxy
// authorization); nullopt on any malformed message.
std::optional<SaslCredentials> parse_plain(std::string_view message);

class SaslExchange {
 public:
  enum class Kind {
    Challenge,    // send `reply` (a "334 ..." line), then feed the next client line to respond()
    Failed,       // send `reply` (501/504/535...), the exchange is over
    Credentials,  // `credentials` are ready to be checked
  };
  struct Step {
    Kind kind = Kind::Failed;
    std::string reply;            // without CRLF; empty for Credentials
    SaslCredentials credentials;  // Credentials only
  };

  // `mechanism` and optional `initial_response` as given on the AUTH line
  // ("=" is an empty initial response, RFC 4954 §4).
  Step start(std::string_view mechanism, std::string_view initial_response);
  // One client line (without CRLF) after a 334 challenge. "*" cancels.
  Step respond(std::string_view line);

 private:
  enum class Mech { None, Plain, Login };
  enum class Stage { Idle, PlainResponse, LoginUser, LoginPassword };
  Step plain_message(std::string_view encoded);
  Step login_user(std::string_view encoded);
  Step login_password(std::string_view encoded);

  Mech mech_ = Mech::None;
  Stage stage_ = Stage::Idle;
  std::string login_user_;
};

}  // namespace ringmta::sasl
