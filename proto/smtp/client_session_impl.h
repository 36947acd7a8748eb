// proto/smtp/client_session_impl.h — private state of a ClientSession (not
// part of the public API).
//
// Its own header because the state machine is split over three files that
// all work on this one struct: client_session.cpp (the reply-driven state
// machine and the public calls), client_session_commands.cpp (a transaction's
// checks and the MAIL/RCPT/DATA commands it sends) and
// client_session_results.cpp (recipient results, connection failure, the
// to_string helpers). The tiny helpers every handler calls stay inline.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/smtp/client_session.h"

namespace ringmta::smtp {

namespace client_detail {

enum class Cmd : uint8_t { Greeting, Ehlo, Helo, StartTls, Rset, Mail, Rcpt, Data, Dot, Bdat, Quit };
struct Expect {
  Cmd cmd;
  size_t index = 0;  // recipient index for Rcpt
};

// Where the session is between replies.
enum class Mode : uint8_t { Handshake, TlsOffer, TlsHandshake, Idle, Txn, Quitting, Closed };

// client_session_commands.cpp: the message body, piece by piece — for DATA
// (dot-stuffed, with the final ".") or for BDAT (CRLF-normalized only), and
// the byte count of the latter, which the BDAT command must state up front.
bool append_dot_stuffed(std::string& out, std::string_view msg, size_t& pos, size_t limit);
bool append_crlf_normalized(std::string& out, std::string_view msg, size_t& pos, size_t limit);
uint64_t crlf_normalized_size(std::string_view msg);
// client_session_results.cpp: a recipient result from a reply, or made here.
RecipientResult from_reply(const Reply& r, Stage stage);
RecipientResult local_result(Outcome o, int code, std::string enhanced, std::string text, Stage stage);

}  // namespace client_detail

// Only the client_session*.cpp files include this header.
using client_detail::append_crlf_normalized;
using client_detail::append_dot_stuffed;
using client_detail::crlf_normalized_size;
using client_detail::Cmd;
using client_detail::Expect;
using client_detail::from_reply;
using client_detail::local_result;
using client_detail::Mode;

struct ClientSession::Impl {
  struct Txn {
    OutboundEnvelope env;
    std::string_view message;
    std::vector<std::optional<RecipientResult>> res;
    std::vector<bool> accepted;
    size_t n_accepted = 0;
    bool pipelined = false;
    bool chunking = false;     // the body goes as BDAT <n> LAST, not DATA
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

  ClientAction action() const {
    switch (mode) {
      case Mode::Closed: return ClientAction::Close;
      case Mode::TlsOffer: return ClientAction::StartTlsOffered;
      case Mode::TlsHandshake: return ClientAction::StartTlsHandshake;
      case Mode::Idle: return expect.empty() ? ClientAction::Ready : ClientAction::NeedInput;
      default: return ClientAction::NeedInput;
    }
  }

  // --- client_session.cpp: replies in, handlers -----------------------------
  Stage stage() const;
  ClientAction feed(std::string_view in);
  void handle(const Expect& e, const Reply& r, Stage st);
  void refuse(const Reply& r, Stage st);
  bool names_myself(std::string_view remote_name, Stage st);
  void on_greeting(const Reply& r);
  void on_ehlo(const Reply& r);
  void on_helo(const Reply& r);
  void on_starttls(const Reply& r);
  void on_rset(const Reply& r);
  void on_mail(const Reply& r);
  void on_rcpt(size_t i, const Reply& r);
  void on_data(const Reply& r);
  void on_dot(const Reply& r);
  void on_bdat(const Reply& r);

  // --- client_session_commands.cpp: a transaction's commands ----------------
  std::string mail_command() const;
  std::string rcpt_command(const Recipient& rc) const;
  void send_mail();
  void send_next_rcpt_or_data();
  void send_body_command();
  ClientAction start(OutboundEnvelope env, std::string_view message);

  // --- client_session_results.cpp: results and failures ---------------------
  void finish(const RecipientResult* fallback = nullptr);
  void close_with(const RecipientResult& r, bool send_quit);
  void protocol_error(std::string_view what);
  ClientAction abort_with(std::string what, bool timeout);
};

}  // namespace ringmta::smtp
