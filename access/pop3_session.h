// access/pop3_session.h — glue between one accepted POP3 connection (engine)
// and the pure POP3 state machine (proto/pop3/server_session.h), with the
// mail store (mailbox/service.h) and the shared password checks
// (auth/auth.h) behind. Mirrors relay/inbound.h for SMTP.
//
// The session decides what to say; this class moves bytes (through TLS for
// STLS and pop3s), runs the autologout timer, and answers the session's
// host actions:
//   AuthCheck    -> auth::AuthService::check (same throttling counters as SMTP AUTH)
//   LoadMaildrop -> on the user's owner shard: Service::lock (else [IN-USE]),
//                   a Service::change that snapshots the INBOX (size, UIDL =
//                   "<uidvalidity>.<uid>", body id) and finishes at once
//   Fetch        -> Service::read (read_body on a reader thread), the body
//                   kept for the following chunks of the same message
//   Commit       -> on the owner shard: ONE Service::change expunging the
//                   marked UIDs in ONE commit, then the unlock
// The maildrop lock is always released when the session ends, also when the
// connection drops (which deletes nothing: only QUIT commits).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "access/account.h"
#include "config/config.h"
#include "engine/reactor.h"
#include "limits/conn_limits.h"
#include "proto/pop3/server_session.h"
#include "tls/tls.h"

namespace ringmta::auth {
class AuthService;
}
namespace ringmta::limits {
class HandshakeBudget;
}
namespace ringmta::mailbox {
class Service;
}

namespace ringmta::access {

class Pop3Session;

// What one shard's POP3 sessions share. Filled by the daemon before the
// shard runs; touched only on the shard's thread (the pointers are to
// thread-safe shared services).
struct Pop3Shard {
  engine::Reactor* reactor = nullptr;
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const pop3::ServerConfig> pop3;  // from make_pop3_config
  mailbox::Service* mailbox = nullptr;             // null: every login gets [SYS/TEMP]
  // Every shard's reactor by shard id (Service::owner_of indexes it): the
  // lock, snapshot and QUIT commit run on the user's owner shard.
  const std::vector<engine::Reactor*>* reactors = nullptr;
  auth::AuthService* auth = nullptr;               // null: every login gets [SYS/TEMP]
  limits::ConnectionLimiter* limiter = nullptr;
  limits::HandshakeBudget* handshakes = nullptr;
  std::shared_ptr<tls::ServerContext> tls;         // null: no STLS, pop3s refused
  bool shutting_down = false;

  uint64_t next_session = 1;
  std::unordered_map<uint64_t, Pop3Session*> sessions;

  // The daemon is stopping: idle sessions say goodbye at once, busy ones
  // finish their command (hard: every connection is cut).
  void shutdown(bool hard);
};

// The state machine's settings from the configuration.
std::shared_ptr<const pop3::ServerConfig> make_pop3_config(const config::Config& config);


class Pop3Session final : public engine::ConnectionHandler {
 public:
  Pop3Session(Pop3Shard& shard, engine::Connection& conn);
  ~Pop3Session() override;

  void on_open(engine::Connection& conn) override;
  void on_data(engine::Connection& conn, std::string_view bytes) override;
  void on_drained(engine::Connection& conn) override;
  void on_closed(engine::Connection& conn, int error) override;

  void shutdown();
  void abort();

 private:
  // One message of the snapshot taken at login (index = message number - 1).
  struct Entry {
    uint32_t uid = 0;
    uint64_t size = 0;
    std::string body_id;
  };
  enum class LockState { None, Requested, Held, Committing };

  // pop3_session.cpp: the byte flow, timers, limits, close.
  void act(pop3::Action action);
  void flush();
  void update_reading();
  void close_connection();
  void arm_timer();
  void on_timer();
  engine::Clock::time_point deadline() const;
  bool refused_by_limit();
  void client_known();
  void begin();
  void on_proxy_bytes(std::string_view bytes);
  void refuse_proxy(const std::string& why);
  uint64_t holder() const;
  // pop3_session_tls_auth.cpp: TLS and the password check.
  bool start_tls();
  bool admit_handshake();
  void on_ciphertext(std::string_view bytes);
  void handshake_finished();
  void start_auth();
  void auth_finished(int outcome, std::chrono::milliseconds delay);
  // pop3_session_store.cpp: the maildrop (lock, snapshot, bodies, QUIT).
  enum class LoadResult { Ok, InUse, TempFail };
  void start_load();
  void loaded(LoadResult result, std::string user, std::vector<pop3::MessageInfo> infos, std::vector<Entry> entries);
  // Answers Action::Fetch: from the kept body when it is this message's,
  // else reads it. Returns the session's next action, or NeedInput while a
  // read (or the client's reading of our output) is awaited.
  pop3::Action fetch();
  // Starts reading the bodies of messages `index`... on a reader thread:
  // a few at once (up to kAheadBytes), one read at a time.
  void read_bodies(size_t index);
  void bodies_read(size_t first, std::vector<std::shared_ptr<const std::string>> bodies);
  void start_commit();
  void committed(bool ok, size_t removed);
  void release_lock();

  Pop3Shard& shard_;
  engine::Connection& conn_;
  engine::SocketAddress client_;
  std::unique_ptr<pop3::ServerSession> session_;
  uint64_t number_;
  bool closing_ = false;
  bool paused_ = false;
  bool wait_drain_ = false;     // output queued beyond kOutputCap: continue in on_drained
  bool fetch_waiting_ = false;  // an Action::Fetch to answer once the output drained
  bool reading_body_ = false;   // a Service::read is in flight
  engine::TimerId timer_ = 0;
  engine::TimerId auth_timer_ = 0;
  engine::TimerId close_timer_ = 0;
  engine::Clock::time_point last_activity_;
  limits::ConnectionLimiter::Verdict limit_ = limits::ConnectionLimiter::Verdict::Ok;
  bool counted_ = false;
  std::unique_ptr<tls::Session> tls_;
  bool implicit_tls_ = false;
  bool tls_reported_ = false;
  bool awaiting_proxy_ = false;
  bool proxied_ = false;
  std::string proxy_buf_;

  // The maildrop.
  std::string login_;  // the name the client logged in with (for logs)
  std::string owner_;  // the mail store user, once its maildrop is locked and loaded ("" before)
  std::string locking_;  // the user whose lock was asked for (LockState::Requested)
  LockState lock_ = LockState::None;
  std::vector<Entry> entries_;
  size_t body_index_ = SIZE_MAX;  // which message body_ holds (being sent)
  std::shared_ptr<const std::string> body_;
  // Read ahead: while message i is sent, the next messages' bodies are read
  // (the usual client RETRs 1..N), several per reader job, so the reader's
  // latency overlaps the sending and its thread hops are shared. Ascending
  // message index; at most about kAheadBytes.
  std::deque<std::pair<size_t, std::shared_ptr<const std::string>>> ahead_;
  // For the logout line and metrics.
  uint64_t retrieved_ = 0;
  uint64_t deleted_ = 0;
  uint64_t bytes_sent_ = 0;
};

// Factory for engine::ListenerSpec (pop3 and pop3s listeners).
engine::HandlerFactory pop3_factory(Pop3Shard& shard);

}  // namespace ringmta::access
