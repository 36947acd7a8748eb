// proto/smtp/server_session.cpp — the SMTP server state machine (see
// server_session.h for the contract with the I/O glue): the input loop, the
// command dispatch and the public calls that drive them.
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
// Split (one state struct, server_session_impl.h): this file owns the byte
// loop; the commands live with their topic — server_session_envelope.cpp
// (EHLO/HELO, MAIL, RCPT), server_session_data.cpp (DATA, BDAT, Received:,
// commit_done) and server_session_auth.cpp (AUTH, STARTTLS, auth_done,
// tls_started).
//
// Documented choices (the brief left them open; the DATA/BDAT ones are in
// server_session_data.cpp):
//  * Error counting: every 4xx/5xx caused by the client counts, except
//    "452 4.5.3 too many recipients" (a server limit RFC 5321 §4.5.3.1.10
//    tells clients to expect; a big pipelined RCPT list must not get a
//    client disconnected) and queue failures from commit_done().
//  * Output back-pressure: once ServerConfig::output_limit bytes of replies
//    wait to be taken, no further command is processed; its input stays in
//    `in` until resume(). Bodies (DATA/BDAT) produce no replies, so they are
//    never held back by this.
//  * feed() returns Action::Commit once per message; further feed()s while
//    the commit is pending buffer input and return NeedInput. The glue should
//    stop reading while phase() == AwaitCommit (buffered_input() says how
//    much is held).
#include "proto/smtp/server_session.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "proto/smtp/server_session_impl.h"

namespace ringmta::smtp {

void ServerSession::Impl::dispatch(std::string_view line) {
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

void ServerSession::Impl::line_too_long() {
  if (phase == Phase::Auth) {  // RFC 4954 §4: the exchange ends
    phase = Phase::Command;
    sasl.respond("*");
    return error("500 5.5.6 Authentication exchange line is too long");
  }
  error("500 5.5.2 Error: line too long");
}

// Consume as much of `data` as the current phase allows; returns bytes used.
size_t ServerSession::Impl::process(std::string_view data) {
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
        // Back-pressure: enough replies are waiting for the client to read.
        if (out.size() >= cfg->output_limit) return pos;
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
void ServerSession::Impl::run_buffered() {
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

Action ServerSession::Impl::result() {
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

Action ServerSession::resume() {
  Impl& s = *impl_;
  if (s.phase == Phase::Closed) return Action::Close;
  if (!s.awaiting() && s.phase != Phase::TlsHandshake) s.run_buffered();
  return s.result();
}

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
