// proto/smtp/server_session_envelope.cpp — the envelope commands of the SMTP
// server session: EHLO/HELO (and the extensions it advertises), MAIL FROM and
// RCPT TO with their checks (syntax, SMTPUTF8, sender ownership, relaying,
// sender-specified routing from strangers, recipient limit) and what the
// domainless <postmaster> means.
//
// Its own file because these are the policy decisions about who may send
// what to whom; the byte loop in server_session.cpp only dispatches to them.
// The ESMTP parameters themselves are parsed in command.cpp.
#include <string>
#include <utility>

#include "mail/address.h"
#include "proto/smtp/server_session_impl.h"

namespace ringmta::smtp {

void ServerSession::Impl::reset_transaction() {
  // swap, not assign: move-assigning from empty strings keeps the old
  // (possibly message-sized) buffers alive in libstdc++.
  Transaction fresh;
  std::swap(txn, fresh);
  txn.helo = helo;
  txn.esmtp = esmtp;
  txn.auth_identity = auth_user;
  mail_ok = false;
  rcpt_rejected = 0;
  bdat_used = false;
  bdat_size = 0;
}

void ServerSession::Impl::cmd_hello(const CommandLine& c, bool extended) {
  if (c.arg.empty()) {
    error(extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
    return;
  }
  greeted = true;
  helo.assign(c.arg);
  esmtp = extended;
  reset_transaction();
  if (!extended) {
    reply("250 " + cfg->hostname);
    return;
  }
  out += "250-" + cfg->hostname + "\r\n";
  out += "250-PIPELINING\r\n";
  out += "250-SIZE " + std::to_string(cfg->max_message_size) + "\r\n";
  if (client.starttls_available && !client.tls_active) out += "250-STARTTLS\r\n";
  out += "250-8BITMIME\r\n";
  out += "250-ENHANCEDSTATUSCODES\r\n";
  out += "250-SMTPUTF8\r\n";
  out += "250-CHUNKING\r\n";
  if (auth_offered()) out += "250-AUTH PLAIN LOGIN\r\n";
  out += "250 DSN\r\n";
}

void ServerSession::Impl::cmd_mail(const CommandLine& c) {
  if (!greeted) return error("503 5.5.1 Error: send HELO/EHLO first");
  if (mail_ok) return error("503 5.5.1 Error: nested MAIL command");
  if (client.auth_required && auth_user.empty()) return error("530 5.7.0 Authentication required");
  auto rest = strip_path_prefix(c.arg, "FROM:");
  if (!rest || rest->empty()) return error("501 5.5.4 Syntax: MAIL FROM:<address>");
  mail::PathOptions po;
  po.allow_null = true;
  po.allow_utf8 = true;  // decided below, once SMTPUTF8 is known
  // A source route (<@a,@b:user@dom>) is accepted and ignored, from anyone:
  // parse_path() checks and drops it and the mailbox alone is the sender
  // (RFC 5321 §4.1.2 and appendix C: servers SHOULD ignore the route).
  mail::PathResult path = mail::parse_path(*rest, po);
  if (path.status != mail::AddressStatus::Ok) return error("501 5.1.7 Bad sender address syntax");
  MailParams mp;
  std::string err = parse_mail_params(rest->substr(path.consumed), esmtp,
                                      cfg->max_message_size, mp);
  if (!err.empty()) return error(err);
  if (mp.has_auth && !auth_offered()) return error("555 5.5.4 Unsupported option: AUTH");
  if (path.non_ascii && !mp.smtputf8)
    return error("553 5.6.7 Error: non-ASCII address requires SMTPUTF8");
  if (cfg->sender_login_match && !auth_user.empty() && !path.address.empty() &&
      !sender_owned(path.address))
    return error("553 5.7.1 <" + sanitize(path.address) +
                 ">: Sender address rejected: not owned by user " + sanitize(auth_user));
  // No new mail while the queue's disk is nearly full (limits/disk_guard.h).
  // A temporary condition of ours, not the client's error: not counted
  // toward max_errors, so a client that retries is not disconnected for it.
  if (hooks.storage_low && hooks.storage_low()) return reply("452 4.3.1 Insufficient system storage");
  reset_transaction();
  mail_ok = true;
  txn.sender = std::move(path.address);
  txn.declared_size = mp.size;
  txn.body = mp.body;
  txn.smtputf8 = mp.smtputf8;
  txn.ret = mp.ret;
  txn.envid = std::move(mp.envid);
  reply("250 2.1.0 Ok");
}

// Neither inside relay.trusted_networks nor authenticated: the strict
// address policy applies.
bool ServerSession::Impl::stranger() const { return !client.trusted && auth_user.empty(); }

bool ServerSession::Impl::relay_allowed(std::string_view address) const {
  if (!stranger()) return true;
  std::string_view domain = mail::domain_of(address);
  for (const auto& d : cfg->local_domains)
    if (mail::domain_equal(domain, d)) return true;
  return false;
}

// What RCPT TO:<postmaster> (no domain; RFC 5321 §4.5.1 says it must be
// accepted, from anyone) is delivered to. Documented choice:
//  * postmaster@<server.hostname> when the hostname is one of the local domains;
//  * else postmaster@<the first relay.local_domains entry> — a domain this
//    relay accepts mail for, so it reaches the organisation's postmaster. The
//    hostname alone would usually resolve (MX/A) to this relay itself and
//    loop, or go to whatever the hostname's DNS names;
//  * with no local domains at all, postmaster@<server.hostname>, routed like
//    any other mail (a relayhost or route decides where it goes).
std::string ServerSession::Impl::postmaster_address() const {
  const auto& locals = cfg->local_domains;
  for (const auto& d : locals)
    if (mail::domain_equal(d, cfg->hostname)) return "postmaster@" + cfg->hostname;
  return "postmaster@" + (locals.empty() ? cfg->hostname : locals.front());
}

void ServerSession::Impl::cmd_rcpt(const CommandLine& c) {
  if (!mail_ok) return error("503 5.5.1 Error: need MAIL command");
  // Every failure below leaves a transaction without this recipient.
  auto fail = [&](std::string_view line) {
    ++rcpt_rejected;
    error(line);
  };
  auto rest = strip_path_prefix(c.arg, "TO:");
  if (!rest || rest->empty()) return fail("501 5.5.4 Syntax: RCPT TO:<address>");
  Recipient r;
  size_t consumed;
  bool postmaster = false;
  bool non_ascii = false;
  bool routed = false;  // sender-specified routing: a source route, or %, ! or a quoted @
  // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain, any case.
  constexpr std::string_view kPm = "<postmaster>";
  if (rest->size() >= kPm.size() && iequals(rest->substr(0, kPm.size()), kPm) &&
      (rest->size() == kPm.size() || (*rest)[kPm.size()] == ' ')) {
    postmaster = true;
    consumed = kPm.size();
    r.address = postmaster_address();
  } else {
    mail::PathOptions po;
    po.allow_utf8 = true;
    mail::PathResult path = mail::parse_path(*rest, po);
    if (path.status != mail::AddressStatus::Ok)
      return fail("501 5.1.3 Bad recipient address syntax");
    consumed = path.consumed;
    non_ascii = path.non_ascii;
    routed = path.source_route || mail::has_routing_local_part(path.address);
    r.address = std::move(path.address);
  }
  std::string err = parse_rcpt_params(rest->substr(consumed), esmtp, r);
  if (!err.empty()) return fail(err);
  if (non_ascii && !txn.smtputf8)
    return fail("553 5.6.7 Error: non-ASCII address requires SMTPUTF8");
  if (txn.recipients.size() >= cfg->max_recipients) {
    ++rcpt_rejected;
    reply("452 4.5.3 Error: too many recipients");  // not counted: a server limit
    return;
  }
  // Postfix's allow_untrusted_routing = no: a stranger may not ask us to
  // forward mail by the address's own routing, even at a local domain — a
  // downstream host that honours "%" routing (user%host@relay), a UUCP
  // path, a quoted "@" or a source route would send it anywhere, making us
  // an open relay by proxy.
  // Trusted and authenticated clients keep them (the route is dropped).
  if (routed && stranger())
    return fail("550 5.7.1 <" + r.address +
                ">: Relay access denied: sender-specified routing is not allowed");
  if (!postmaster && !relay_allowed(r.address))
    return fail("550 5.7.1 <" + r.address + ">: Relay access denied");
  if (hooks.check_recipient) {
    RecipientCheck check = hooks.check_recipient(r.address, txn.declared_size);
    if (!check.reply.empty()) {
      if (check.reply[0] == '5') return fail(check.reply);
      ++rcpt_rejected;
      reply(check.reply);  // a temporary refusal is not the client's error
      return;
    }
    if (!check.addresses.empty()) return add_expanded(std::move(r), check.addresses);
  }
  txn.recipients.push_back(std::move(r));
  reply("250 2.1.5 Ok");
}

// An accepted RCPT that stands for other addresses (an alias, user+tag):
// each is queued once per transaction, with an ORCPT naming what the client
// asked for (RFC 3461 §4.2: the original recipient, kept across expansion).
void ServerSession::Impl::add_expanded(Recipient r, const std::vector<std::string>& addresses) {
  std::vector<Recipient> added;
  for (const std::string& a : addresses) {
    bool seen = false;
    for (const Recipient& have : txn.recipients) seen |= have.address == a;
    for (const Recipient& have : added) seen |= have.address == a;
    if (seen) continue;
    Recipient x;
    x.address = a;
    x.notify = r.notify;
    x.orcpt = !r.orcpt.empty() ? r.orcpt : a == r.address ? std::string() : "rfc822;" + r.address;
    added.push_back(std::move(x));
  }
  if (txn.recipients.size() + added.size() > cfg->max_recipients) {
    ++rcpt_rejected;
    reply("452 4.5.3 Error: too many recipients");
    return;
  }
  for (Recipient& x : added) txn.recipients.push_back(std::move(x));
  reply("250 2.1.5 Ok");
}

}  // namespace ringmta::smtp
