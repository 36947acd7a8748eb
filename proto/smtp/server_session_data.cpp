// proto/smtp/server_session_data.cpp — the message body side of the SMTP
// server session: DATA and BDAT (RFC 3030), our Received: header, and
// commit_done(), which answers the end of the message once the queue wrote it.
//
// Its own file because it is the part that handles message-sized input and
// the body checks; the commands before it are in server_session_envelope.cpp.
//
// Documented choices (the brief left them open):
//  * DATA with no accepted recipient: "554 5.5.1 Error: no valid recipients"
//    when RCPT was tried and every one was rejected, "503 5.5.1 Error: need
//    RCPT command" when none was tried (Postfix does the same). BDAT alike,
//    after consuming its chunk.
//  * Bare CR / bare LF / NUL in DATA: the body is read to CRLF.CRLF (a bare
//    LF never ends it) and then rejected with 554 5.6.0 (SMTP smuggling
//    defence, cf. Postfix 3.9 smtpd_forbid_bare_newline). BDAT bodies get
//    the same rule and the same replies, at BDAT LAST (earlier chunks are
//    answered 250 as usual): their length is explicit here, but a stored
//    body leaves by DATA when the next hop has no CHUNKING, and a bare CR or
//    LF there is exactly the ambiguity smuggling uses. One rule for both
//    means every queued body has CRLF line ends only and no NUL.
//  * Mail loops: at the end of DATA / BDAT LAST the client's header section
//    (txn.message after our own Received:, which is not counted) may hold at
//    most max_hops Received: fields; more is "554 5.4.6 Too many hops" and
//    nothing is queued (RFC 5321 §6.3; Postfix's hopcount_limit).
//  * BDAT with a malformed size: 501 5.5.4 and Close — the chunk length is
//    unknown, so the byte stream cannot be resynchronised.
//  * The Received: header is built when DATA/BDAT starts (queue id and date
//    are taken then), so the body is appended once and never moved.
#include <algorithm>
#include <string>
#include <utility>

#include "mail/datetime.h"
#include "mail/headers.h"
#include "proto/smtp/server_session_impl.h"

