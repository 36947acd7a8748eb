// relay/proto/server_session.cpp — the SMTP server state machine (see
// server_session.h for the contract with the I/O glue).
//
// Layout: feed() hands bytes to process(), which loops over the phases:
//   Command — split lines (CRLF, or bare LF leniently), dispatch one command;
//   Data    — DataDecoder until CRLF.CRLF, then check and Commit or reject;
//   Bdat    — copy exactly n raw bytes, then reply / Commit / reject.
// Input is used in place when nothing is buffered; only a partial command
// line (or everything after a Commit, while the queue writes) is kept, and
// that buffer is released when it empties, so an idle session holds no large
// allocation.
//
// Documented choices (the brief left them open):
//  * DATA with no accepted recipient: "554 5.5.1 Error: no valid recipients"
//    when RCPT was tried and every one was rejected, "503 5.5.1 Error: need
//    RCPT command" when none was tried (Postfix does the same). BDAT alike,
//    after consuming its chunk.
//  * Bare CR / bare LF / NUL in DATA: the body is read to CRLF.CRLF (a bare
//    LF never ends it) and then rejected with 554 5.6.0 (SMTP smuggling
//    defence, cf. Postfix 3.9 smtpd_forbid_bare_newline). BDAT bodies are
//    not checked: their length is explicit, so there is nothing to smuggle.
//  * BDAT with a malformed size: 501 5.5.4 and Close — the chunk length is
//    unknown, so the byte stream cannot be resynchronised.
//  * Error counting: every 4xx/5xx caused by the client counts, except
//    "452 4.5.3 too many recipients" (a server limit RFC 5321 §4.5.3.1.10
//    tells clients to expect; a big pipelined RCPT list must not get a
//    client disconnected) and queue failures from commit_done().
//  * The Received: header is built when DATA/BDAT starts (queue id and date
//    are taken then), so the body is appended once and never moved.
//  * feed() returns Action::Commit once per message; further feed()s while
//    the commit is pending buffer input and return NeedInput. The glue should
//    stop reading while phase() == AwaitCommit (buffered_input() says how
//    much is held).
#include "relay/proto/server_session.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "mail/address.h"
#include "mail/datetime.h"
#include "relay/proto/command.h"
#include "relay/proto/data_decoder.h"
#include "relay/proto/sasl.h"

namespace ringmta::smtp {

struct ServerSession::Impl {
  Impl(std::shared_ptr<const ServerConfig> c, ClientInfo ci, Hooks h)
      : cfg(std::move(c)), client(std::move(ci)), hooks(std::move(h)) {}

  std::shared_ptr<const ServerConfig> cfg;
  ClientInfo client;
  Hooks hooks;

  Phase phase = Phase::Command;
  std::string in;   // unprocessed input (only when it could not be used in place)
  std::string out;  // replies not yet taken
  bool discarding = false;       // inside an over-long command line
  bool commit_announced = false;  // Action::Commit already returned for this message
  bool shutdown_pending = false;
  unsigned errors = 0;

  // Session state kept across transactions.
  bool greeted = false;
  std::string helo;
  bool esmtp = false;

  // SMTP AUTH (RFC 4954), kept across transactions.
  SaslExchange sasl;
  AuthRequest auth_req;          // credentials handed out with Action::AuthCheck
  bool auth_announced = false;   // Action::AuthCheck already returned for auth_req
  std::string auth_user;         // "" until 235
  std::vector<std::string> allowed_senders;

  // STARTTLS (RFC 3207).
  std::string tls_info;            // "TLS1.3 TLS_AES_256_GCM_SHA384" once active ("" if unknown)
  bool starttls_announced = false;  // Action::StartTls already returned

  // Transaction state.
  Transaction txn;
  bool mail_ok = false;
  unsigned rcpt_rejected = 0;
  bool bdat_used = false;
  uint64_t bdat_size = 0;      // body bytes received by BDAT so far
  uint64_t bdat_remaining = 0;  // of the current chunk
  bool bdat_last = false;
  uint64_t chunk_size_ = 0;     // of the current chunk, for the 250 reply
  std::string bdat_reject;     // reply to send once the chunk is consumed ("" = accept)
  bool bdat_reset = false;     // the reject ends the transaction
  DataDecoder decoder;

