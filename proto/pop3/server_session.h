// proto/pop3/server_session.h — the POP3 server side (RFC 1939, with CAPA
// and response codes from RFC 2449/3206, STLS from RFC 2595, AUTH from
// RFC 5034) as a pure state machine.
//
// Bytes in (feed), responses out (take_output), and an Action telling the
// host (the listener glue) what to do next. No sockets, clocks, threads or
// store: everything that needs the outside world is an Action the host
// answers asynchronously — the credential check (auth_done), locking and
// loading the maildrop (maildrop_loaded / maildrop_refused), message bytes
// (message_data / message_failed), the QUIT commit (commit_done) and the TLS
// handshake (tls_started). Same model as proto/smtp/server_session.h.
//
// Host loop, in short: after every call, write take_output() to the socket;
// act on the Action; read from the socket only while wants_input(); call
// resume() whenever the written output has drained (it continues a paused
// RETR/TOP/LIST/UIDL or buffered pipelined commands; cheap otherwise).
//
// Autologout (RFC 1939 §3, at least 10 minutes) is the host's timer: it
// runs while phase() is Command or SaslResponse (the session waits for the
// client) and calls on_timeout() when it fires. Login throttling is the
// host's too (shared with SMTP AUTH): it is folded into the AuthResult.
//
// Maildrop lock: the host takes it when it answers Action::LoadMaildrop and
// releases it when the session ends (Close or the connection drops), after
// any commit it was asked for has finished. A dropped connection, a timeout,
// too many errors or a shutdown never produce Action::Commit, so no deletion
// is applied (RFC 1939 §6: only QUIT enters the UPDATE state).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::pop3 {

struct ServerConfig {
  std::string hostname = "localhost";  // greeting and sign-off
  // A command line including CRLF. RFC 2449 §4 limits commands to 255
  // octets but real clients send longer AUTH lines; be lenient.
  size_t max_line_length = 1000;
  unsigned max_errors = 10;  // bad commands before "-ERR" and Close
  // Responses held (not yet taken) before processing pauses: pipelined
  // commands wait in the input buffer, a RETR/TOP/LIST/UIDL stops producing
  // until resume(). Output never exceeds about output_limit + 2 * fetch_chunk.
  size_t output_limit = 16 * 1024;
  // wants_input() turns false once this much unprocessed input is buffered.
  size_t input_limit = 64 * 1024;
  size_t fetch_chunk = 64 * 1024;  // at most this many message bytes per Action::Fetch
};

struct ClientInfo {
  std::string address;                // client IP as text, for the host's logs
  bool tls_active = false;            // implicit TLS (pop3s, RFC 8314): true from the start
  bool stls_available = false;        // the listener has a certificate: STLS offered before TLS
  // USER/PASS and AUTH PLAIN are offered and accepted only under TLS unless
  // this is set (the listener's setting, for loopback development).
  bool allow_plaintext_auth = false;
};

struct Hooks {
  // Asked at STLS before the +OK: false (the TLS handshake budget is spent)
  // answers "-ERR [SYS/TEMP]" instead. Unset = always allowed.
  std::function<bool()> admit_tls;
};

// RFC 1939 §3 session states (Closed: the session is over).
enum class State { Authorization, Transaction, Update, Closed };

enum class Phase {
  Command,       // reading commands (AUTHORIZATION or TRANSACTION state)
  SaslResponse,  // "+ " sent for AUTH PLAIN: the next line is the client's response
  AwaitAuth,     // Action::AuthCheck pending: auth_done()
  AwaitMaildrop, // Action::LoadMaildrop pending: maildrop_loaded() / maildrop_refused()
  AwaitMessage,  // Action::Fetch pending: message_data() / message_failed()
  OutputFull,    // a multi-line response paused until the output drained: resume()
  AwaitCommit,   // UPDATE state, Action::Commit pending: commit_done()
  TlsHandshake,  // STLS answered +OK: run the handshake, then tls_started()
  Closed,
};

enum class Action {
  NeedInput,     // write the output; read more if wants_input(); resume() once it drained
  Close,         // write the output, then close the connection
  AuthCheck,     // check auth_request(), then auth_done()
  LoadMaildrop,  // lock and load user()'s maildrop, then maildrop_loaded() or maildrop_refused()
  Fetch,         // read fetch_request(), then message_data() or message_failed()
  Commit,        // remove deletions() in ONE atomic write, then commit_done()
  StartTls,      // write the output (+OK) in plaintext, handshake, then tls_started()
};

