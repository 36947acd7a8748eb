// relay/inbound.h — glue between one accepted SMTP connection (engine) and the
// pure SMTP server state machine (proto/smtp), with the durable queue behind.
//
// The session decides what to say; this class moves bytes, runs the inactivity
// timers, and turns Action::Commit into a queue batch whose completion (on the
// commit thread) is posted back to this shard before the 250 is sent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/reactor.h"
#include "proto/smtp/server_session.h"
#include "auth/auth.h"
#include "dkim/signer.h"
#include "limits/conn_limits.h"
#include "relay/shard.h"

namespace ringmta::relay {

class InboundSession final : public engine::ConnectionHandler {
 public:
  InboundSession(ShardContext& shard, engine::Connection& conn);
  ~InboundSession() override;

  void on_open(engine::Connection& conn) override;
  void on_data(engine::Connection& conn, std::string_view bytes) override;
  void on_drained(engine::Connection& conn) override;
  void on_closed(engine::Connection& conn, int error) override;

  // The daemon is stopping: finish the current transaction, then 421 and close.
  void shutdown();
  // Hard stop after the shutdown grace period.
  void abort();

 private:
  void act(smtp::Action action);
  void flush();
  // Flow control (inbound_flow.cpp): stop reading while this session holds
  // too much unsent output or unprocessed input, or while the in-flight body
  // budget is exhausted; resume when that changes.
  void update_flow();
  void set_reading(bool on);
  uint64_t body_held() const;      // body bytes this session holds in memory
  void reserve_body(size_t incoming);  // grow the body by a quarter, not double it
  void track_body();               // start/end of the body deadline
  // The body's deadlines (limits.data_timeout, limits.min_data_rate): the
  // total one, and the end of the current rate window; max() if none.
  engine::Clock::time_point body_deadline() const;
  // At the end of a rate window: true (and a new window) if the client sent
  // at least min_data_rate in it, false if the body is too slow.
  bool next_rate_window();
  void retry_budget();             // budget wait: look again shortly
  void release_budget();
  // closing_ and an orderly close; a client that never reads the last
  // replies is cut off after kCloseGrace instead of holding the socket.
  void close_connection();
  void start_commit();
  // [[dkim]] (inbound_dkim.cpp): sign the message on the signing workers
  // when it qualifies (true: the commit continues in signing_finished), else false.
  bool start_signing();
  void signing_finished(std::string message, const dkim::Signer::Domain& domain, std::string error);
  void write_to_queue();  // the queue batch of the (possibly signed) message
  void commit_finished(const queue::Status& status, std::chrono::milliseconds waited);
  void arm_timer();
  void on_timer();
  std::chrono::seconds current_timeout() const;
  engine::Clock::time_point deadline() const;  // idle timeout, or the partial command's deadline
  void note_partial_command();
  bool refused_by_limit();
  void start_auth();
  void auth_finished(auth::AuthVerdict verdict);
  // TLS: start a server session (after STARTTLS's 220, or at connect for
  // implicit TLS); take ciphertext in; log the handshake.
  bool start_tls();
  // limits.tls_handshake_rate(_per_ip): may a handshake start now?
  bool admit_handshake();
  void on_ciphertext(std::string_view bytes);
  void handshake_finished();
  // The client address is settled: create the SMTP session, take a limit slot.
  void client_known();
  // Log the connection, apply limits, greet (or start implicit TLS).
  void begin();
  // proxy_protocol listeners: collect and parse the PROXY header.
  void on_proxy_bytes(std::string_view bytes);
  void refuse_proxy(const std::string& why);

  ShardContext& shard_;
  engine::Connection& conn_;
  // The client: the peer, or the source of the PROXY header.
  engine::SocketAddress client_;
  // Created once the client is known (at once, or after the PROXY header).
  std::unique_ptr<smtp::ServerSession> session_;
  uint64_t number_;
  bool closing_ = false;
  bool paused_ = false;             // reading paused (any reason below)
  bool output_blocked_ = false;     // paused until the client reads our output
  bool budget_wait_ = false;        // paused for limits.inflight_memory
  uint64_t charged_ = 0;            // body bytes charged to the in-flight budget
  engine::TimerId budget_timer_ = 0;
  engine::Clock::duration budget_retry_ = std::chrono::milliseconds(10);  // next look at the budget
  engine::Clock::time_point budget_wait_since_{};
  // The current body's start for its total deadline (limits.data_timeout +
  // received / min_data_rate), moved later by time spent waiting on us.
  engine::Clock::time_point body_started_{};
  // Every data_timeout of a body must bring data_timeout x min_data_rate
  // bytes: the window's start and the body size then. Without it a client
  // could send a large body fast, earning a long total deadline, and then
  // hold it (and its memory) with a byte every few minutes.
  engine::Clock::time_point rate_window_{};
  uint64_t rate_window_bytes_ = 0;
  engine::TimerId close_timer_ = 0;
  engine::TimerId timer_ = 0;
  uint64_t committing_size_ = 0;  // stored size of the message being committed
  std::string dkim_signed_by_;    // "DOMAIN/SELECTOR" of the message being committed, for its log line
  engine::Clock::time_point last_activity_;
  engine::Clock::time_point partial_since_{};  // first byte of an unfinished command line
  engine::TimerId auth_timer_ = 0;              // throttling delay before a 535
  limits::ConnectionLimiter::Verdict limit_ = limits::ConnectionLimiter::Verdict::Ok;
  bool counted_ = false;                        // holds a limits::ConnectionLimiter slot
  // Non-null once TLS started: every byte in and out goes through it.
  std::unique_ptr<tls::Session> tls_;
  bool implicit_tls_ = false;  // submissions listener: TLS before the greeting
  bool tls_reported_ = false;  // handshake completion seen and logged
  bool awaiting_proxy_ = false;  // proxy_protocol listener, header not parsed yet
  bool proxied_ = false;         // client_ came from a PROXY header
  std::string proxy_buf_;        // header bytes so far
  engine::Clock::time_point txn_started_{};  // MAIL of the current transaction arrived
};

// Factory for engine::ListenerSpec.
engine::HandlerFactory inbound_factory(ShardContext& shard);

}  // namespace ringmta::relay
