// access/imap_session.h — one IMAP connection (RFC 9051 IMAP4rev2 and RFC
// 3501 IMAP4rev1, with the extensions listed in imap_capability.cpp) on the
// engine, over the pure command parser (proto/imap/command.h), the mail store
// at run time (mailbox/service.h) and the shared password checks (auth/).
//
// Layers, outermost first: TLS (STARTTLS or imaps), COMPRESS=DEFLATE, then
// the command assembler. Commands run one at a time, in order; a command
// that needs the user's mailboxes runs one step on the user's owner shard
// (imap_view.h explains why and what the step may touch), and one that needs
// message text or structure reads it on the Service's reader threads, where
// the FETCH/SEARCH text is also produced — a shard only moves bytes.
//
// Files: imap_session.cpp (bytes, layers, timers, dispatch),
// imap_session_auth.cpp (TLS, LOGIN/AUTHENTICATE), imap_mailboxes.cpp
// (account-level commands: LIST, CREATE, STATUS, SELECT, APPEND, ...),
// imap_selected.cpp (FETCH, STORE, SEARCH, COPY/MOVE, EXPUNGE, IDLE, ...).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "access/imap_view.h"
#include "config/config.h"
#include "engine/reactor.h"
#include "limits/conn_limits.h"
#include "mailbox/service.h"
#include "proto/imap/command.h"
#include "queue/queue_id.h"
#include "tls/tls.h"

namespace ringmta::auth {
class AuthService;
}
namespace ringmta::limits {
class HandshakeBudget;
}
namespace ringmta::compress {
class DeflateStream;
}

namespace ringmta::access {

class ImapSession;

// What one shard's IMAP sessions share (like Pop3Shard), plus the IMAP data
// of the users this shard owns (imap_view::UserImap). Touched only on the
// shard's thread.
struct ImapShard {
  engine::Reactor* reactor = nullptr;
  std::shared_ptr<const config::Config> config;
  mailbox::Service* mailbox = nullptr;               // null: logins get NO [UNAVAILABLE]
  const std::vector<engine::Reactor*>* reactors = nullptr;  // every shard's, by id
  const std::vector<ImapShard*>* peers = nullptr;    // every shard's ImapShard, by id
  auth::AuthService* auth = nullptr;
  limits::ConnectionLimiter* limiter = nullptr;
  limits::HandshakeBudget* handshakes = nullptr;
  std::shared_ptr<tls::ServerContext> tls;           // null: no STARTTLS, imaps refused
  // The user's quota in bytes (0 = none): QUOTA and APPEND's [OVERQUOTA].
  std::function<uint64_t(const std::string& user)> quota_of;
  bool shutting_down = false;
  uint64_t next_session = 1;
  std::unique_ptr<queue::QueueIdGenerator> body_ids;  // APPEND: fresh body ids (shard 4094 - id)
  std::unordered_map<uint64_t, ImapSession*> sessions;
  std::unordered_map<std::string, imap_view::UserImap> owned;  // users whose owner this shard is

  void shutdown(bool hard);
  // The mailbox::Service listener (owner shard): wakes the user's sessions
  // when something they may be told about changed.
  void changed(const std::string& user, const mailbox::UserState& state);
};

class ImapSession final : public engine::ConnectionHandler {
 public:
  ImapSession(ImapShard& shard, engine::Connection& conn);
  ~ImapSession() override;

  void on_open(engine::Connection& conn) override;
  void on_data(engine::Connection& conn, std::string_view bytes) override;
  void on_drained(engine::Connection& conn) override;
  void on_closed(engine::Connection& conn, int error) override;

  void shutdown();
  void abort();
  // The owner shard says the user's mailboxes changed: an idling session
  // looks at once; others see it with their next command.
  void wake();

  // What a step on the owner shard may use (imap_mailboxes.cpp, imap_selected.cpp).
  struct Shared {
    imap_view::View view;
    imap_view::Modes modes;
  };

 private:
  enum class State { NotAuthenticated, Authenticated, Selected, Logout };

  // ---- imap_session.cpp ----
  void begin();
  void client_known();
  void reset_assembler();  // a new assembler with the configured limits (start, STARTTLS)
  bool refused_by_limit();
  void input(std::string_view plaintext);  // after TLS
  void run();                              // next command(s) from the assembler
  void dispatch(imap::Command& cmd);
  void send(std::string_view text);        // through COMPRESS and TLS
  void reply(const std::string& tag, std::string_view text);  // tagged line
  void done(const std::string& tag, std::string_view text);   // tagged line, then the next command
  void bad(const std::string& tag, std::string_view why);
  void update_reading();
  void close_connection();
  void arm_timer();
  void on_timer();
  engine::Clock::time_point deadline() const;
  std::string capabilities() const;
  void on_proxy_bytes(std::string_view bytes);
  // ---- imap_session_auth.cpp ----
  bool admit_handshake();
  bool start_tls();
  void on_ciphertext(std::string_view bytes);
  void handshake_finished();
  void login(const std::string& tag, const std::string& user, const std::string& password);
  void authenticate(imap::Command& cmd);
  void sasl_response(std::string_view line);
  void auth_finished(int outcome, std::chrono::milliseconds delay);
  void logged_in();
  void unwatch();

