// relay/proto/client_session.cpp — SMTP client state machine (see client_session.h).
//
// Every command written pushes an Expect onto a FIFO; every complete reply
// pops the oldest one and goes to the handler for that command. Pipelining
// is therefore just "write several commands before the replies come back":
// the handlers are the same in both modes, only the non-pipelined path sends
// the next command from the handler. A transaction's recipients collect one
// RecipientResult each; finish() hands them out when the transaction ends,
// and fail_pending() fills in whatever is left when the connection dies.
#include "relay/proto/client_session.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <utility>

#include "mail/xtext.h"

namespace ringmta::smtp {

std::string_view to_string(Stage s) {
  switch (s) {
    case Stage::Greeting: return "greeting";
    case Stage::Ehlo: return "EHLO";
    case Stage::Helo: return "HELO";
    case Stage::StartTls: return "STARTTLS";
    case Stage::Idle: return "idle";
    case Stage::Rset: return "RSET";
    case Stage::Mail: return "MAIL";
    case Stage::Rcpt: return "RCPT";
    case Stage::DataInit: return "DATA";
    case Stage::DataBlock: return "data block";
    case Stage::EndOfData: return "end of data";
    case Stage::Quit: return "QUIT";
    case Stage::Closed: return "closed";
  }
  return "?";
}

unsigned rfc5321_timeout_seconds(Stage s) {
  switch (s) {
    case Stage::DataInit: return 2 * 60;
    case Stage::DataBlock: return 3 * 60;
    case Stage::EndOfData: return 10 * 60;
    case Stage::Idle:
    case Stage::Closed: return 0;
    default: return 5 * 60;  // greeting, EHLO/HELO, STARTTLS, MAIL, RCPT, RSET, QUIT
  }
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::Accepted: return "accepted";
    case Outcome::TempFail: return "temp";
    case Outcome::PermFail: return "perm";
  }
  return "?";
}

std::string_view to_string(ClientAction a) {
  switch (a) {
    case ClientAction::NeedInput: return "NeedInput";
    case ClientAction::Ready: return "Ready";
    case ClientAction::StartTlsOffered: return "StartTlsOffered";
    case ClientAction::StartTlsHandshake: return "StartTlsHandshake";
    case ClientAction::Close: return "Close";
  }
  return "?";
}

namespace {

enum class Cmd : uint8_t { Greeting, Ehlo, Helo, StartTls, Rset, Mail, Rcpt, Data, Dot, Quit };
struct Expect {
  Cmd cmd;
  size_t index = 0;  // recipient index for Rcpt
};

// Where the session is between replies.
enum class Mode : uint8_t { Handshake, TlsOffer, TlsHandshake, Idle, Txn, Quitting, Closed };

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

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string_view first_word(std::string_view s) { return s.substr(0, s.find(' ')); }

Capabilities parse_ehlo(const Reply& r) {
  Capabilities caps;
  caps.esmtp = true;
  if (!r.lines.empty()) caps.remote_name = std::string(first_word(r.lines[0]));
  for (size_t i = 1; i < r.lines.size(); ++i) {
    std::string_view line = r.lines[i];
    std::string kw = upper(first_word(line));
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
        if (!m.empty()) caps.auth.push_back(upper(m));
        args.remove_prefix(std::min(args.size(), m.size() + 1));
      }
    }
  }
  return caps;
}

// Append the next piece of `msg`, dot-stuffed (RFC 5321 §4.5.2) with CRLF
// line ends, to `out` until it holds `limit` bytes; `pos` is where the
// previous piece stopped. Returns true once the whole message and the final
// "." are out. Pieces keep a connection's memory bounded for big messages;
// the search window is bounded too, so a huge line stays linear.
bool append_dot_stuffed(std::string& out, std::string_view msg, size_t& pos, size_t limit) {
  while (out.size() < limit && pos < msg.size()) {
    if ((pos == 0 || msg[pos - 1] == '\n') && msg[pos] == '.') out += '.';
    std::string_view window = msg.substr(pos, std::max<size_t>(limit - out.size(), 1));
    size_t nl = window.find('\n');
    if (nl == 0) {
      if (pos == 0 || msg[pos - 1] != '\r') out += '\r';  // bare LF becomes CRLF
      out += '\n';
      ++pos;
      continue;
    }
    size_t n = nl == std::string_view::npos ? window.size() : nl;
    out.append(window.substr(0, n));
    pos += n;
  }
  if (pos < msg.size()) return false;
  if (!msg.empty() && msg.back() != '\n') out += msg.back() == '\r' ? "\n" : "\r\n";  // add a missing line end
  out += ".\r\n";
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

RecipientResult from_reply(const Reply& r, Stage stage) {
  RecipientResult res;
  res.outcome = r.positive() ? Outcome::Accepted : r.permanent() ? Outcome::PermFail : Outcome::TempFail;
  res.code = r.code;
  res.enhanced = r.enhanced_or_default();
  res.text = r.str();
  res.stage = stage;
  return res;
}

RecipientResult local_result(Outcome o, int code, std::string enhanced, std::string text, Stage stage) {
  RecipientResult res;
  res.outcome = o;
  res.code = code;
  res.enhanced = std::move(enhanced);
  res.text = std::to_string(code) + " " + res.enhanced + " " + text;
  res.stage = stage;
  res.local = true;
  return res;
}

}  // namespace

