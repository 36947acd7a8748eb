// relay/outbound.h — one outbound SMTP connection: the engine glue around a
// smtp::ClientSession.
//
// An Outbound connects to one address (with the connect timeout), feeds the
// server's bytes to the session, writes what the session produces (the
// message body piece by piece: the next piece is taken only after the
// previous one is written, so a big message never sits in memory twice),
// runs one timer per protocol stage (command_timeout / data_timeout; re-armed
// per body write) and reports to its Owner: ready (idle, may start a
// transaction), each transaction result, and closed.
//
// TLS (RFC 3207): with a TlsSetup level other than None the session stops
// after EHLO when STARTTLS is offered; the Outbound sends STARTTLS, runs the
// handshake through a tls::Session (SNI = the host name) and from then on
// every byte passes through it. With a required level (encrypt/verify) a
// server that does not offer STARTTLS, refuses it, or fails the handshake
// (including the certificate check) ends the connection before any mail
// moves: failure() says why, and the agent tries the next host — never
// plaintext. With "may" a refused/missing STARTTLS means plaintext on this
// connection; a failed handshake ends it with tls_fallback() set, and the
// agent reconnects without TLS.
//
// AUTH (delivery.credentials_file, outbound_auth.h): with set_login() the
// Outbound logs in after the EHLO that follows a completed STARTTLS, before
// the connection counts as ready. Never without TLS: a connection that is
// not encrypted by then never sends AUTH (the agent also raises the TLS
// level to at least "encrypt" for a host with credentials). A refused login
// (535 or any other reply), a server offering neither PLAIN nor LOGIN, or no
// TLS ends the connection before any mail moves; failure() is always
// temporary then (4.7.x), so the mail is deferred, never bounced, and the
// log line has the server's reply — never the password.
//
// Source address (delivery.source_address): set_source() before start()
// binds the socket to it before connecting.
//
// The delivery agent owns the policy (which job, which target next, reuse,
// idle timeout); this file only knows one socket. The engine owns the
// handler, so the Outbound is shared between the handler and the agent and
// detach() cuts it loose from an owner that goes away.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/reactor.h"
#include "proto/smtp/client_session.h"
#include "config/config.h"
#include "tls/tls.h"
#include "relay/outbound_auth.h"

namespace ringmta::relay {

// TLS for one connection: the level and the client context for it.
struct OutboundTlsSetup {
  config::OutboundTls level = config::OutboundTls::None;
  std::shared_ptr<tls::ClientContext> context;  // for the level; null with None
  tls::TicketPtr resume;  // a session from an earlier connection to the same host, or null
  std::vector<tls::DaneTlsa> dane;  // not empty: a DANE session (context from delivery.dane) checks these
};

class Outbound : public std::enable_shared_from_this<Outbound> {
 public:
  // Callbacks run on the shard thread, never from inside start(). The owner
  // may call send_transaction()/quit()/detach() from inside them.
  class Owner {
   public:
    virtual ~Owner() = default;
    // The session is idle and usable (after EHLO, and after each transaction).
    virtual void outbound_ready(Outbound&) = 0;
    // A transaction ended (one result per recipient; also when the connection died).
    virtual void outbound_result(Outbound&, smtp::TransactionResult) = 0;
    // The connection is gone; the last callback. established() tells whether it
    // ever got ready; if not, failure() says why.
    virtual void outbound_closed(Outbound&) = 0;
  };

  struct Timeouts {
    std::chrono::seconds connect{30};
    std::chrono::seconds command{300};  // greeting, EHLO/HELO, MAIL, RCPT, RSET, QUIT
    std::chrono::seconds data{600};     // DATA, each body write, end of data
  };

  using TlsSetup = OutboundTlsSetup;

  // `host` is the target's name (for messages, SNI and the "verify" name
  // check), `address` includes the port.
  Outbound(engine::Reactor& reactor, Owner* owner, smtp::ClientConfig config, Timeouts timeouts, std::string host,
           engine::SocketAddress address, TlsSetup tls = {});
  ~Outbound();
  Outbound(const Outbound&) = delete;
  Outbound& operator=(const Outbound&) = delete;