  // --- output -------------------------------------------------------------
  void reply(std::string_view line) {
    out.append(line);
    out.append("\r\n");
  }
  // A client-caused 4xx/5xx: counts toward max_errors.
  void error(std::string_view line) {
    reply(line);
    if (++errors >= cfg->max_errors) {
      reply("421 4.7.0 " + cfg->hostname + " Error: too many errors");
      close();
    }
  }
  // The caller drops buffered input (process() may still hold a view of it).
  void close() { phase = Phase::Closed; }

  // --- transaction --------------------------------------------------------
  void reset_transaction() {
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

  bool in_transaction() const {
    return mail_ok || phase == Phase::Data || phase == Phase::Bdat || phase == Phase::AwaitCommit;
  }

  // After a command or a message finished: a pending shutdown closes now.
  void check_shutdown() {
    if (shutdown_pending && phase == Phase::Command && !in_transaction()) {
      reply("421 4.3.2 " + cfg->hostname + " Service shutting down");
      close();
    }
  }

  // Printable ASCII only, for client text echoed into our header.
  static std::string sanitize(std::string_view s) {
    std::string r(s);
    for (char& c : r) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) c = '?';
    }
    return r;
  }

  // Queue id + our Received: header, at the start of DATA/the first BDAT.
  void begin_message() {
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
  }

  // The reply for DATA/BDAT when no recipient was accepted ("" if some were).
  std::string no_recipient_reply() const {
    if (!mail_ok) return "503 5.5.1 Error: need MAIL command";
    if (!txn.recipients.empty()) return {};
    if (rcpt_rejected > 0) return "554 5.5.1 Error: no valid recipients";
    return "503 5.5.1 Error: need RCPT command";
  }

