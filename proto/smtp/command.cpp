// proto/smtp/command.cpp — SMTP command-line parsing (see command.h).
#include "proto/smtp/command.h"

#include "base/text.h"
#include "mail/xtext.h"

namespace ringmta::smtp {
namespace {

struct VerbName {
  std::string_view name;
  Verb verb;
};

// The commands we implement.
constexpr VerbName kVerbs[] = {
    {"EHLO", Verb::Ehlo}, {"HELO", Verb::Helo}, {"MAIL", Verb::Mail}, {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data}, {"BDAT", Verb::Bdat}, {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit}, {"VRFY", Verb::Vrfy}, {"HELP", Verb::Help}, {"AUTH", Verb::Auth},
    {"STARTTLS", Verb::StartTls},
};

bool is_space(char c) { return c == ' ' || c == '\t'; }

using base::trim;  // SP and HTAB

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Decimal uint64 without sign, leading '+', or overflow.
std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

using base::to_upper_ascii;

std::string unsupported(std::string_view keyword) {
  return "555 5.5.4 Unsupported option: " + to_upper_ascii(keyword);
}
std::string duplicate(std::string_view keyword) {
  return "555 5.5.4 Error: duplicate " + to_upper_ascii(keyword) + " parameter";
}
std::string bad_value(std::string_view keyword) {
  return "555 5.5.4 Error: bad " + to_upper_ascii(keyword) + " parameter";
}

// RFC 3461: ENVID at most 100 characters, ORCPT at most 500 (as sent).
constexpr size_t kMaxEnvid = 100;
constexpr size_t kMaxOrcpt = 500;

}  // namespace

CommandLine parse_command_line(std::string_view line) {
  CommandLine c;
  line = trim(line);
  if (line.empty()) {
    c.verb = Verb::Empty;
    return c;
  }
  size_t sp = 0;
  while (sp < line.size() && !is_space(line[sp])) ++sp;
  std::string_view name = line.substr(0, sp);
  c.arg = trim(line.substr(sp));
  for (const auto& v : kVerbs) {
    if (iequals(name, v.name)) {
      c.verb = v.verb;
      break;
    }
  }
  return c;
}

std::optional<std::string_view> strip_path_prefix(std::string_view arg, std::string_view prefix) {
  if (arg.size() < prefix.size() || !iequals(arg.substr(0, prefix.size()), prefix))
    return std::nullopt;
  arg.remove_prefix(prefix.size());
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  return arg;
}

bool split_esmtp_params(std::string_view s, std::vector<EsmtpParam>& out) {
  size_t i = 0;
  while (true) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) return true;
    size_t end = i;
    while (end < s.size() && !is_space(s[end])) ++end;
    std::string_view tok = s.substr(i, end - i);
    i = end;
    EsmtpParam p;
    size_t eq = tok.find('=');
    p.keyword = tok.substr(0, eq);
    // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    if (p.keyword.empty() || !is_alnum(p.keyword.front())) return false;
    for (char c : p.keyword)
      if (!is_alnum(c) && c != '-') return false;
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.value = tok.substr(eq + 1);
      // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 (RFC 6531)
      if (p.value.empty()) return false;
      for (char ch : p.value) {
        unsigned char c = static_cast<unsigned char>(ch);
        if (c < 33 || c == '=' || c == 127) return false;
      }
    }
    out.push_back(p);
  }
}

