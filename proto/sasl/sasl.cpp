// proto/sasl/sasl.cpp — PLAIN and LOGIN for SMTP AUTH (see sasl.h).
//
// Reply texts follow Postfix, which most operators know from their logs:
//   334 (challenge), 501 5.7.0 aborted by "*", 501 5.5.2 undecodable base64,
//   504 5.5.4 unknown mechanism, 535 5.7.8 for credentials refused before
//   any check (a foreign authzid, an empty user or password).
#include "proto/sasl/sasl.h"

#include <array>
#include <cstdint>
#include <utility>

#include "base/base64.h"
#include "base/text.h"

namespace ringmta::sasl {
namespace {

constexpr std::string_view kCancelled = "501 5.7.0 Authentication aborted";
constexpr std::string_view kUndecodable = "501 5.5.2 Cannot decode response";
constexpr std::string_view kInvalid = "535 5.7.8 Authentication credentials invalid";
// base64("Username:") and base64("Password:"), what every LOGIN client expects.
constexpr std::string_view kLoginUser = "334 VXNlcm5hbWU6";
constexpr std::string_view kLoginPassword = "334 UGFzc3dvcmQ6";



SaslExchange::Step fail(std::string_view reply) {
  SaslExchange::Step s;
  s.kind = SaslExchange::Kind::Failed;
  s.reply = std::string(reply);
  return s;
}

SaslExchange::Step challenge(std::string_view reply) {
  SaslExchange::Step s;
  s.kind = SaslExchange::Kind::Challenge;
  s.reply = std::string(reply);
  return s;
}

SaslExchange::Step credentials(std::string user, std::string password) {
  SaslExchange::Step s;
  if (user.empty() || password.empty()) return fail(kInvalid);
  s.kind = SaslExchange::Kind::Credentials;
  s.credentials.user = std::move(user);
  s.credentials.password = std::move(password);
  return s;
}

}  // namespace



std::optional<SaslCredentials> parse_plain(std::string_view message) {
  const size_t first = message.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (message.find('\0', second + 1) != std::string_view::npos) return std::nullopt;
  std::string_view authzid = message.substr(0, first);
  std::string_view authcid = message.substr(first + 1, second - first - 1);
  // Acting for another identity (proxy authorization) is not supported;
  // "authzid equals authcid" is what some clients send and means the same.
  if (!authzid.empty() && authzid != authcid) return std::nullopt;
  return SaslCredentials{std::string(authcid), std::string(message.substr(second + 1))};
}

SaslExchange::Step SaslExchange::start(std::string_view mechanism, std::string_view initial) {
  stage_ = Stage::Idle;
  login_user_.clear();
  const std::string mech = base::to_lower_ascii(mechanism);  // names are case-insensitive
  if (mech == "plain") {
    mech_ = Mech::Plain;
    if (initial.empty()) {
      stage_ = Stage::PlainResponse;
      return challenge("334 ");  // RFC 4954: an empty challenge
    }
    return plain_message(initial);
  }
  if (mech == "login") {
    mech_ = Mech::Login;
    if (initial.empty()) {
      stage_ = Stage::LoginUser;
      return challenge(kLoginUser);
    }
    return login_user(initial);
  }
  mech_ = Mech::None;
  return fail("504 5.5.4 Unsupported authentication mechanism");
}

SaslExchange::Step SaslExchange::respond(std::string_view line) {
  if (line == "*") {
    stage_ = Stage::Idle;
    login_user_.clear();
    return fail(kCancelled);
  }
  switch (stage_) {
    case Stage::PlainResponse: return plain_message(line);
    case Stage::LoginUser: return login_user(line);
    case Stage::LoginPassword: return login_password(line);
    case Stage::Idle: break;
  }
  return fail("503 5.5.1 Error: no authentication in progress");
}

SaslExchange::Step SaslExchange::plain_message(std::string_view encoded) {
  stage_ = Stage::Idle;
  auto decoded = encoded == "=" ? std::optional<std::string>("") : base64_decode(encoded);
  if (!decoded) return fail(kUndecodable);
  auto creds = parse_plain(*decoded);
  if (!creds) return fail(kInvalid);
  return credentials(std::move(creds->user), std::move(creds->password));
}

SaslExchange::Step SaslExchange::login_user(std::string_view encoded) {
  auto decoded = encoded == "=" ? std::optional<std::string>("") : base64_decode(encoded);
  if (!decoded) {
    stage_ = Stage::Idle;
    return fail(kUndecodable);
  }
  login_user_ = std::move(*decoded);
  stage_ = Stage::LoginPassword;
  return challenge(kLoginPassword);
}

SaslExchange::Step SaslExchange::login_password(std::string_view encoded) {
  stage_ = Stage::Idle;
  auto decoded = encoded == "=" ? std::optional<std::string>("") : base64_decode(encoded);
  if (!decoded) {
    login_user_.clear();
    return fail(kUndecodable);
  }
  return credentials(std::exchange(login_user_, std::string()), std::move(*decoded));
}

}  // namespace ringmta::sasl
