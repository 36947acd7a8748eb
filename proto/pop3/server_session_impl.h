// proto/pop3/server_session_impl.h — private state of a pop3::ServerSession
// (not part of the public API).
//
// Its own header because the state machine is split over files that all
// work on this one struct: server_session.cpp (input loop, dispatch, the
// public calls that drive them), server_session_auth.cpp (CAPA, USER/PASS,
// AUTH, STLS and the host's answers to them) and server_session_maildrop.cpp
// (the TRANSACTION commands, RETR/TOP streaming, QUIT and UPDATE).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/pop3/message_writer.h"
#include "proto/pop3/server_session.h"
#include "proto/sasl/sasl.h"

namespace ringmta::pop3 {

// A command line split into its keyword (upper-cased) and the rest.
struct Command {
  std::string verb;      // "RETR"; empty for an empty line
  std::string_view raw_arg;  // everything after the first space (PASS: the password)
  std::string_view arg;      // raw_arg without surrounding spaces/tabs
  bool bad_verb = false; // not 1..8 printable letters
};
Command parse_command(std::string_view line);

// A paused multi-line response: LIST or UIDL without argument produce their
// lines in slices of about output_limit, RETR/TOP through the host.
enum class Producer { None, List, Uidl, Message };

struct ServerSession::Impl {
  Impl(std::shared_ptr<const ServerConfig> c, ClientInfo ci, Hooks h)
      : cfg(std::move(c)), client(std::move(ci)), hooks(std::move(h)) {}

  std::shared_ptr<const ServerConfig> cfg;
  ClientInfo client;
  Hooks hooks;

  Phase phase = Phase::Command;
  bool transaction = false;  // RFC 1939 TRANSACTION state (maildrop loaded)
  bool announced = false;    // the Action of the current await phase was returned
  std::string in;            // unprocessed input
  std::string out;           // responses not yet taken
  bool discarding = false;   // inside an over-long command line
  bool shutdown_pending = false;
  unsigned errors = 0;

  // AUTHORIZATION.
  std::string user_arg;      // from USER, waiting for PASS
  sasl::SaslExchange sasl;
  AuthRequest auth_req;
  std::string owner;         // the maildrop's user once authenticated

  // TRANSACTION.
  std::vector<MessageInfo> messages;
  std::vector<bool> deleted;
  size_t live = 0;           // messages not marked deleted
  uint64_t live_octets = 0;

  // Multi-line producers.
  Producer producer = Producer::None;
  size_t list_next = 0;      // LIST/UIDL: next index
  FetchRequest fetch;        // RETR/TOP: the current request
  std::optional<MessageWriter> writer;
  bool top = false;          // the current fetch is a TOP
  bool first_chunk = true;   // the "+OK" line is not sent yet

  // --- output ---------------------------------------------------------------
  void reply(std::string_view line) {
    out.append(line);
    out.append("\r\n");
  }
  // A client-caused error: counts toward max_errors.
  void error(std::string_view line) {
    reply(line);
    if (++errors >= cfg->max_errors) {
      reply("-ERR Too many bad commands, closing connection");
      close();
    }
  }
  void close() { phase = Phase::Closed; }
  // "N messages (M octets)" of the messages not marked deleted.
  std::string maildrop_size() const {
    return std::to_string(live) + (live == 1 ? " message (" : " messages (") + std::to_string(live_octets) +
           " octets)";
  }
  void await(Phase p) {
    phase = p;
    announced = false;
  }
  bool awaiting() const {
    return phase == Phase::AwaitAuth || phase == Phase::AwaitMaildrop ||
           phase == Phase::AwaitMessage || phase == Phase::OutputFull ||
           phase == Phase::AwaitCommit;
  }
  // Enough responses wait to be taken (at least one byte, so a zero limit
  // still makes progress).
  bool output_full() const { return !out.empty() && out.size() >= cfg->output_limit; }
  bool auth_allowed() const { return client.tls_active || client.allow_plaintext_auth; }
  // After a command finished: a pending shutdown closes now.
  void check_shutdown() {
    if (shutdown_pending && (phase == Phase::Command || phase == Phase::SaslResponse)) {
      reply("-ERR [SYS/TEMP] Server shutting down, closing connection");
      close();
    }
  }

  // --- server_session.cpp ---------------------------------------------------
  void dispatch(std::string_view line);
  void line_too_long();
  size_t process(std::string_view data);
  void run_buffered();
  Action result();
  Action after_host();  // common tail of every host answer

  // --- server_session_auth.cpp ----------------------------------------------
  void cmd_capa(const Command& c);
  void cmd_user(const Command& c);
  void cmd_pass(const Command& c, std::string user);
  void cmd_auth(const Command& c);
  void sasl_line(std::string_view line);
  void sasl_step(sasl::SaslExchange::Step step);
  void cmd_stls(const Command& c);
  void begin_auth_check(std::string user, std::string password);
  void forget_password();

  // --- server_session_maildrop.cpp ------------------------------------------
  // Parses a message number argument; replies the error and returns nullopt.
  std::optional<size_t> message_arg(std::string_view arg, bool allow_deleted);
  void cmd_stat(const Command& c);
  void cmd_list(const Command& c, bool uidl);
  void cmd_retr(const Command& c, bool top);
  void cmd_dele(const Command& c);
  void cmd_rset(const Command& c);
  void cmd_quit(const Command& c);
  void produce();  // continue the paused multi-line response
  void finish_message();
  void sign_off();
};

}  // namespace ringmta::pop3