  // --- commands -----------------------------------------------------------
  void cmd_hello(const CommandLine& c, bool extended) {
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

  void cmd_mail(const CommandLine& c) {
    if (!greeted) return error("503 5.5.1 Error: send HELO/EHLO first");
    if (mail_ok) return error("503 5.5.1 Error: nested MAIL command");
    if (client.auth_required && auth_user.empty()) return error("530 5.7.0 Authentication required");
    auto rest = strip_path_prefix(c.arg, "FROM:");
    if (!rest || rest->empty()) return error("501 5.5.4 Syntax: MAIL FROM:<address>");
    mail::PathOptions po;
    po.allow_null = true;
    po.allow_utf8 = true;  // decided below, once SMTPUTF8 is known
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

  bool relay_allowed(std::string_view address) const {
    if (client.trusted || !auth_user.empty()) return true;
    std::string_view domain = mail::domain_of(address);
    for (const auto& d : cfg->local_domains)
      if (mail::domain_equal(domain, d)) return true;
    return false;
  }

  // --- AUTH (RFC 4954) -----------------------------------------------------
  bool auth_offered() const {
    return cfg->auth_enabled && (client.tls_active || client.allow_plaintext_auth);
  }

  // sender_login_match: "a@b" entries match exactly (ASCII case-insensitive),
  // "@b" entries any address in domain b.
  bool sender_owned(std::string_view address) const {
    for (const auto& a : allowed_senders) {
      if (!a.empty() && a.front() == '@') {
        if (mail::domain_equal(mail::domain_of(address), std::string_view(a).substr(1))) return true;
      } else if (iequals(address, a)) {
        return true;
      }
    }
    return false;
  }

  void cmd_auth(const CommandLine& c) {
    if (!greeted || !esmtp) return error("503 5.5.1 Error: send EHLO first");
    if (!cfg->auth_enabled) return error("503 5.5.1 Error: authentication not enabled");
    if (!auth_offered())
      return error("538 5.7.11 Encryption required for requested authentication mechanism");
    if (!auth_user.empty()) return error("503 5.5.1 Error: already authenticated");
    if (mail_ok) return error("503 5.5.1 Error: MAIL transaction in progress");
    if (c.arg.empty()) return error("501 5.5.4 Syntax: AUTH mechanism [initial-response]");
    const size_t sp = c.arg.find_first_of(" \t");
    std::string_view mech = c.arg.substr(0, sp);
    std::string_view initial;
    if (sp != std::string_view::npos) {
      initial = c.arg.substr(sp + 1);
      while (!initial.empty() && (initial.front() == ' ' || initial.front() == '\t')) initial.remove_prefix(1);
    }
    sasl_step(sasl.start(mech, initial));
  }

  // A client line while phase == Auth (the answer to our 334).
  void auth_line(std::string_view line) { sasl_step(sasl.respond(line)); }

  void sasl_step(SaslExchange::Step step) {
    switch (step.kind) {
      case SaslExchange::Kind::Challenge:
        phase = Phase::Auth;
        reply(step.reply);
        return;
      case SaslExchange::Kind::Failed:
        phase = Phase::Command;
        error(step.reply);
        return;
      case SaslExchange::Kind::Credentials:
        auth_req.user = std::move(step.credentials.user);
        auth_req.password = std::move(step.credentials.password);
        auth_announced = false;
        phase = Phase::AwaitAuth;
        return;
    }
  }

  // --- STARTTLS (RFC 3207) --------------------------------------------------
  void cmd_starttls(const CommandLine& c) {
    if (!c.arg.empty()) return error("501 5.5.4 Syntax: STARTTLS (no parameters allowed)");
    if (client.tls_active) return error("503 5.5.1 Error: TLS already active");
    if (!client.starttls_available) return error("454 4.7.0 TLS not available due to temporary reason");
    if (mail_ok) return error("503 5.5.1 Error: MAIL transaction in progress");
    reply("220 2.0.0 Ready to start TLS");
    phase = Phase::TlsHandshake;
    starttls_announced = false;
    // Whatever follows in the same read (or is still buffered) was sent in
    // plaintext before the handshake: it must never be executed under the
    // protection TLS will seem to give it. process() consumes and drops it
    // in this phase (`in` may be the very buffer process() is reading, so it
    // is not touched here).
  }

  // Overwrite the password before the buffer goes back to the allocator.
  void forget_password() {
    std::fill(auth_req.password.begin(), auth_req.password.end(), '\0');
    auth_req.password.clear();
  }

  void cmd_rcpt(const CommandLine& c) {
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
    // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain, any case.
    constexpr std::string_view kPm = "<postmaster>";
    if (rest->size() >= kPm.size() && iequals(rest->substr(0, kPm.size()), kPm) &&
        (rest->size() == kPm.size() || (*rest)[kPm.size()] == ' ')) {
      postmaster = true;
      consumed = kPm.size();
      r.address = "postmaster@" + cfg->hostname;
    } else {
      mail::PathOptions po;
      po.allow_utf8 = true;
      mail::PathResult path = mail::parse_path(*rest, po);
      if (path.status != mail::AddressStatus::Ok)
        return fail("501 5.1.3 Bad recipient address syntax");
      consumed = path.consumed;
      non_ascii = path.non_ascii;
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
    if (!postmaster && !relay_allowed(r.address))
      return fail("550 5.7.1 <" + r.address + ">: Relay access denied");
    txn.recipients.push_back(std::move(r));
    reply("250 2.1.5 Ok");
  }

  void cmd_data(const CommandLine& c) {
    if (!c.arg.empty()) return error("501 5.5.4 Syntax: DATA");
    if (std::string e = no_recipient_reply(); !e.empty()) return error(e);
    if (bdat_used) return error("503 5.5.1 Error: DATA not allowed after BDAT");
    begin_message();
    decoder.reset(cfg->max_message_size);
    phase = Phase::Data;
    commit_announced = false;
    reply("354 End data with <CR><LF>.<CR><LF>");
  }

  void cmd_bdat(const CommandLine& c) {
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

  void finish_bdat() {
    phase = Phase::Command;
    if (!bdat_reject.empty()) {
      std::string r = std::move(bdat_reject);
      bdat_reject.clear();
      if (bdat_reset) reset_transaction();
      error(r);
      return;
    }
    if (bdat_last) {
      phase = Phase::AwaitCommit;
      return;
    }
    // bdat_size already includes this chunk.
    reply("250 2.0.0 " + std::to_string(chunk_size_) + " octets received");
  }

  void finish_data() {
    phase = Phase::Command;
    const char* reject = nullptr;
    if (decoder.oversize()) reject = "552 5.3.4 Message size exceeds fixed maximum message size";
    else if (decoder.has_nul()) reject = "554 5.6.0 Message contains NUL characters";
    else if (decoder.bare_newline())
      reject = "554 5.6.0 Message contains bare CR or LF (lines must end with CRLF)";
    if (reject) {
      reset_transaction();
      error(reject);
      return;
    }
    phase = Phase::AwaitCommit;
  }

  void dispatch(std::string_view line) {
    CommandLine c = parse_command_line(line);
    switch (c.verb) {
      case Verb::Ehlo: return cmd_hello(c, true);
      case Verb::Helo: return cmd_hello(c, false);
      case Verb::Mail: return cmd_mail(c);
      case Verb::Rcpt: return cmd_rcpt(c);
      case Verb::Data: return cmd_data(c);
      case Verb::Bdat: return cmd_bdat(c);
      case Verb::Auth: return cmd_auth(c);
      case Verb::StartTls: return cmd_starttls(c);
      case Verb::Rset:
        if (!c.arg.empty()) return error("501 5.5.4 Syntax: RSET");
        reset_transaction();
        return reply("250 2.0.0 Ok");
      case Verb::Noop: return reply("250 2.0.0 Ok");
      case Verb::Quit:
        reply("221 2.0.0 Bye");
        return close();
      case Verb::Vrfy:
        if (c.arg.empty()) return error("501 5.5.4 Syntax: VRFY address");
        return reply("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
      case Verb::Help:
        return reply("214 2.0.0 Commands: EHLO HELO AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT");
      case Verb::Empty: return error("500 5.5.2 Error: bad syntax");
      case Verb::Unknown: return error("502 5.5.2 Error: command not recognized");
    }
  }

  void line_too_long() {
    if (phase == Phase::Auth) {  // RFC 4954 §4: the exchange ends
      phase = Phase::Command;
      sasl.respond("*");
      return error("500 5.5.6 Authentication exchange line is too long");
    }
    error("500 5.5.2 Error: line too long");
  }

  bool awaiting() const { return phase == Phase::AwaitCommit || phase == Phase::AwaitAuth; }

  // Consume as much of `data` as the current phase allows; returns bytes used.
  size_t process(std::string_view data) {
    size_t pos = 0;
    while (pos < data.size()) {
      switch (phase) {
        case Phase::AwaitCommit:
        case Phase::AwaitAuth:
          return pos;
        case Phase::Closed:
        case Phase::TlsHandshake:  // plaintext after STARTTLS: never executed
          return data.size();
        case Phase::Auth:
        case Phase::Command: {
          const char* base = data.data() + pos;
          const size_t avail = data.size() - pos;
          const char* lf = static_cast<const char*>(std::memchr(base, '\n', avail));
          if (discarding) {
            if (!lf) return data.size();
            pos += static_cast<size_t>(lf - base) + 1;
            discarding = false;
            line_too_long();
            break;
          }
          if (!lf) {
            if (avail >= cfg->max_line_length) {  // cannot fit with its LF any more
              discarding = true;
              return data.size();
            }
            return pos;  // partial line: wait for more
          }
          const size_t len = static_cast<size_t>(lf - base) + 1;
          pos += len;
          if (len > cfg->max_line_length) {
            line_too_long();
            break;
          }
          std::string_view line(base, len - 1);
          if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
          if (phase == Phase::Auth) auth_line(line);
          else dispatch(line);
          check_shutdown();
          break;
        }
        case Phase::Data: {
          DataDecoder::Result r = decoder.feed(data.substr(pos), txn.message);
          pos += r.consumed;
          if (r.done) {
            finish_data();
            check_shutdown();
          }
          break;
        }
        case Phase::Bdat: {
          const size_t n =
              static_cast<size_t>(std::min<uint64_t>(bdat_remaining, data.size() - pos));
          if (bdat_reject.empty()) {
            txn.message.append(data.data() + pos, n);
            bdat_size += n;
          }
          pos += n;
          bdat_remaining -= n;
          if (bdat_remaining == 0) {
            finish_bdat();
            check_shutdown();
          }
          break;
        }
      }
    }
    return pos;
  }

  // Run the buffered input (after a commit finished).
  void run_buffered() {
    if (in.empty() || phase == Phase::Closed) return;
    size_t used = process(in);
    if (phase == Phase::Closed) {
      std::string().swap(in);
      return;
    }
    in.erase(0, used);
    if (in.empty()) {
      std::string().swap(in);  // idle sessions keep no buffer
    } else if (in.capacity() > 4 * in.size() + 256) {
      in.shrink_to_fit();
    }
  }

  Action result() {
    if (phase == Phase::Closed) return Action::Close;
    if (phase == Phase::AwaitCommit && !commit_announced) {
      commit_announced = true;
      return Action::Commit;
    }
    if (phase == Phase::TlsHandshake && !starttls_announced) {
      starttls_announced = true;
      return Action::StartTls;
    }
    if (phase == Phase::AwaitAuth && !auth_announced) {
      auth_announced = true;
      return Action::AuthCheck;
    }
    return Action::NeedInput;
  }
};

ServerSession::ServerSession(std::shared_ptr<const ServerConfig> config, ClientInfo client,
                             Hooks hooks)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(client), std::move(hooks))) {}

ServerSession::~ServerSession() = default;

void ServerSession::start() {
  impl_->reply("220 " + impl_->cfg->hostname + " ESMTP ringmta");
}

Action ServerSession::feed(std::string_view bytes) {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  if (bytes.empty()) return s.result();
  if (s.awaiting()) {
    s.in.append(bytes);  // held until commit_done() / auth_done()
    return Action::NeedInput;
  }
  if (!s.in.empty()) {
    // A partial command line is buffered (that is the only thing held outside
    // AwaitCommit). Complete it, then continue on the caller's bytes in place,
    // so a large body following "DATA" is not copied through the buffer.
    const void* lf = std::memchr(bytes.data(), '\n', bytes.size());
    const size_t head = lf ? static_cast<size_t>(static_cast<const char*>(lf) - bytes.data()) + 1
                           : bytes.size();
    s.in.append(bytes.substr(0, head));
    bytes.remove_prefix(head);
    s.run_buffered();
    if (!s.in.empty() || s.phase == Phase::Closed || s.awaiting() || s.phase == Phase::TlsHandshake) {
      if (s.phase != Phase::Closed && s.phase != Phase::TlsHandshake) s.in.append(bytes);
      return s.result();
    }
  }
  // Fast path: use the caller's bytes in place, keep only the remainder.
  const size_t used = s.process(bytes);
  if (s.phase != Phase::Closed && used < bytes.size()) s.in.assign(bytes.substr(used));
  return s.result();
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

Action ServerSession::auth_done(AuthResult result, std::vector<std::string> allowed_senders) {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitAuth) return s.result();
  s.phase = Phase::Command;
  switch (result) {
    case AuthResult::Ok:
      s.auth_user = s.auth_req.user;
      s.allowed_senders = std::move(allowed_senders);
      s.txn.auth_identity = s.auth_user;
      s.reply("235 2.7.0 Authentication successful");
      break;
    case AuthResult::Invalid:
      s.error("535 5.7.8 Authentication credentials invalid");
      break;
    case AuthResult::TempFail:
      s.reply("454 4.7.0 Temporary authentication failure");  // our fault: not counted
      break;
    case AuthResult::TooManyFailures:
      s.reply("421 4.7.0 " + s.cfg->hostname + " Error: too many failed authentication attempts");
      s.close();
      break;
  }
  s.forget_password();
  if (s.phase == Phase::Closed) {
    std::string().swap(s.in);
    return Action::Close;
  }
  s.check_shutdown();
  s.run_buffered();
  return s.result();
}

const AuthRequest& ServerSession::auth_request() const { return impl_->auth_req; }
const std::string& ServerSession::auth_identity() const { return impl_->auth_user; }

Action ServerSession::tls_started(std::string_view description) {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  s.client.tls_active = true;
  s.tls_info.assign(description);
  // RFC 3207 §4.2: forget everything learnt from the client in plaintext.
  s.phase = Phase::Command;
  s.greeted = false;
  s.helo.clear();
  s.esmtp = false;
  s.auth_user.clear();
  s.allowed_senders.clear();
  s.discarding = false;
  std::string().swap(s.in);
  s.reset_transaction();
  s.check_shutdown();
  return s.result();
}

bool ServerSession::tls_active() const { return impl_->client.tls_active; }

Action ServerSession::on_timeout() {
  Impl& s = *impl_;
  if (s.phase != Phase::Closed) {
    s.reply("421 4.4.2 " + s.cfg->hostname + " Error: timeout exceeded");
    s.close();
  }
  return Action::Close;
}

Action ServerSession::on_shutdown() {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  s.shutdown_pending = true;
  s.check_shutdown();
  return s.result();
}

std::string ServerSession::take_output() { return std::exchange(impl_->out, std::string()); }
bool ServerSession::has_output() const { return !impl_->out.empty(); }
Phase ServerSession::phase() const { return impl_->phase; }
bool ServerSession::in_transaction() const { return impl_->in_transaction(); }
size_t ServerSession::buffered_input() const { return impl_->in.size(); }
const Transaction& ServerSession::transaction() const { return impl_->txn; }
Transaction& ServerSession::transaction() { return impl_->txn; }

}  // namespace ringmta::smtp
