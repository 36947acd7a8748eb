// proto/smtp/server_session.h — the SMTP server side as a pure state machine.
//
// Bytes in (feed), replies out (take_output), and an Action telling the I/O
// glue what to do next. No sockets, no clocks, no queue: the glue supplies
// those through Hooks and commit_done(). This keeps the whole protocol —
// pipelining, DATA dot-unstuffing across arbitrary read boundaries, BDAT,
// limits — testable and fuzzable on bytes alone.
//
// Pipelining (RFC 2920): feed() processes every complete command it has and
// appends each reply to the output, so the glue writes all of them at once.
// Processing stops at Action::Commit (end of a message) until commit_done().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::smtp {

struct ServerConfig {
  std::string hostname = "localhost";       // greeting, EHLO, Received: by
  uint64_t max_message_size = 50u << 20;    // SIZE advertised; MAIL SIZE= and DATA/BDAT enforce it
  unsigned max_recipients = 1000;           // 452 4.5.3 beyond
  size_t max_line_length = 4096;            // command line incl. CRLF; 500 5.5.2 beyond
  unsigned max_errors = 20;                 // bad commands before 421 4.7.0 and close
  unsigned max_hops = 50;                   // client's Received: fields; more -> 554 5.4.6 (mail loop)
  std::vector<std::string> local_domains;   // lower-case; relay allowed to these for anyone
  bool auth_enabled = false;                // a users file is configured: AUTH can be offered
  bool sender_login_match = false;          // authenticated users may only use their own MAIL FROM
  // Replies held (not yet taken) before command processing pauses: a client
  // that pipelines commands without reading the replies makes us stop
  // working on its input, not buffer replies without limit. The rest of
  // its input waits in buffered_input() until resume().
  size_t output_limit = 16 * 1024;
};

struct ClientInfo {
  std::string address;   // client IP as text
  bool trusted = false;  // inside relay.trusted_networks: may relay to any domain
  // AUTH is offered (EHLO) and accepted only when tls_active or
  // allow_plaintext_auth (the listener's setting, for loopback development).
  bool tls_active = false;            // set by the TLS glue once the handshake is done
  bool allow_plaintext_auth = false;
  bool auth_required = false;         // submission listeners: MAIL before AUTH -> 530 5.7.0
  // The listener has a certificate: EHLO offers STARTTLS (RFC 3207) while
  // TLS is not active yet. Implicit TLS (RFC 8314) leaves this false and
  // calls tls_started() before start().
  bool starttls_available = false;
};

// The verdict of Hooks::check_recipient on one RCPT TO address.
struct RecipientCheck {
  // "" = accepted; else the whole reply line without CRLF ("550 5.1.1 ...",
  // "452 4.2.2 ..."): the recipient is refused with it (a 5xx counts as a
  // client error, a 4xx does not).
  std::string reply;
  // Accepted: the addresses queued in its place (an alias's expansion, a
  // user without its +tag), each with the RCPT's NOTIFY and an ORCPT of the
  // address as given (unless the client sent one). Empty = the address as given.
  std::vector<std::string> addresses;
};

struct Hooks {
  std::function<std::string()> new_queue_id;  // called once per message, at DATA/BDAT start
  std::function<int64_t()> now_unix;          // seconds since the epoch (Received: date)
  // Asked at STARTTLS before the 220: false (the TLS handshake budget is
  // spent) answers 454 4.7.0 instead. Unset = always allowed.
  std::function<bool()> admit_tls;
  // True while the queue's disk is nearly full (queue.min_free_space): MAIL
  // gets "452 4.3.1 Insufficient system storage". Unset = never.
  std::function<bool()> storage_low;
  // Asked at RCPT TO once the address passed the relay checks, with MAIL's
  // SIZE= (0 if not given): local recipients (unknown user, quota, aliases).
  // Unset = accepted as given.
  std::function<RecipientCheck(const std::string& address, uint64_t declared_size)> check_recipient;
};

// DSN NOTIFY bits (RFC 3461); 0 = not given.
enum NotifyBits : uint8_t { kNotifyNever = 1, kNotifySuccess = 2, kNotifyFailure = 4, kNotifyDelay = 8 };
enum class Ret : uint8_t { Unspecified = 0, Full = 1, Headers = 2 };
enum class BodyType : uint8_t { Unspecified = 0, SevenBit = 1, EightBitMime = 2, BinaryMime = 3 };

