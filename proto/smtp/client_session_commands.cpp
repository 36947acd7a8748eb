// proto/smtp/client_session_commands.cpp — the sending side of an outbound
// transaction: the local checks before anything is sent (addresses, SIZE,
// SMTPUTF8, BINARYMIME), the MAIL and RCPT commands with their ESMTP/DSN
// parameters, the (pipelined or step-by-step) command order, and the body:
// dot-stuffed after DATA, or counted and sent raw after BDAT.
//
// Its own file because it decides what goes on the wire — the part that must
// never let an address or parameter inject a command — apart from the reply
// handlers in client_session.cpp.
#include <algorithm>
#include <string>
#include <utility>

#include "mail/xtext.h"
#include "proto/smtp/client_session_impl.h"

namespace ringmta::smtp {

namespace {

// An address we can put between <> without letting it inject a command.
bool safe_address(std::string_view a) {
  for (unsigned char c : a)
    if (c < 0x20 || c == 0x7f || c == '<' || c == '>') return false;
  return a.size() <= 1024;
}

bool is_atom(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool has_8bit(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

// Does this SMTPUTF8 transaction really need SMTPUTF8 (RFC 6531 §3.2)? Only
// if an envelope address or the header section holds non-ASCII; an 8-bit
// body alone is 8BITMIME's business. Lets all-ASCII mail that merely came in
// with SMTPUTF8 go to servers without it, as Postfix does.
bool needs_smtputf8(const OutboundEnvelope& e, std::string_view message) {
  if (has_8bit(e.sender)) return true;
  for (const auto& r : e.recipients)
    if (has_8bit(r.address) || has_8bit(r.orcpt)) return true;
  size_t end = message.find("\r\n\r\n");
  if (end == std::string_view::npos) end = message.find("\n\n");
  return has_8bit(message.substr(0, end));
}

std::string notify_param(uint8_t n) {
  if (n & kNotifyNever) return "NEVER";
  std::string out;
  auto add = [&](const char* w) { out += out.empty() ? w : std::string(",") + w; };
  if (n & kNotifySuccess) add("SUCCESS");
  if (n & kNotifyFailure) add("FAILURE");
  if (n & kNotifyDelay) add("DELAY");
  return out;
}

}  // namespace

namespace client_detail {

namespace {

// Where a line of `msg` begins as we send it: at the start, after an LF, or
// after a bare CR (which goes out as CRLF). The middle of a CRLF is not one.
bool at_line_start(std::string_view msg, size_t pos) {
  if (pos == 0 || msg[pos - 1] == '\n') return true;
  return msg[pos - 1] == '\r' && msg[pos] != '\n';
}

// The next piece of `msg` as a canonical SMTP body, appended to `out` until
// it holds `limit` bytes; `pos` is where the previous piece stopped. Returns
// true once the whole message is out. Canonical whatever the stored bytes:
//  * every line ends in CRLF — a bare LF and a bare CR each become CRLF, so
//    no receiver can find a line end (and so an end-of-data ".") where we
//    sent none, whichever of CR, LF or CRLF it takes as one (SMTP smuggling);
//  * for DATA, dot-stuffing (RFC 5321 §4.5.2) at every such line start, and a
//    line that starts with NUL is stuffed too: a receiver that drops NULs
//    must not see a lone "." where "\0." was sent;
//  * a missing final line end is added.
// The server side refuses non-canonical bodies on the way in, so this matters
// for bytes that reached the queue another way; it is cheap for canonical
// mail (memchr for LF, then for CR within the line). Pieces keep a
// connection's memory bounded for big messages; the search window is bounded
// too, so a huge line stays linear.
bool append_piece(std::string& out, std::string_view msg, size_t& pos, size_t limit, bool dot_stuff) {
  while (out.size() < limit && pos < msg.size()) {
    if (dot_stuff && at_line_start(msg, pos) && (msg[pos] == '.' || msg[pos] == '\0')) out += '.';
    std::string_view window = msg.substr(pos, std::max<size_t>(limit - out.size(), 1));
    size_t end = window.find('\n');
    const size_t cr = window.substr(0, end).find('\r');
    if (cr != std::string_view::npos) end = cr;
    if (end == std::string_view::npos) {  // no line end in the window
      out.append(window);
      pos += window.size();
      continue;
    }
    out.append(window.substr(0, end));
    pos += end;
    // msg[pos] is CR or LF; look past the window for the LF of a CRLF.
    if (msg[pos] == '\r' && pos + 1 < msg.size() && msg[pos + 1] == '\n') ++pos;
    ++pos;
    out += "\r\n";
  }
  if (pos < msg.size()) return false;
  if (!msg.empty() && msg.back() != '\n' && msg.back() != '\r') out += "\r\n";  // add a missing line end
  return true;
}

}  // namespace

bool append_dot_stuffed(std::string& out, std::string_view msg, size_t& pos, size_t limit) {
  if (!append_piece(out, msg, pos, limit, true)) return false;
  out += ".\r\n";
  return true;
}

bool append_crlf_normalized(std::string& out, std::string_view msg, size_t& pos, size_t limit) {
  return append_piece(out, msg, pos, limit, false);
}

// What append_crlf_normalized() will produce in all: every bare LF gains a
// CR, every bare CR an LF, and a missing final line end is added.
uint64_t crlf_normalized_size(std::string_view msg) {
  uint64_t n = msg.size();
  for (size_t i = msg.find('\n'); i != std::string_view::npos; i = msg.find('\n', i + 1))
    if (i == 0 || msg[i - 1] != '\r') ++n;
  for (size_t i = msg.find('\r'); i != std::string_view::npos; i = msg.find('\r', i + 1))
    if (i + 1 == msg.size() || msg[i + 1] != '\n') ++n;
  if (!msg.empty() && msg.back() != '\n' && msg.back() != '\r') n += 2;
  return n;
}

}  // namespace client_detail

std::string ClientSession::Impl::mail_command() const {
  const OutboundEnvelope& env = txn->env;
  std::string cmd = "MAIL FROM:<" + env.sender + ">";
  if (caps.size) cmd += " SIZE=" + std::to_string(env.size ? env.size : txn->message.size());
  if (caps.eightbitmime) {
    if (env.body == BodyType::EightBitMime) cmd += " BODY=8BITMIME";
    else if (env.body == BodyType::SevenBit) cmd += " BODY=7BIT";
  }
  if (env.smtputf8 && caps.smtputf8) cmd += " SMTPUTF8";
  if (caps.dsn) {
    if (env.ret == Ret::Full) cmd += " RET=FULL";
    else if (env.ret == Ret::Headers) cmd += " RET=HDRS";
    if (!env.envid.empty()) cmd += " ENVID=" + mail::xtext_encode(env.envid);
  }
  return cmd;
}

std::string ClientSession::Impl::rcpt_command(const Recipient& rc) const {
  std::string cmd = "RCPT TO:<" + rc.address + ">";
  if (caps.dsn) {
    if (rc.notify) cmd += " NOTIFY=" + notify_param(rc.notify);
    if (!rc.orcpt.empty()) {
      size_t semi = rc.orcpt.find(';');
      std::string_view type = semi == std::string::npos ? "rfc822" : std::string_view(rc.orcpt).substr(0, semi);
      std::string_view addr = semi == std::string::npos ? rc.orcpt : std::string_view(rc.orcpt).substr(semi + 1);
      // The address is xtext-encoded; the type goes out raw, so it must be
      // an atom (RFC 3461 §4.2 addr-type) or the parameter is dropped.
      if (is_atom(type)) cmd += " ORCPT=" + std::string(type) + ";" + mail::xtext_encode(addr);
    }
  }
  return cmd;
}

void ClientSession::Impl::send_mail() { send(mail_command(), Cmd::Mail); }

// Non-pipelined: the next recipient still to try, else DATA, else done.
void ClientSession::Impl::send_next_rcpt_or_data() {
  while (txn->next_rcpt < txn->res.size() && txn->res[txn->next_rcpt]) ++txn->next_rcpt;
  if (txn->next_rcpt < txn->res.size()) {
    size_t i = txn->next_rcpt++;
    return send(rcpt_command(txn->env.recipients[i]), Cmd::Rcpt, i);
  }
  if (txn->n_accepted > 0) return send_body_command();
  need_rset = true;
  finish();
}

// DATA, or BDAT <n> LAST with the body streamed right behind it (take_output
// hands it out piece by piece, as after a 354).
void ClientSession::Impl::send_body_command() {
  if (!txn->chunking) return send("DATA", Cmd::Data);
  send("BDAT " + std::to_string(crlf_normalized_size(txn->message)) + " LAST", Cmd::Bdat);
  streaming = true;
  body_pos = 0;
  data_flushed = false;
}

ClientAction ClientSession::Impl::start(OutboundEnvelope env, std::string_view message) {
  if (!(mode == Mode::Idle && expect.empty() && !txn)) {
    // Misuse by the glue; still honour "one result per recipient".
    Stage st = stage();
    TransactionResult tr;
    tr.remote_dsn = caps.dsn;
    tr.recipients.assign(env.recipients.size(),
                         local_result(Outcome::TempFail, 451, "4.3.0",
                                      "session not ready for a transaction (stage " +
                                          std::string(to_string(st)) + ")",
                                      st));
    results.push_back(std::move(tr));
    return action();
  }
  Txn t;
  t.res.resize(env.recipients.size());
  t.accepted.assign(env.recipients.size(), false);
  t.env = std::move(env);
  t.message = message;
  txn = std::move(t);
  mode = Mode::Txn;
  const OutboundEnvelope& e = txn->env;
  uint64_t size = e.size ? e.size : message.size();

  auto fail_all = [&](Outcome o, int code, const char* enh, std::string text, Stage st) {
    RecipientResult res = local_result(o, code, enh, std::move(text), st);
    for (auto& slot : txn->res)
      if (!slot) slot = res;
    finish();
    return action();
  };
  if (!safe_address(e.sender))
    return fail_all(Outcome::PermFail, 553, "5.1.7", "invalid sender address", Stage::Mail);
  if (e.body == BodyType::BinaryMime)
    return fail_all(Outcome::PermFail, 554, "5.6.3", "BINARYMIME is not supported for relay",
                    Stage::Mail);
  if (e.smtputf8 && !caps.smtputf8 && needs_smtputf8(e, message))
    return fail_all(Outcome::PermFail, 553, "5.6.7",
                    "SMTPUTF8 is required, but was not offered by host " + caps.remote_name, Stage::Mail);
  if (caps.size && caps.size_limit > 0 && size > caps.size_limit)
    return fail_all(Outcome::PermFail, 552, "5.3.4",
                    "message size " + std::to_string(size) + " exceeds size limit " +
                        std::to_string(caps.size_limit) + " of host " + caps.remote_name,
                    Stage::Mail);
  size_t sendable = 0;
  for (size_t i = 0; i < e.recipients.size(); ++i) {
    if (!safe_address(e.recipients[i].address) || e.recipients[i].address.empty())
      txn->res[i] = local_result(Outcome::PermFail, 553, "5.1.3", "invalid recipient address", Stage::Rcpt);
    else
      ++sendable;
  }
  if (sendable == 0) {
    finish();
    return action();
  }

  txn->pipelined = caps.pipelining && cfg.use_pipelining;
  txn->chunking = caps.chunking && cfg.use_chunking;
  if (txn->pipelined) {
    // RFC 2920 §3.1: RSET, MAIL, every RCPT and DATA in one write; RFC 3030
    // §4: with BDAT the body may follow in the same write too.
    if (need_rset) send("RSET", Cmd::Rset);
    send_mail();
    for (size_t i = 0; i < e.recipients.size(); ++i)
      if (!txn->res[i]) send(rcpt_command(e.recipients[i]), Cmd::Rcpt, i);
    send_body_command();
  } else if (need_rset) {
    send("RSET", Cmd::Rset);  // MAIL follows its 250
  } else {
    send_mail();
  }
  return action();
}

}  // namespace ringmta::smtp
