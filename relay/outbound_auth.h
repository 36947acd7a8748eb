// relay/outbound_auth.h — the client side of SMTP AUTH (RFC 4954) for
// upstream logins (delivery.credentials_file): which mechanism, the commands
// and what each server reply means. Pure: replies in, command lines out; the
// Outbound (outbound.h) owns the socket, the TLS and the timer.
//
// Mechanisms: PLAIN (RFC 4616, initial response on the AUTH line) when the
// server offers it, else LOGIN (the widespread draft-murchison-sasl-login:
// "334 VXNlcm5hbWU6", base64 user, "334 UGFzc3dvcmQ6", base64 password).
// Nothing else is offered by the smart hosts this is for, and neither needs
// anything but TLS under it — which the Outbound guarantees (no AUTH command
// is ever produced for a connection without TLS).
//
// The secret never leaves this class except on the wire: failure texts are
// the server's reply (which carries no password) and the mechanism name.
#pragma once

#include <string>
#include <vector>

#include "proto/smtp/reply_parser.h"

namespace ringmta::relay {

class ClientAuth {
 public:
  enum class Step { Continue, Done, Failed };

  ClientAuth(std::string user, std::string password);
  // Pick the mechanism from the EHLO AUTH list (upper case): "" when none
  // we speak is offered.
  bool choose(const std::vector<std::string>& offered);
  const std::string& mechanism() const { return mechanism_; }
  const std::string& user() const { return user_; }
  // The first command line (with CRLF). Only after choose() returned true.
  std::string start();
  // One server reply; on Continue `out` holds the next line to send.
  // Done: 235. Failed: anything else (failure() says what the server said).
  Step on_reply(const smtp::Reply& reply, std::string& out);
  const smtp::Reply& failure() const { return failure_; }

 private:
  std::string user_, password_, mechanism_;
  int sent_ = 0;  // LOGIN: lines sent after "AUTH LOGIN" (0, 1 = user, 2 = password)
  smtp::Reply failure_;
};

}  // namespace ringmta::relay