struct ClientSession::Impl {
  struct Txn {
    OutboundEnvelope env;
    std::string_view message;
    std::vector<std::optional<RecipientResult>> res;
    std::vector<bool> accepted;
    size_t n_accepted = 0;
    bool pipelined = false;
    bool mail_failed = false;  // MAIL refused: later pipelined replies are ignored
    size_t next_rcpt = 0;      // non-pipelined: next recipient to send
    bool ignore_dot = false;   // "." sent alone after 354 with nobody accepted
  };

  ClientConfig cfg;
  ReplyParser parser;
  std::string out;
  std::deque<Expect> expect;
  Mode mode = Mode::Handshake;
  Capabilities caps;
  std::optional<ConnectionFailure> failure;
  std::string greeting, starttls_refusal;
  bool tls = false;
  bool need_rset = false;
  bool data_flushed = false;
  bool streaming = false;  // body being handed out by take_output()
  size_t body_pos = 0;     // next message byte to stuff
  std::optional<Txn> txn;
  std::deque<TransactionResult> results;
  std::optional<Stage> reply_stage;  // set while a reply is being handled

  explicit Impl(ClientConfig c) : cfg(std::move(c)), parser(cfg.reply_limits) {
    expect.push_back({Cmd::Greeting});
  }

  void send(std::string line, Cmd cmd, size_t index = 0) {
    out += line;
    out += "\r\n";
    expect.push_back({cmd, index});
  }

