// proto/smtp/client_session_results.cpp — the bookkeeping of the client
// session: one RecipientResult per envelope recipient (from a reply or made
// here), the end of a transaction, the connection failure when it dies, and
// the names and RFC 5321 timeouts of the stages.
//
// Its own file because this is where the promise "exactly one result per
// recipient, never a permanent failure for what was merely pending" is kept,
// whatever path the state machine in client_session.cpp took.
#include <string>
#include <utility>

#include "proto/smtp/client_session_impl.h"

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

namespace client_detail {

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

}  // namespace client_detail

// The transaction is over: every recipient gets its result (those still
// without one get `fallback`), and the session is idle again.
void ClientSession::Impl::finish(const RecipientResult* fallback) {
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
void ClientSession::Impl::close_with(const RecipientResult& r, bool send_quit) {
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

void ClientSession::Impl::protocol_error(std::string_view what) {
  // Inside a reply handler the stage is the one the reply answered, not
  // the next one waiting in the queue.
  Stage st = reply_stage.value_or(stage());
  close_with(local_result(Outcome::TempFail, 451, "4.5.0",
                          "protocol error in stage " + std::string(to_string(st)) + ": " + std::string(what),
                          st),
             false);
}

// Turn everything pending into temporary failures and close.
ClientAction ClientSession::Impl::abort_with(std::string what, bool timeout) {
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

}  // namespace ringmta::smtp