std::string parse_mail_params(std::string_view params, bool esmtp, uint64_t max_size,
                              MailParams& out) {
  std::vector<EsmtpParam> list;
  if (!split_esmtp_params(params, list)) return "555 5.5.4 Error: malformed parameter";
  enum : unsigned { kSize = 1, kBody = 2, kUtf8 = 4, kRet = 8, kEnvid = 16, kAuth = 32 };
  unsigned seen = 0;
  for (const auto& p : list) {
    if (!esmtp) return unsupported(p.keyword);  // HELO sessions get no extensions
    unsigned bit;
    if (iequals(p.keyword, "SIZE")) bit = kSize;
    else if (iequals(p.keyword, "BODY")) bit = kBody;
    else if (iequals(p.keyword, "SMTPUTF8")) bit = kUtf8;
    else if (iequals(p.keyword, "RET")) bit = kRet;
    else if (iequals(p.keyword, "ENVID")) bit = kEnvid;
    else if (iequals(p.keyword, "AUTH")) bit = kAuth;
    else return unsupported(p.keyword);
    if (seen & bit) return duplicate(p.keyword);
    seen |= bit;
    switch (bit) {
      case kSize: {
        auto v = p.has_value ? parse_u64(p.value) : std::nullopt;
        if (!v) return bad_value(p.keyword);
        out.has_size = true;
        out.size = *v;
        break;
      }
      case kBody:
        if (!p.has_value) return bad_value(p.keyword);
        if (iequals(p.value, "7BIT")) out.body = BodyType::SevenBit;
        else if (iequals(p.value, "8BITMIME")) out.body = BodyType::EightBitMime;
        else if (iequals(p.value, "BINARYMIME"))
          return "555 5.5.4 Error: BODY=BINARYMIME is not supported";
        else return bad_value(p.keyword);
        break;
      case kUtf8:
        if (p.has_value) return bad_value(p.keyword);
        out.smtputf8 = true;
        break;
      case kRet:
        if (!p.has_value) return bad_value(p.keyword);
        if (iequals(p.value, "FULL")) out.ret = Ret::Full;
        else if (iequals(p.value, "HDRS")) out.ret = Ret::Headers;
        else return bad_value(p.keyword);
        break;
      case kEnvid: {
        auto v = p.has_value && p.value.size() <= kMaxEnvid ? mail::xtext_decode(p.value)
                                                             : std::nullopt;
        if (!v) return bad_value(p.keyword);
        out.envid = std::move(*v);
        break;
      }
      case kAuth:
        // RFC 4954 §5: MAIL FROM's AUTH=<mailbox> (or <>) from a client we
        // advertise AUTH to. We do not trust a previous hop's claim, so the
        // value is checked for syntax and otherwise ignored (as "AUTH=<>").
        if (!p.has_value || p.value.size() > kMaxOrcpt || !mail::xtext_decode(p.value))
          return bad_value(p.keyword);
        out.has_auth = true;
        break;
    }
  }
  if (out.has_size && out.size > max_size)
    return "552 5.3.4 Message size exceeds fixed maximum message size";
  return {};
}

std::string parse_rcpt_params(std::string_view params, bool esmtp, Recipient& out) {
  std::vector<EsmtpParam> list;
  if (!split_esmtp_params(params, list)) return "555 5.5.4 Error: malformed parameter";
  bool seen_notify = false, seen_orcpt = false;
  for (const auto& p : list) {
    if (!esmtp) return unsupported(p.keyword);
    if (iequals(p.keyword, "NOTIFY")) {
      if (seen_notify) return duplicate(p.keyword);
      seen_notify = true;
      // NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" )
      constexpr const char* kBad = "501 5.5.4 Error: Bad NOTIFY parameter syntax";
      if (!p.has_value) return kBad;
      uint8_t bits = 0;
      std::string_view v = p.value;
      while (true) {
        size_t comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        if (iequals(item, "NEVER")) bits |= kNotifyNever;
        else if (iequals(item, "SUCCESS")) bits |= kNotifySuccess;
        else if (iequals(item, "FAILURE")) bits |= kNotifyFailure;
        else if (iequals(item, "DELAY")) bits |= kNotifyDelay;
        else return kBad;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
      if ((bits & kNotifyNever) && bits != kNotifyNever) return kBad;
      out.notify = bits;
    } else if (iequals(p.keyword, "ORCPT")) {
      if (seen_orcpt) return duplicate(p.keyword);
      seen_orcpt = true;
      // ORCPT = addr-type ";" xtext, addr-type an atom (usually "rfc822")
      constexpr const char* kBad = "501 5.5.4 Error: Bad ORCPT parameter syntax";
      if (!p.has_value || p.value.size() > kMaxOrcpt) return kBad;
      size_t semi = p.value.find(';');
      if (semi == 0 || semi == std::string_view::npos) return kBad;
      for (char c : p.value.substr(0, semi))
        if (!is_alnum(c) && c != '-') return kBad;
      auto decoded = mail::xtext_decode(p.value.substr(semi + 1));
      if (!decoded || decoded->empty()) return kBad;
      out.orcpt.assign(p.value.substr(0, semi + 1));
      out.orcpt += *decoded;
    } else {
      return unsupported(p.keyword);
    }
  }
  return {};
}

std::optional<BdatArgs> parse_bdat_args(std::string_view arg) {
  BdatArgs a;
  size_t sp = arg.find_first_of(" \t");
  auto n = parse_u64(arg.substr(0, sp));
  if (!n) return std::nullopt;
  a.size = *n;
  if (sp != std::string_view::npos) {
    std::string_view rest = trim(arg.substr(sp));
    if (!iequals(rest, "LAST")) return std::nullopt;
    a.last = true;
  }
  return a;
}

}  // namespace ringmta::smtp