  // Before start(): log in with these after STARTTLS (see above).
  void set_login(std::string user, std::string password);
  // Before start(): the local address to bind (port 0), of the peer's family.
  void set_source(engine::SocketAddress source) { source_ = source; }
  // The login name used on this connection once authenticated, else "".
  std::string auth_user() const { return auth_done_ ? auth_->user() : std::string(); }
  // The bound source address ("" = the system's choice).
  std::string source_text() const { return source_ ? source_->ip() : std::string(); }

  // Start connecting (must be owned by a shared_ptr).
  void start();
  // Only when idle (after outbound_ready). `message` must stay valid until the result.
  void send_transaction(smtp::OutboundEnvelope envelope, std::string_view message);
  // Idle: send QUIT and close on its reply (outbound_closed follows).
  void quit();
  // No more callbacks; the connection (or pending connect) is aborted.
  void detach();

  bool ready() const { return ready_notified_; }      // idle and usable now
  bool established() const { return established_; }   // got ready at least once
  bool busy() const { return busy_; }                  // a transaction is running
  bool closed() const { return session_.closed(); }    // the session is over (no more transactions)
  // Why a connection that never got ready failed (connect error, greeting,
  // EHLO/HELO refusal, timeout, disconnect); permanent only for 5xx.
  const smtp::RecipientResult& failure() const { return failure_; }
  const std::string& host() const { return host_; }
  std::string address_text() const { return address_.to_string(); }  // "ip:port"
  const smtp::Capabilities& capabilities() const { return session_.capabilities(); }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once TLS is up, else "".
  const std::string& tls_description() const { return tls_text_; }
  // The TLS session to resume on the next connection to this host (null
  // without TLS, or when the server issued none).
  tls::TicketPtr tls_ticket() const { return tls_ ? tls_->ticket() : nullptr; }
  // "may" only: the TLS handshake failed (or the connection died during it);
  // the agent may retry this address in plaintext.
  bool tls_fallback() const { return tls_fallback_; }
  // TLS is up and the certificate check (chain + name, or DANE) passed.
  bool tls_verified() const { return tls_ && tls_->handshake_done() && tls_->peer_verified(); }
 private:
  class Handler;
  friend class Handler;

  void on_open(engine::Connection& c);
  void on_data(std::string_view bytes);
  void on_drained();
  void on_closed(int error);
  void on_connect_error(int error);
  void on_timer();

  void apply(smtp::ClientAction action);
  void step();
  void flush();
  void arm_timer(bool force);
  void cancel_timer();
  void close_connection();
  void note_failure();
  std::string peer_name() const;  // "host[ip]:port"
  void start_tls();
  void on_tls_data(std::string_view bytes);
  void tls_established();
  void tls_failed(std::string why);
  void refuse_plaintext();
  void start_auth();
  void on_auth_data(std::string_view plain);
  void auth_failed(int code, std::string enhanced, std::string why, const char* metric, bool quit);

  engine::Reactor& reactor_;
  Owner* owner_;
  smtp::ClientSession session_;
  Timeouts timeouts_;
  std::string host_;
  engine::SocketAddress address_;

  engine::Connection* conn_ = nullptr;
  bool closing_ = false;        // close()/abort() called
  bool gone_ = false;           // outbound_closed delivered (or detached)
  bool writing_ = false;        // output sent, on_drained not yet seen
  bool action_ready_ = false;   // the session's last action was Ready
  bool ready_notified_ = false; // outbound_ready delivered for this idle period
  bool established_ = false;
  bool busy_ = false;
  bool in_step_ = false, again_ = false;
  engine::TimerId timer_ = 0;
  smtp::Stage timer_stage_ = smtp::Stage::Closed;
  smtp::RecipientResult failure_;

  TlsSetup tls_setup_;
  std::unique_ptr<tls::Session> tls_;  // after STARTTLS's 220
  std::string tls_text_;               // version and cipher once open
  std::optional<smtp::RecipientResult> tls_failure_;  // why TLS (required or tried) failed
  bool tls_fallback_ = false;

  std::unique_ptr<ClientAuth> auth_;  // set_login(); null = no AUTH
  smtp::ReplyParser auth_parser_;
  bool auth_active_ = false;          // AUTH sent, waiting for its (last) reply
  bool auth_done_ = false;            // 235 received
  std::optional<smtp::RecipientResult> auth_failure_;
  std::optional<engine::SocketAddress> source_;
};

}  // namespace ringmta::relay