enum class AuthResult {
  Ok,         // continue with Action::LoadMaildrop
  Invalid,    // "-ERR [AUTH] ..." (the host has already waited its throttling delay)
  Throttled,  // too many failures for this client/user: "-ERR [SYS/TEMP] ..." and Close
  TempFail,   // users file unreadable...: "-ERR [SYS/TEMP] ...", the client may retry
};

enum class MaildropError {
  InUse,     // another session holds the lock: "-ERR [IN-USE]"
  TempFail,  // store unavailable: "-ERR [SYS/TEMP]"
  PermFail,  // no such mailbox / cannot ever be opened: "-ERR [SYS/PERM]"
};

struct AuthRequest {
  std::string user;
  std::string password;  // never logged; cleared by auth_done()
};

// One message of the maildrop, in maildrop order (message number = index + 1).
struct MessageInfo {
  uint64_t size = 0;  // exact octets as RETR sends them before dot-stuffing (CRLF line ends)
  std::string uidl;   // RFC 1939 §7: 1..70 characters 0x21..0x7E, stable forever
};

struct FetchRequest {
  size_t index = 0;        // into the maildrop (message number - 1)
  uint64_t offset = 0;     // byte offset into the stored message
  size_t max_bytes = 0;    // answer with 1..max_bytes bytes (fewer only at the end)
  bool top = false;        // for TOP (may stop early), not RETR: the host's counters
};

class ServerSession {
 public:
  ServerSession(std::shared_ptr<const ServerConfig> config, ClientInfo client, Hooks hooks = {});
  ~ServerSession();

  // Queue the "+OK" greeting. For implicit TLS, ClientInfo::tls_active.
  void start();
  // Process received bytes (any split; pipelined commands are answered in
  // order). Input arriving while the session waits for the host is buffered.
  Action feed(std::string_view bytes);
  // Continue after the output drained (paused multi-line response, buffered
  // pipelined commands). Returns the pending Action again if one is due.
  Action resume();

  // Answer to Action::AuthCheck. With Ok, `mailbox` names the maildrop to
  // load (the canonical user, e.g. "alice@example.net"); "" = the login name.
  Action auth_done(AuthResult result, std::string mailbox = {});
  const AuthRequest& auth_request() const;

  // Answers to Action::LoadMaildrop. Every UIDL must be valid (see
  // MessageInfo): a maildrop with an invalid one is refused with
  // "-ERR [SYS/PERM]" and the session closes (never sent to a client).
  Action maildrop_loaded(std::vector<MessageInfo> messages);
  Action maildrop_refused(MaildropError error);
  // The authenticated maildrop owner ("" before authentication).
  const std::string& user() const;

  // Answers to Action::Fetch: the bytes at fetch_request().offset; `end`
  // when they reach the end of the stored message. An empty non-end answer
  // counts as a failure. TOP may stop asking before the end of the message
  // (the host then simply drops its read). A failure before the first byte answers
  // "-ERR [SYS/TEMP]"; after it the response cannot be completed and the
  // session closes.
  Action message_data(std::string_view bytes, bool end);
  Action message_failed();
  const FetchRequest& fetch_request() const;

  // Answer to Action::Commit: every deletion was applied (ok) or none was.
  Action commit_done(bool ok);
  // Indexes (message number - 1) marked deleted, ascending.
  std::vector<size_t> deletions() const;

  // TLS is now active after Action::StartTls. RFC 2595 §4: everything learnt
  // in plaintext is forgotten; no new greeting; STLS is no longer offered.
  Action tls_started();
  bool tls_active() const;

  // The host's autologout timer fired (RFC 1939 §3: at least 10 minutes,
  // only while waiting for the client): final "-ERR" line, Close, no UPDATE.
  Action on_timeout();
  // The server is stopping: an idle session gets "-ERR [SYS/TEMP]" and
  // Close at once; a session in the middle of a command (a host request, a
  // paused response) finishes it first. No deletion is applied.
  Action on_shutdown();

  std::string take_output();
  bool has_output() const;
  // Read from the client only while this is true: the session is not
  // waiting for the host, its output is below output_limit and its input
  // buffer below input_limit.
  bool wants_input() const;

  State state() const;
  Phase phase() const;
  size_t buffered_input() const;
  // Messages in the maildrop / not marked deleted (0 before TRANSACTION).
  size_t message_count() const;
  size_t live_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 1939 §7 unique-id syntax: 1..70 characters in 0x21..0x7E.
bool valid_uidl(std::string_view uidl);

}  // namespace ringmta::pop3