  Stage stage() const {
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
      case Cmd::Dot: return data_flushed ? Stage::EndOfData : Stage::DataBlock;
      case Cmd::Quit: return Stage::Quit;
    }
    return Stage::Idle;
  }

  ClientAction action() const {
    switch (mode) {
      case Mode::Closed: return ClientAction::Close;
      case Mode::TlsOffer: return ClientAction::StartTlsOffered;
      case Mode::TlsHandshake: return ClientAction::StartTlsHandshake;
      case Mode::Idle: return expect.empty() ? ClientAction::Ready : ClientAction::NeedInput;
      default: return ClientAction::NeedInput;
    }
  }

  // The transaction is over: every recipient gets its result (those still
  // without one get `fallback`), and the session is idle again.
  void finish(const RecipientResult* fallback = nullptr) {
    if (!txn) return;
    TransactionResult tr;
    tr.remote_dsn = caps.dsn;
    tr.recipients.reserve(txn->res.size());
    for (size_t i = 0; i < txn->res.size(); ++i) {
      RecipientResult r = txn->res[i] ? std::move(*txn->res[i])
                          : fallback  ? *fallback
                                      : local_result(Outcome::TempFail, 451, "4.3.0",
                                                     "internal error: no reply recorded", stage());
      if (r.outcome == Outcome::Accepted && !caps.dsn && (txn->env.recipients[i].notify & kNotifySuccess))
        r.relayed = true;
      tr.recipients.push_back(std::move(r));
    }
    results.push_back(std::move(tr));
    txn.reset();
    if (mode == Mode::Txn) mode = Mode::Idle;
  }

  // The connection is unusable: pending recipients get `r`, the session closes.
  void close_with(const RecipientResult& r, bool send_quit) {
    streaming = false;  // never touch the message again once its result is out
    if (!failure) {
      ConnectionFailure f;
      f.permanent = r.outcome == Outcome::PermFail && !txn;
      f.code = r.code;
      f.enhanced = r.enhanced;
      f.text = r.text;
      f.stage = r.stage;
      f.local = r.local;
      failure = std::move(f);
    }
    RecipientResult pending = r;
    if (pending.outcome != Outcome::TempFail) {  // pending recipients are never failed for good here
      pending.outcome = Outcome::TempFail;
      if (!pending.enhanced.empty()) pending.enhanced[0] = '4';
    }
    finish(&pending);
    if (send_quit) out += "QUIT\r\n";
    expect.clear();
    mode = Mode::Closed;
  }

  void protocol_error(std::string_view what) {
    // Inside a reply handler the stage is the one the reply answered, not
    // the next one waiting in the queue.
    Stage st = reply_stage.value_or(stage());
    close_with(local_result(Outcome::TempFail, 451, "4.5.0",
                            "protocol error in stage " + std::string(to_string(st)) + ": " + std::string(what),
                            st),
               false);
  }

  ClientAction feed(std::string_view in) {
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
      if (e.cmd == Cmd::Dot && streaming) {
        // A reply before the body is out: the server gave up on the message
        // (552 too big, 421...). What we would still send could be taken as
        // commands, so the connection ends here.
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
      if (e.cmd == Cmd::Dot) data_flushed = true;  // a reply means the body went out
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

  void handle(const Expect& e, const Reply& r, Stage st) {
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
      case Cmd::Quit:
        expect.clear();
        mode = Mode::Closed;
        return;
    }
  }

  // Refusal of the connection as a whole (greeting, EHLO/HELO): QUIT and close.
  void refuse(const Reply& r, Stage st) {
    if (r.intermediate()) return protocol_error("unexpected reply " + r.str());
    close_with(from_reply(r, st), true);
  }

  void on_greeting(const Reply& r) {
    if (!r.positive()) return refuse(r, Stage::Greeting);
    greeting = r.text();
    send("EHLO " + cfg.hostname, Cmd::Ehlo);
  }

  void on_ehlo(const Reply& r) {
    if (r.permanent()) return send("HELO " + cfg.hostname, Cmd::Helo);  // pre-ESMTP server
    if (!r.positive()) return refuse(r, Stage::Ehlo);
    caps = parse_ehlo(r);
    mode = (cfg.offer_starttls && caps.starttls && !tls) ? Mode::TlsOffer : Mode::Idle;
  }

  void on_helo(const Reply& r) {
    if (!r.positive()) return refuse(r, Stage::Helo);
    caps = Capabilities{};
    if (!r.lines.empty()) caps.remote_name = std::string(first_word(r.lines[0]));
    mode = Mode::Idle;
  }

  void on_starttls(const Reply& r) {
    if (r.positive()) {
      mode = Mode::TlsHandshake;
      return;
    }
    if (r.intermediate()) return protocol_error("unexpected reply " + r.str());
    starttls_refusal = r.str();  // go on in clear text unless the glue quits
    mode = Mode::Idle;
  }

  void on_rset(const Reply& r) {
    if (!r.positive()) {
      // The remote cannot even reset: do not trust this connection further.
      RecipientResult res = from_reply(r, Stage::Rset);
      if (r.intermediate()) return protocol_error("unexpected reply " + r.str());
      return close_with(res, true);
    }
    need_rset = false;
    if (txn && !txn->pipelined) send_mail();
  }

  void on_mail(const Reply& r) {
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

  void on_rcpt(size_t i, const Reply& r) {
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

  void on_data(const Reply& r) {
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

  void on_dot(const Reply& r) {
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

  std::string mail_command() const {
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

  std::string rcpt_command(const Recipient& rc) const {
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

  void send_mail() { send(mail_command(), Cmd::Mail); }

  // Non-pipelined: the next recipient still to try, else DATA, else done.
  void send_next_rcpt_or_data() {
    while (txn->next_rcpt < txn->res.size() && txn->res[txn->next_rcpt]) ++txn->next_rcpt;
    if (txn->next_rcpt < txn->res.size()) {
      size_t i = txn->next_rcpt++;
      return send(rcpt_command(txn->env.recipients[i]), Cmd::Rcpt, i);
    }
    if (txn->n_accepted > 0) return send("DATA", Cmd::Data);
    need_rset = true;
    finish();
  }

  ClientAction start(OutboundEnvelope env, std::string_view message) {
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
      return fail_all(Outcome::PermFail, 554, "5.6.3", "BINARYMIME needs BDAT, not supported for relay",
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
    if (txn->pipelined) {
      // RFC 2920 §3.1: RSET, MAIL, every RCPT and DATA in one write.
      if (need_rset) send("RSET", Cmd::Rset);
      send_mail();
      for (size_t i = 0; i < e.recipients.size(); ++i)
        if (!txn->res[i]) send(rcpt_command(e.recipients[i]), Cmd::Rcpt, i);
      send("DATA", Cmd::Data);
    } else if (need_rset) {
      send("RSET", Cmd::Rset);  // MAIL follows its 250
    } else {
      send_mail();
    }
    return action();
  }

  // Turn everything pending into temporary failures and close.
  ClientAction abort_with(std::string what, bool timeout) {
    if (mode == Mode::Closed) return action();
    Stage st = stage();
    if (st == Stage::Quit || (mode == Mode::Idle && expect.empty() && !timeout)) {
      // Closing after QUIT, or a server that hangs up on an idle connection:
      // nothing was pending, nothing failed.
      expect.clear();
      mode = Mode::Closed;
      return action();
    }
    close_with(local_result(Outcome::TempFail, 421, "4.4.2", what + " in stage " + std::string(to_string(st)), st),
               false);
    return action();
  }
};

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
    if (append_dot_stuffed(s.out, s.txn->message, s.body_pos, std::max<size_t>(s.cfg.data_piece, 1)))
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
