// relay/outbound_auth.cpp — see outbound_auth.h.
#include "relay/outbound_auth.h"

#include <algorithm>
#include <utility>

#include "base/base64.h"

namespace ringmta::relay {

ClientAuth::ClientAuth(std::string user, std::string password)
    : user_(std::move(user)), password_(std::move(password)) {}

bool ClientAuth::choose(const std::vector<std::string>& offered) {
  auto has = [&](const char* m) { return std::find(offered.begin(), offered.end(), m) != offered.end(); };
  mechanism_ = has("PLAIN") ? "PLAIN" : has("LOGIN") ? "LOGIN" : "";
  return !mechanism_.empty();
}

std::string ClientAuth::start() {
  sent_ = 0;
  if (mechanism_ == "PLAIN") {
    // RFC 4616: authzid (empty) NUL authcid NUL passwd.
    std::string msg;
    msg.push_back('\0');
    msg += user_;
    msg.push_back('\0');
    msg += password_;
    return "AUTH PLAIN " + base::base64_encode(msg) + "\r\n";
  }
  return "AUTH LOGIN\r\n";
}

ClientAuth::Step ClientAuth::on_reply(const smtp::Reply& reply, std::string& out) {
  out.clear();
  if (reply.code == 235) return Step::Done;
  // A 334 continues LOGIN (twice); for PLAIN with an initial response a 334
  // is a server that wants it again: give up rather than guess.
  if (reply.code == 334 && mechanism_ == "LOGIN" && sent_ < 2) {
    out = base::base64_encode(sent_ == 0 ? user_ : password_) + "\r\n";
    ++sent_;
    return Step::Continue;
  }
  failure_ = reply;  // a 334 here means the exchange went wrong: the Outbound closes at once
  return Step::Failed;
}

}  // namespace ringmta::relay
