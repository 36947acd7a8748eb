// proto/smtp/client_session.cpp — SMTP client state machine (see client_session.h).
//
// Every command written pushes an Expect onto a FIFO; every complete reply
// pops the oldest one and goes to the handler for that command. Pipelining
// is therefore just "write several commands before the replies come back":
// the handlers are the same in both modes, only the non-pipelined path sends
// the next command from the handler. A transaction's recipients collect one
// RecipientResult each; finish() hands them out when the transaction ends,
// and close_with() fills in whatever is left when the connection dies.
//
// Split (one state struct, client_session_impl.h): this file is the
// reply-driven part — replies in, one handler per command, the public calls;
// client_session_commands.cpp builds and sends a transaction's commands,
// client_session_results.cpp keeps the per-recipient bookkeeping.
#include "proto/smtp/client_session.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <utility>

#include "base/text.h"
#include "proto/smtp/client_session_impl.h"

namespace ringmta::smtp {

namespace {

std::string_view first_word(std::string_view s) { return s.substr(0, s.find(' ')); }

Capabilities parse_ehlo(const Reply& r) {
  Capabilities caps;
  caps.esmtp = true;
  if (!r.lines.empty()) caps.remote_name = std::string(first_word(r.lines[0]));
  for (size_t i = 1; i < r.lines.size(); ++i) {
    std::string_view line = r.lines[i];
    std::string kw = base::to_upper_ascii(first_word(line));
    std::string_view args = line.size() > kw.size() ? line.substr(kw.size() + 1) : std::string_view{};
    caps.keywords.push_back(kw + (args.empty() ? "" : " " + std::string(args)));
    if (kw == "PIPELINING") caps.pipelining = true;
    else if (kw == "8BITMIME") caps.eightbitmime = true;
    else if (kw == "BINARYMIME") caps.binarymime = true;
    else if (kw == "SMTPUTF8") caps.smtputf8 = true;
    else if (kw == "DSN") caps.dsn = true;
    else if (kw == "STARTTLS") caps.starttls = true;
    else if (kw == "CHUNKING") caps.chunking = true;
    else if (kw == "ENHANCEDSTATUSCODES") caps.enhancedstatuscodes = true;
    else if (kw == "SIZE") {
      caps.size = true;
      uint64_t n = 0;
      std::string_view num = first_word(args);
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
      caps.size_limit = (ec == std::errc() && p == num.data() + num.size()) ? n : 0;
    } else if (kw == "AUTH") {
      while (!args.empty()) {
        std::string_view m = first_word(args);
        if (!m.empty()) caps.auth.push_back(base::to_upper_ascii(m));
        args.remove_prefix(std::min(args.size(), m.size() + 1));
      }
    }
  }
  return caps;
}

}  // namespace

Stage ClientSession::Impl::stage() const {
  if (mode == Mode::Closed) return Stage::Closed;
  if (mode == Mode::TlsHandshake) return Stage::StartTls;
  if (expect.empty()) return Stage::Idle;
  switch (expect.front().cmd) {
    case Cmd::Greeting: return Stage::Greeting;
    case Cmd::Ehlo: return Stage::Ehlo;
    case Cmd::Helo: return Stage::Helo;
    case Cmd::StartTls: return Stage::StartTls;
    case Cmd::Rset: return Stage::Rset;
    case Cmd::Mail: return Stage::Mail;
    case Cmd::Rcpt: return Stage::Rcpt;
    case Cmd::Data: return Stage::DataInit;
    case Cmd::Dot:
    case Cmd::Bdat: return data_flushed ? Stage::EndOfData : Stage::DataBlock;
    case Cmd::Quit: return Stage::Quit;
  }
  return Stage::Idle;
}

ClientAction ClientSession::Impl::feed(std::string_view in) {
  // During the TLS handshake the bytes belong to TLS, not to us; anything
  // that still arrives here was sent in clear text after "220": ignore it.
  if (mode == Mode::TlsHandshake) return action();
  while (mode != Mode::Closed && !in.empty()) {
    ReplyParser::Status s = parser.feed(in);
    if (s == ReplyParser::Status::NeedMore) break;
    if (s == ReplyParser::Status::Error) {
      protocol_error(parser.error());
      break;
    }
    Reply r = parser.take();
    if (expect.empty()) {
      // Unsolicited: a 421 before an idle close is normal, anything else is not.
      if (r.code == 421) close_with(from_reply(r, stage()), false);
      else protocol_error("unexpected reply " + r.str());
      break;
    }
    Expect e = expect.front();
    if ((e.cmd == Cmd::Dot || e.cmd == Cmd::Bdat) && streaming) {
      // A reply before the body is out: the server gave up on the message
      // (552 too big, 421...). What we would still send could be taken as
      // commands, so the connection ends here. (With BDAT, replies to MAIL
      // and RCPT do arrive while the body streams; they are not this.)
      streaming = false;
      Stage st = stage();
      expect.pop_front();
      if (r.positive() || r.intermediate()) {
        reply_stage = st;
        protocol_error("reply before end of data: " + r.str());
        reply_stage.reset();
      } else {
        RecipientResult res = from_reply(r, st);
        for (size_t i = 0; txn && i < txn->res.size(); ++i)
          if (txn->accepted[i] && !txn->res[i]) txn->res[i] = res;
        close_with(res, false);
      }
      break;
    }
    if (e.cmd == Cmd::Dot || e.cmd == Cmd::Bdat) data_flushed = true;  // a reply means the body went out
    Stage st = stage();
    expect.pop_front();
    if (r.code == 421 && e.cmd != Cmd::Quit) {
      close_with(from_reply(r, st), false);
      break;
    }
    reply_stage = st;
    handle(e, r, st);
    reply_stage.reset();
    if (mode == Mode::TlsHandshake) {
      // Bytes after the 220 to STARTTLS were sent in clear text before the
      // handshake: never let them count as protected replies (CVE-2011-0411
      // style injection). Drop them.
      parser.reset();
      break;
    }
  }
  return action();
}

void ClientSession::Impl::handle(const Expect& e, const Reply& r, Stage st) {
  switch (e.cmd) {
    case Cmd::Greeting: return on_greeting(r);
    case Cmd::Ehlo: return on_ehlo(r);
    case Cmd::Helo: return on_helo(r);
    case Cmd::StartTls: return on_starttls(r);
    case Cmd::Rset: return on_rset(r);
    case Cmd::Mail: return on_mail(r);
    case Cmd::Rcpt: return on_rcpt(e.index, r);
    case Cmd::Data: return on_data(r);
    case Cmd::Dot: return on_dot(r);
    case Cmd::Bdat: return on_bdat(r);
    case Cmd::Quit:
      expect.clear();
      mode = Mode::Closed;
      return;
  }
}

// Refusal of the connection as a whole (greeting, EHLO/HELO): QUIT and close.
void ClientSession::Impl::refuse(const Reply& r, Stage st) {
  if (r.intermediate()) return protocol_error("unexpected reply " + r.str());
  close_with(from_reply(r, st), true);
}

// A server that names itself with our own host name is this daemon (or a
// twin configured with its name): whatever it accepts comes back here. The
// connection ends politely (QUIT) and the recipients fail for good with
// 5.4.6 (RFC 3463: routing loop detected), as Postfix's "greeted me with my
// own hostname". Returns true when that happened.
bool ClientSession::Impl::names_myself(std::string_view remote_name, Stage st) {
  const std::string& mine = cfg.own_hostname;
  if (mine.empty() || !base::iequals(remote_name, mine)) return false;
  const std::string how = st == Stage::Greeting ? "greeted me with my own hostname " : "replied to "
      + std::string(to_string(st)) + " with my own hostname ";
  close_with(local_result(Outcome::PermFail, 554, "5.4.6", "mail loops back to myself: the server " + how + mine, st),
             true);
  return true;
}

void ClientSession::Impl::on_greeting(const Reply& r) {
  if (!r.positive()) return refuse(r, Stage::Greeting);
  greeting = r.text();
  if (!r.lines.empty() && names_myself(first_word(r.lines[0]), Stage::Greeting)) return;
  send("EHLO " + cfg.hostname, Cmd::Ehlo);
}

void ClientSession::Impl::on_ehlo(const Reply& r) {
  if (r.permanent()) return send("HELO " + cfg.hostname, Cmd::Helo);  // pre-ESMTP server
  if (!r.positive()) return refuse(r, Stage::Ehlo);
  caps = parse_ehlo(r);
  if (names_myself(caps.remote_name, Stage::Ehlo)) return;
  mode = (cfg.offer_starttls && caps.starttls && !tls) ? Mode::TlsOffer : Mode::Idle;
}

void ClientSession::Impl::on_helo(const Reply& r) {
  if (!r.positive()) return refuse(r, Stage::Helo);
  caps = Capabilities{};
  if (!r.lines.empty()) caps.remote_name = std::string(first_word(r.lines[0]));
  if (names_myself(caps.remote_name, Stage::Helo)) return;
  mode = Mode::Idle;
}

void ClientSession::Impl::on_starttls(const Reply& r) {
  if (r.positive()) {
    mode = Mode::TlsHandshake;
    return;
  }
  if (r.intermediate()) return protocol_error("unexpected reply " + r.str());
  starttls_refusal = r.str();  // go on in clear text unless the glue quits
  mode = Mode::Idle;
}

void ClientSession::Impl::on_rset(const Reply& r) {
  if (!r.positive()) {
    // The remote cannot even reset: do not trust this connection further.
    RecipientResult res = from_reply(r, Stage::Rset);
    if (r.intermediate()) return protocol_error("unexpected reply " + r.str());
    return close_with(res, true);
  }
  need_rset = false;
  if (txn && !txn->pipelined) send_mail();
}

void ClientSession::Impl::on_mail(const Reply& r) {
  if (!txn) return protocol_error("reply without transaction");
  if (r.intermediate()) return protocol_error("unexpected reply to MAIL " + r.str());
  if (!r.positive()) {
    // Every recipient not already failed locally shares the MAIL refusal.
    txn->mail_failed = true;
    need_rset = true;
    RecipientResult res = from_reply(r, Stage::Mail);
    for (auto& slot : txn->res)
      if (!slot) slot = res;
    if (!txn->pipelined) finish();
    return;
  }
  if (!txn->pipelined) send_next_rcpt_or_data();
}

void ClientSession::Impl::on_rcpt(size_t i, const Reply& r) {
  if (!txn) return protocol_error("reply without transaction");
  if (r.intermediate()) return protocol_error("unexpected reply to RCPT " + r.str());
  if (txn->mail_failed) return;  // pipelined after a refused MAIL: result already set
  if (r.positive()) {
    txn->accepted[i] = true;
    ++txn->n_accepted;
  } else {
    RecipientResult res = from_reply(r, Stage::Rcpt);
    // RFC 5321 §4.5.3.1.10: 552 for "too many recipients" is to be treated
    // as temporary, like 452.
    if (r.code == 552) {
      res.outcome = Outcome::TempFail;
      res.enhanced[0] = '4';
    }
    txn->res[i] = res;
    // Too many recipients: without pipelining the rest are not tried now;
    // they fail temporarily and the caller retries them (e.g. on reuse).
    if (!txn->pipelined && (r.code == 452 || r.code == 552)) {
      for (size_t j = i + 1; j < txn->res.size(); ++j)
        if (!txn->res[j]) txn->res[j] = res;
      txn->next_rcpt = txn->res.size();
    }
  }
  if (!txn->pipelined) send_next_rcpt_or_data();
}

void ClientSession::Impl::on_data(const Reply& r) {
  if (!txn) return protocol_error("reply without transaction");
  if (r.positive()) return protocol_error("unexpected reply to DATA " + r.str());
  if (r.intermediate()) {
    data_flushed = false;
    if (txn->n_accepted > 0 && !txn->mail_failed) {
      streaming = true;  // take_output() hands out the body piece by piece
      body_pos = 0;
    } else {
      // RFC 2920 §3.1: 354 although no recipient was accepted — end the
      // (empty) message at once and ignore the outcome.
      out += ".\r\n";
      txn->ignore_dot = true;
    }
    expect.push_back({Cmd::Dot});
    return;
  }
  need_rset = true;
  if (!txn->mail_failed) {
    RecipientResult res = from_reply(r, Stage::DataInit);
    for (size_t i = 0; i < txn->res.size(); ++i)
      if (txn->accepted[i] && !txn->res[i]) txn->res[i] = res;
  }
  finish();
}

void ClientSession::Impl::on_dot(const Reply& r) {
  if (!txn) return protocol_error("reply without transaction");
  if (r.intermediate()) return protocol_error("unexpected reply to end of data " + r.str());
  need_rset = !r.positive();
  if (!txn->ignore_dot) {
    RecipientResult res = from_reply(r, Stage::EndOfData);
    for (size_t i = 0; i < txn->res.size(); ++i)
      if (txn->accepted[i] && !txn->res[i]) txn->res[i] = res;
  }
  finish();
}

// The reply to BDAT <n> LAST covers the whole message (RFC 3030 §2). The body
// went out even if MAIL or every RCPT was refused (pipelined); those
// recipients already have their result and the reply is only a formality.
void ClientSession::Impl::on_bdat(const Reply& r) {
  if (!txn) return protocol_error("reply without transaction");
  if (r.intermediate()) return protocol_error("unexpected reply to BDAT " + r.str());
  bool counts = !txn->mail_failed && txn->n_accepted > 0;
  need_rset = !r.positive() || !counts;
  if (counts) {
    RecipientResult res = from_reply(r, Stage::EndOfData);
    for (size_t i = 0; i < txn->res.size(); ++i)
      if (txn->accepted[i] && !txn->res[i]) txn->res[i] = res;
  }
  finish();
}

ClientSession::ClientSession(ClientConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
ClientSession::~ClientSession() = default;
ClientSession::ClientSession(ClientSession&&) noexcept = default;
ClientSession& ClientSession::operator=(ClientSession&&) noexcept = default;

ClientAction ClientSession::feed(std::string_view bytes) { return impl_->feed(bytes); }

ClientAction ClientSession::start_transaction(OutboundEnvelope envelope, std::string_view message) {
  return impl_->start(std::move(envelope), message);
}

ClientAction ClientSession::quit() {
  Impl& s = *impl_;
  if (s.mode == Mode::Closed) return s.action();
  if (s.txn || !s.expect.empty()) return s.abort_with("QUIT requested while busy", false);
  s.send("QUIT", Cmd::Quit);
  s.mode = Mode::Quitting;
  return s.action();
}

ClientAction ClientSession::on_timeout() { return impl_->abort_with("timeout", true); }
ClientAction ClientSession::on_disconnect() { return impl_->abort_with("lost connection", false); }
void ClientSession::output_written() { impl_->data_flushed = !impl_->streaming && impl_->out.empty(); }

ClientAction ClientSession::starttls() {
  Impl& s = *impl_;
  if (s.mode != Mode::TlsOffer) return s.action();
  s.send("STARTTLS", Cmd::StartTls);
  s.mode = Mode::Handshake;
  return s.action();
}

ClientAction ClientSession::skip_starttls() {
  Impl& s = *impl_;
  if (s.mode == Mode::TlsOffer) s.mode = Mode::Idle;
  return s.action();
}

ClientAction ClientSession::tls_established() {
  Impl& s = *impl_;
  if (s.mode != Mode::TlsHandshake) return s.action();
  // RFC 3207 §4.2: forget everything learnt in clear text and start over.
  s.tls = true;
  s.caps = Capabilities{};
  s.parser.reset();
  s.mode = Mode::Handshake;
  s.send("EHLO " + s.cfg.hostname, Cmd::Ehlo);
  return s.action();
}

bool ClientSession::tls_active() const { return impl_->tls; }
std::string ClientSession::take_output() {
  Impl& s = *impl_;
  if (s.streaming && s.txn && s.out.size() < s.cfg.data_piece) {
    size_t limit = std::max<size_t>(s.cfg.data_piece, 1);
    if (s.txn->chunking ? append_crlf_normalized(s.out, s.txn->message, s.body_pos, limit)
                        : append_dot_stuffed(s.out, s.txn->message, s.body_pos, limit))
      s.streaming = false;
  }
  return std::exchange(s.out, {});
}

bool ClientSession::has_output() const { return !impl_->out.empty() || impl_->streaming; }
bool ClientSession::has_result() const { return !impl_->results.empty(); }

TransactionResult ClientSession::take_result() {
  if (impl_->results.empty()) return {};
  TransactionResult r = std::move(impl_->results.front());
  impl_->results.pop_front();
  return r;
}

Stage ClientSession::stage() const { return impl_->stage(); }
bool ClientSession::closed() const { return impl_->mode == Mode::Closed; }
bool ClientSession::in_transaction() const { return impl_->txn.has_value(); }
const Capabilities& ClientSession::capabilities() const { return impl_->caps; }
const std::optional<ConnectionFailure>& ClientSession::connection_failure() const { return impl_->failure; }
const std::string& ClientSession::greeting() const { return impl_->greeting; }
const std::string& ClientSession::starttls_refusal() const { return impl_->starttls_refusal; }

}  // namespace ringmta::smtp