  // ---- steps on the owner shard ----
  // Runs `step` on the user's owner shard inside a Service::change; `step`
  // gets the loaded state (never null) and calls `finish(text)` once with
  // the text to send here (untagged lines and the tagged reply), after any
  // commit it made. A load failure answers `tag` NO [UNAVAILABLE].
  struct Owner {
    mailbox::Service& service;
    mailbox::UserState& state;
    mailbox::Service::Ticket ticket;
    imap_view::UserImap& user;
    Shared& shared;
    std::shared_ptr<Shared> keep;  // for callbacks after a commit: `shared` stays alive
  };
  using Finish = std::function<void(std::string text)>;
  using Step = std::function<void(Owner& o, Finish finish)>;
  // `then` (optional) gets the text instead of step_done (FETCH/SEARCH go on with a job).
  using Then = std::function<void(std::string text)>;
  void on_owner(const std::string& tag, Step step, Then then = nullptr);
  // The text of a finished step arrived: send it, then the next command.
  void step_done(std::string text);

  // ---- imap_mailboxes.cpp ----
  void cmd_list(imap::Command& cmd);
  void cmd_create(imap::Command& cmd);
  void cmd_delete(imap::Command& cmd);
  void cmd_rename(imap::Command& cmd);
  void cmd_subscribe(imap::Command& cmd, bool on);
  void cmd_status(imap::Command& cmd);
  void cmd_select(imap::Command& cmd, bool read_only);
  void cmd_append(imap::Command& cmd);
  void cmd_quota(imap::Command& cmd);
  void cmd_namespace(imap::Command& cmd);
  // ---- imap_selected.cpp ----
  void cmd_sync(imap::Command& cmd);  // NOOP, CHECK (selected)
  void cmd_fetch(imap::Command& cmd);
  void cmd_store(imap::Command& cmd);
  void cmd_search(imap::Command& cmd);
  void cmd_copy(imap::Command& cmd, bool move);
  void cmd_expunge(imap::Command& cmd);
  void cmd_close(imap::Command& cmd, bool expunge);
  void cmd_idle(imap::Command& cmd);
  void idle_line(std::string_view line);
  void idle_check();
  // A FETCH/SEARCH job read and formatted on a reader thread, in chunks.
  struct Job;
  void run_job(std::shared_ptr<Job> job);
  void job_chunk(std::shared_ptr<Job> job, uint64_t chunk, std::string text);

  ImapShard& shard_;
  engine::Connection& conn_;
  engine::SocketAddress client_;
  uint64_t number_;
  State state_ = State::NotAuthenticated;
  imap::CommandAssembler assembler_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();

  bool closing_ = false;
  bool busy_ = false;          // a command is running (owner step, read, password check)
  bool paused_ = false;
  bool wait_drain_ = false;
  std::shared_ptr<Job> drain_job_;  // a job waiting for the output to drain
  std::string drain_tail_;
  engine::TimerId timer_ = 0;
  engine::TimerId auth_timer_ = 0;
  engine::TimerId close_timer_ = 0;
  engine::Clock::time_point last_activity_;
  limits::ConnectionLimiter::Verdict limit_ = limits::ConnectionLimiter::Verdict::Ok;
  bool counted_ = false;
  unsigned bad_commands_ = 0;

  std::unique_ptr<tls::Session> tls_;
  bool implicit_tls_ = false;
  bool tls_reported_ = false;
  bool start_tls_pending_ = false;  // STARTTLS OK sent: the next bytes are the handshake
  bool awaiting_proxy_ = false;
  std::string proxy_buf_;
  std::unique_ptr<compress::DeflateStream> deflate_;

  // Login.
  std::string login_;    // the name given
  std::string user_;     // the mail store user (after login)
  std::string auth_tag_; // the tag of the LOGIN/AUTHENTICATE in progress
  bool sasl_waiting_ = false;  // AUTHENTICATE PLAIN sent "+ ": the next line is the response

  // IDLE.
  bool idling_ = false;
  std::string idle_tag_;
  bool idle_checking_ = false;  // a sync step is on its way
  bool idle_again_ = false;     // woken while it was

  // The line for the logout log and metrics.
  uint64_t commands_ = 0;
  uint64_t fetched_ = 0;
  uint64_t bytes_out_ = 0;
};

engine::HandlerFactory imap_factory(ImapShard& shard);

// APPENDLIMIT (RFC 7889): imap.append_limit, or limits.max_message_size when 0.
uint64_t imap_append_limit(const config::Config& c);

}  // namespace ringmta::access