struct Recipient {
  std::string address;  // forward-path without <>
  std::string orcpt;    // decoded ORCPT ("rfc822;a@b"); empty if not given
  uint8_t notify = 0;
};

// One mail transaction, complete when feed()/... returns Action::Commit.
struct Transaction {
  std::string queue_id;
  std::string helo;
  bool esmtp = false;
  std::string sender;  // reverse-path without <>; "" = null sender
  uint64_t declared_size = 0;
  BodyType body = BodyType::Unspecified;
  bool smtputf8 = false;
  Ret ret = Ret::Unspecified;
  std::string envid;   // decoded ENVID
  std::vector<Recipient> recipients;
  std::string auth_identity;  // the SMTP AUTH user of this session; "" = not authenticated
  // The message as it will be stored: our Received: header first, then the
  // client's bytes with dot-stuffing undone. Lines end in CRLF.
  std::string message;
};

enum class Action {
  NeedInput,  // write any output, then wait for more bytes
  Commit,     // write output, persist transaction(), then call commit_done()
  Close,      // write output, then close the connection
  AuthCheck,  // write output, check auth_request() off the shard thread, then call auth_done()
  StartTls,   // write output (the 220) in plaintext, run the TLS handshake, then call tls_started()
};

// Phase::Auth reads SASL responses after a 334; Phase::AwaitAuth waits for
// auth_done() (input is buffered meanwhile, as in AwaitCommit).
// Phase::TlsHandshake: STARTTLS was answered 220; every byte fed until
// tls_started() is plaintext sent before the handshake and is discarded,
// never executed (the STARTTLS command-injection class, CVE-2011-0411).
enum class Phase { Command, Data, Bdat, AwaitCommit, Closed, Auth, AwaitAuth, TlsHandshake };

// The verdict on the credentials of an Action::AuthCheck.
enum class AuthResult {
  Ok,               // 235 2.7.0
  Invalid,          // 535 5.7.8 (the glue has already waited its throttling delay)
  TempFail,         // 454 4.7.0 (users file unreadable...)
  TooManyFailures,  // 421 4.7.0 and Close (throttling: too many failures from this client/user)
};

struct AuthRequest {
  std::string user;
  std::string password;  // never logged; cleared by auth_done()
};

class ServerSession {
 public:
  ServerSession(std::shared_ptr<const ServerConfig> config, ClientInfo client, Hooks hooks);
  ~ServerSession();

  // Queue the 220 greeting.
  void start();
  // Process received bytes (any split; pipelined commands welcome).
  // Command processing stops once ServerConfig::output_limit bytes of replies
  // are waiting; the unprocessed rest is buffered (buffered_input()).
  Action feed(std::string_view bytes);
  // Process input buffered while the output was over output_limit (call
  // after taking the output, once the client has read it).
  Action resume();
  // The transaction handed out with Action::Commit is durable (ok) or failed
  // with `error_reply` (a full reply line without CRLF, e.g.
  // "451 4.3.0 Queue write failed"). Resumes processing of buffered input.
  Action commit_done(bool ok, std::string_view error_reply = {});
  // The answer to Action::AuthCheck. `allowed_senders` (with Ok): the MAIL
  // FROM addresses the user may use when ServerConfig::sender_login_match is
  // set — "a@b" exactly (case-insensitive) or "@b" for any address at b.
  Action auth_done(AuthResult result, std::vector<std::string> allowed_senders = {});
  const AuthRequest& auth_request() const;
  // The authenticated user, "" before a successful AUTH.
  const std::string& auth_identity() const;

  // TLS is now active (after Action::StartTls, or at connect for implicit
  // TLS). `description` ("TLS1.3 TLS_AES_256_GCM_SHA384") goes into the
  // Received: header. All session state is reset (RFC 3207 §4.2): the client
  // must EHLO again; any input buffered from before the handshake is gone.
  Action tls_started(std::string_view description);
  bool tls_active() const;

  // The glue's inactivity timer fired: 421 4.4.2 and Close.
  Action on_timeout();
  // The server is stopping: idle sessions get 421 4.3.2 and Close; a session
  // inside a transaction finishes it and closes after the final reply.
  Action on_shutdown();

  // Replies produced so far; the glue moves them to the socket.
  std::string take_output();
  bool has_output() const;

  Phase phase() const;
  bool in_transaction() const;        // MAIL accepted, transaction not finished
  size_t buffered_input() const;      // bytes received but not yet processed
  const Transaction& transaction() const;
  Transaction& transaction();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmta::smtp
