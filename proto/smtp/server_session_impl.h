// proto/smtp/server_session_impl.h — private state of a ServerSession (not
// part of the public API).
//
// Its own header because the state machine is split over several files that
// all work on this one struct: server_session.cpp (input loop, command
// dispatch, the public calls), server_session_envelope.cpp (EHLO/HELO, MAIL,
// RCPT), server_session_data.cpp (DATA, BDAT, the Received: header) and
// server_session_auth.cpp (AUTH, STARTTLS). The tiny output helpers stay
// inline here: every command calls them.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/sasl/sasl.h"
#include "proto/smtp/command.h"
#include "proto/smtp/data_decoder.h"
#include "proto/smtp/server_session.h"

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
  sasl::SaslExchange sasl;
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
  LineEndCheck bdat_check;     // bare CR/LF/NUL in the BDAT body (DATA: the decoder's flags)
  size_t client_start = 0;     // where the client's bytes begin in txn.message (after our Received:)

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

  bool in_transaction() const {
    return mail_ok || phase == Phase::Data || phase == Phase::Bdat || phase == Phase::AwaitCommit;
  }
  bool awaiting() const { return phase == Phase::AwaitCommit || phase == Phase::AwaitAuth; }

  // After a command or a message finished: a pending shutdown closes now.
  void check_shutdown() {
    if (shutdown_pending && phase == Phase::Command && !in_transaction()) {
      reply("421 4.3.2 " + cfg->hostname + " Service shutting down");
      close();
    }
  }

  // --- server_session.cpp: input loop and dispatch -------------------------
  void dispatch(std::string_view line);
  void line_too_long();
  size_t process(std::string_view data);  // returns bytes used
  void run_buffered();
  Action result();

  // --- server_session_envelope.cpp: HELO/EHLO, MAIL, RCPT -------------------
  void reset_transaction();
  void cmd_hello(const CommandLine& c, bool extended);
  void cmd_mail(const CommandLine& c);
  void cmd_rcpt(const CommandLine& c);
  void add_expanded(Recipient r, const std::vector<std::string>& addresses);
  bool stranger() const;
  bool relay_allowed(std::string_view address) const;
  std::string postmaster_address() const;

  // --- server_session_data.cpp: DATA, BDAT, Received: -----------------------
  static std::string sanitize(std::string_view s);
  void begin_message();
  std::string no_recipient_reply() const;
  void cmd_data(const CommandLine& c);
  void cmd_bdat(const CommandLine& c);
  void finish_bdat();
  void finish_data();
  const char* end_of_body_reject(bool nul, bool bare_newline) const;

  // --- server_session_auth.cpp: AUTH, STARTTLS ------------------------------
  bool auth_offered() const;
  bool sender_owned(std::string_view address) const;
  void cmd_auth(const CommandLine& c);
  void auth_line(std::string_view line);
  void sasl_step(sasl::SaslExchange::Step step);
  void cmd_starttls(const CommandLine& c);
  void forget_password();
};

}  // namespace ringmta::smtp