namespace ringmta::smtp {

// Printable ASCII only, for client text echoed into our header.
std::string ServerSession::Impl::sanitize(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return r;
}

// Queue id + our Received: header, at the start of DATA/the first BDAT.
void ServerSession::Impl::begin_message() {
  txn.queue_id = hooks.new_queue_id ? hooks.new_queue_id() : std::string("NOQUEUE");
  const int64_t now = hooks.now_unix ? hooks.now_unix() : 0;
  // RFC 3848 / RFC 6531 protocol names: ESMTP + S (TLS) + A (AUTH).
  std::string with = !esmtp ? "SMTP" : txn.smtputf8 ? "UTF8SMTP" : "ESMTP";
  if (esmtp && client.tls_active) with += 'S';
  if (esmtp && !auth_user.empty()) with += 'A';
  std::string& m = txn.message;
  m.clear();
  m += "Received: from ";
  m += sanitize(helo);
  m += " ([";
  m += sanitize(client.address);
  m += "])\r\n\tby ";
  m += cfg->hostname;
  m += " (ringmta) with ";
  m += with;
  if (client.tls_active && !tls_info.empty()) {
    m += " (";
    m += sanitize(tls_info);
    m += ")";
  }
  m += " id ";
  m += txn.queue_id;
  if (txn.recipients.size() == 1) {
    m += "\r\n\tfor <";
    m += txn.recipients.front().address;
    m += ">";
  }
  m += "; ";
  m += mail::rfc5322_date(now);
  m += "\r\n";
  client_start = m.size();
  bdat_check.reset();
}

// The reply for DATA/BDAT when no recipient was accepted ("" if some were).
std::string ServerSession::Impl::no_recipient_reply() const {
  if (!mail_ok) return "503 5.5.1 Error: need MAIL command";
  if (!txn.recipients.empty()) return {};
  if (rcpt_rejected > 0) return "554 5.5.1 Error: no valid recipients";
  return "503 5.5.1 Error: need RCPT command";
}

void ServerSession::Impl::cmd_data(const CommandLine& c) {
  if (!c.arg.empty()) return error("501 5.5.4 Syntax: DATA");
  if (std::string e = no_recipient_reply(); !e.empty()) return error(e);
  if (bdat_used) return error("503 5.5.1 Error: DATA not allowed after BDAT");
  begin_message();
  decoder.reset(cfg->max_message_size);
  phase = Phase::Data;
  commit_announced = false;
  reply("354 End data with <CR><LF>.<CR><LF>");
}

void ServerSession::Impl::cmd_bdat(const CommandLine& c) {
  auto args = parse_bdat_args(c.arg);
  if (!args) {
    reply("501 5.5.4 Syntax: BDAT chunk-size [LAST]");
    close();
    return;
  }
  bdat_reject = no_recipient_reply();
  bdat_reset = false;
  if (bdat_reject.empty() && (args->size > cfg->max_message_size ||
                              bdat_size + args->size > cfg->max_message_size)) {
    bdat_reject = "552 5.3.4 Message size exceeds fixed maximum message size";
    bdat_reset = true;
  }
  if (bdat_reject.empty() && !bdat_used) {
    bdat_used = true;
    begin_message();
  }
  bdat_remaining = chunk_size_ = args->size;
  bdat_last = args->last;
  phase = Phase::Bdat;
  commit_announced = false;
  if (bdat_remaining == 0) finish_bdat();
}

// The reply refusing a complete body, or nullptr to commit it. Checked in
// this order: content (NUL, bare CR/LF), then the hop count.
const char* ServerSession::Impl::end_of_body_reject(bool nul, bool bare_newline) const {
  if (nul) return "554 5.6.0 Message contains NUL characters";
  if (bare_newline) return "554 5.6.0 Message contains bare CR or LF (lines must end with CRLF)";
  std::string_view client_part(txn.message);
  client_part.remove_prefix(std::min(client_start, client_part.size()));
  if (mail::count_header_fields(client_part, "Received", cfg->max_hops) > cfg->max_hops)
    return "554 5.4.6 Too many hops";
  return nullptr;
}

void ServerSession::Impl::finish_bdat() {
  phase = Phase::Command;
  if (!bdat_reject.empty()) {
    std::string r = std::move(bdat_reject);
    bdat_reject.clear();
    if (bdat_reset) reset_transaction();
    error(r);
    return;
  }
  // The chunk is the last chunk_size_ bytes of the message.
  bdat_check.feed(std::string_view(txn.message).substr(txn.message.size() - chunk_size_));
  if (bdat_last) {
    bdat_check.finish();
    if (const char* reject = end_of_body_reject(bdat_check.has_nul(), bdat_check.bare_newline())) {
      reset_transaction();
      error(reject);
      return;
    }
    phase = Phase::AwaitCommit;
    return;
  }
  // bdat_size already includes this chunk.
  reply("250 2.0.0 " + std::to_string(chunk_size_) + " octets received");
}

void ServerSession::Impl::finish_data() {
  phase = Phase::Command;
  const char* reject = nullptr;
  if (decoder.oversize()) reject = "552 5.3.4 Message size exceeds fixed maximum message size";
  else reject = end_of_body_reject(decoder.has_nul(), decoder.bare_newline());
  if (reject) {
    reset_transaction();
    error(reject);
    return;
  }
  phase = Phase::AwaitCommit;
}

Action ServerSession::commit_done(bool ok, std::string_view error_reply) {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitCommit) return s.result();
  if (ok) {
    s.reply("250 2.0.0 Ok: queued as " + s.txn.queue_id);
  } else {
    s.reply(error_reply.empty() ? std::string_view("451 4.3.0 Error: queue file write error")
                                : error_reply);
  }
  s.phase = Phase::Command;
  s.reset_transaction();
  s.check_shutdown();
  s.run_buffered();
  return s.result();
}

}  // namespace ringmta::smtp
