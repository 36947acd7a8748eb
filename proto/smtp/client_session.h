// proto/smtp/client_session.h — the SMTP client side (onward delivery) as a
// pure state machine.
//
// One ClientSession is one connection to a remote MX. Bytes from the server
// go in (feed), commands come out (take_output), and an Action tells the I/O
// glue what to do next. No sockets, no clocks: the glue owns timers and asks
// stage() which RFC 5321 §4.5.3.2 timeout applies, then calls on_timeout().
//
// A connection may carry several transactions (connection reuse): whenever
// the session says Action::Ready, the glue may start_transaction() or quit().
// Each transaction ends with exactly one TransactionResult (take_result())
// holding one RecipientResult per envelope recipient, in envelope order —
// also when the connection dies, times out or talks garbage midway.
//
// Policy implemented here (the "why" is next to the code):
//  - greeting 4xx/5xx, EHLO+HELO refused, 421 or garbage outside a
//    transaction: connection_failure() is set (the caller tries the next MX);
//  - a greeting or EHLO/HELO reply naming ClientConfig::own_hostname: a mail
//    loop; QUIT, and connection_failure() is a permanent 554 5.4.6;
//  - EHLO 5xx falls back to HELO (no extensions then);
//  - PIPELINING (RFC 2920): MAIL, all RCPTs and DATA go out in one write;
//  - CHUNKING (RFC 3030), when offered and ClientConfig::use_chunking: the
//    body goes as one "BDAT <n> LAST" instead of DATA. With PIPELINING that
//    is in the same write as MAIL and the RCPTs, so a transaction costs one
//    round trip instead of two (no 354 to wait for) — the cost that matters
//    when a relay hands thousands of messages a second to a smart host, and
//    what Exim does by default. No dot-stuffing; bare LF and bare CR still
//    become CRLF and a missing final line end is added, counted before the
//    size is sent. The body is sent even when every RCPT is refused (the server must read
//    it; the BDAT reply is then ignored, as for a lone "." after 354);
//  - remote SIZE smaller than the message: permanent 5.3.4, nothing sent;
//  - SMTPUTF8 message, remote without SMTPUTF8: permanent 5.6.7 (RFC 6531 §3.2)
//    when an envelope address or the header section is non-ASCII; otherwise
//    it is sent without the SMTPUTF8 parameter;
//  - 8BITMIME body, remote without 8BITMIME: sent anyway without BODY=
//    (Postfix's default; converting to quoted-printable is not done);
//  - BINARYMIME is refused locally (permanent 5.6.3): it would need the body
//    sent unaltered by BDAT to a BINARYMIME server, and ringmta's own SMTP
//    server does not offer BINARYMIME, so no such message is ever queued;
//  - DSN parameters only when the remote offers DSN; otherwise they are dropped
//    and accepted recipients are marked `relayed` when they asked for
//    NOTIFY=SUCCESS, so the caller can send a "relayed" DSN (RFC 3461 §5.2.2);
//  - RCPT 452/552 "too many recipients": temporary for that recipient (552
//    counts as 452, RFC 5321 §4.5.3.1.10); without pipelining the remaining
//    recipients are not tried and fail temporarily with the same reply;
//  - no recipient accepted: the message is not sent (a 354 from a pipelining
//    server gets a lone "." and its reply is ignored, RFC 2920 §3.1);
//  - the message is dot-stuffed, bare LF and bare CR become CRLF (so the
//    only "." line is ours, whatever the receiver takes as a line end), a
//    missing final CRLF is added; it leaves in pieces
//    (ClientConfig::data_piece) so a big body is never copied whole; a reply that arrives before the body is out ends
//    the connection (the rest would be read as commands);
//  - after a failed transaction RSET is sent before the next MAIL (lazily,
//    with the next transaction, so a QUIT needs none);
//  - any 421, garbage (ReplyParser error), a timeout or a disconnect: whatever
//    is pending fails temporarily (never permanently) and the session closes;
//  - addresses with control characters or <> are refused locally (5.1.7 /
//    5.1.3), ORCPT types that are not atoms are dropped: no command injection.
//
// STARTTLS (RFC 3207): with ClientConfig::offer_starttls the session stops
// after EHLO with Action::StartTlsOffered when the remote offers it; the glue
// calls starttls() (sends STARTTLS; on 220 → Action::StartTlsHandshake, the
// glue runs the handshake and calls tls_established(), which re-issues EHLO)
// or skip_starttls(). Without the flag the session never stops there.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/smtp/reply_parser.h"
#include "proto/smtp/server_session.h"  // Recipient, NotifyBits, Ret, BodyType

namespace ringmta::smtp {

struct ClientConfig {
  std::string hostname = "localhost";  // EHLO/HELO argument
  // Our own host name (server.hostname): a greeting or EHLO/HELO reply whose
  // first word is this name (any case) is a mail loop — QUIT, and the
  // connection fails permanently with 554 5.4.6. "" = no such check.
  std::string own_hostname;
  bool use_pipelining = true;          // pipeline when the remote offers PIPELINING
  bool use_chunking = true;            // BDAT instead of DATA when the remote offers CHUNKING
  bool offer_starttls = false;         // stop with Action::StartTlsOffered (see above)
  ReplyLimits reply_limits;            // per-line / per-reply caps on server replies
  size_t data_piece = 64 * 1024;       // message bytes per take_output() during DATA/BDAT
};

// What the remote announced in its EHLO reply.
struct Capabilities {
  bool esmtp = false;          // EHLO accepted (false after the HELO fallback)
  bool pipelining = false;
  bool size = false;           // SIZE keyword present
  uint64_t size_limit = 0;     // SIZE argument; 0 = no fixed limit
  bool eightbitmime = false;
  bool binarymime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool starttls = false;
  bool chunking = false;
  bool enhancedstatuscodes = false;
  std::vector<std::string> auth;      // AUTH mechanisms, upper-case
  std::vector<std::string> keywords;  // every EHLO keyword line, keyword upper-cased
  std::string remote_name;            // first word of the EHLO/HELO reply
};

// The envelope of one outbound transaction. `recipients` use the server
// session's Recipient (address, decoded ORCPT, NotifyBits).
struct OutboundEnvelope {
  std::string sender;  // reverse-path without <>; "" = null sender
  std::vector<Recipient> recipients;
  uint64_t size = 0;   // SIZE= to declare; 0 = the message's byte count
  BodyType body = BodyType::Unspecified;
  bool smtputf8 = false;
  Ret ret = Ret::Unspecified;
  std::string envid;   // decoded ENVID; xtext-encoded on the wire
};

// Where the session is, i.e. which reply it waits for. The glue maps this to
// RFC 5321 §4.5.3.2 timeouts: Greeting 5 min, Ehlo/Helo 5 min, Mail 5 min,
// Rcpt 5 min, DataInit 2 min, DataBlock 3 min (per write of the body),
// EndOfData 10 min, Rset/Quit/StartTls 5 min. Idle and Closed have none.
enum class Stage : uint8_t {
  Greeting, Ehlo, Helo, StartTls, Idle, Rset, Mail, Rcpt, DataInit, DataBlock, EndOfData, Quit, Closed,
};
std::string_view to_string(Stage stage);
// The RFC 5321 §4.5.3.2 minimum for `stage` in seconds (0 for Idle/Closed):
// a default for the glue's timers, which may use its own configuration.
unsigned rfc5321_timeout_seconds(Stage stage);

enum class Outcome : uint8_t { Accepted, TempFail, PermFail };
std::string_view to_string(Outcome outcome);

struct RecipientResult {
  Outcome outcome = Outcome::TempFail;
  int code = 0;          // basic reply code (a local diagnostic uses a fitting one)
  std::string enhanced;  // always set: from the reply or derived (4.0.0, 5.0.0)
  std::string text;      // "550 5.1.1 ..." (Reply::str()) or a local diagnostic
  Stage stage = Stage::Idle;  // command whose reply (or timeout) decided this
  bool local = false;    // generated here, not a remote reply (no "smtp;" Diagnostic-Code)
  bool relayed = false;  // accepted by a remote without DSN while NOTIFY had SUCCESS
};

struct TransactionResult {
  std::vector<RecipientResult> recipients;  // one per envelope recipient, same order
  bool remote_dsn = false;  // the remote offered DSN: NOTIFY/ORCPT/RET/ENVID were passed on
};

// Why the connection as a whole failed (caller: try the next MX, or defer).
struct ConnectionFailure {
  bool permanent = false;  // 5xx greeting / HELO refusal
  int code = 0;
  std::string enhanced;
  std::string text;
  Stage stage = Stage::Greeting;
  bool local = false;
};

enum class ClientAction {
  NeedInput,          // write output (if any), then wait for server bytes
  Ready,              // idle: start_transaction() or quit() (write output first)
  StartTlsOffered,    // only with offer_starttls: call starttls() or skip_starttls()
  StartTlsHandshake,  // STARTTLS got 220: run the TLS handshake, then tls_established()
  Close,              // write output (if any), then close the connection
};
std::string_view to_string(ClientAction action);

class ClientSession {
 public:
  explicit ClientSession(ClientConfig config);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;
  ClientSession(ClientSession&&) noexcept;
  ClientSession& operator=(ClientSession&&) noexcept;

  // Process bytes from the server (any split).
  ClientAction feed(std::string_view bytes);
  // Begin a transaction; only valid when the last action was Ready (else its
  // recipients fail temporarily at once). `message` (CRLF lines, not yet
  // dot-stuffed) must stay valid until this transaction's result is taken.
  ClientAction start_transaction(OutboundEnvelope envelope, std::string_view message);
  // Send QUIT (when idle); the session closes on the reply.
  ClientAction quit();
  // The glue's timer for stage() fired: everything pending fails temporarily
  // ("timeout in stage X") and the session closes without further commands.
  ClientAction on_timeout();
  // The server closed the connection (EOF or reset).
  ClientAction on_disconnect();
  // All output taken so far has been written: once the whole message is
  // out, DataBlock becomes EndOfData (the glue re-arms its timer per write).
  // With BDAT the body may still be going out while the MAIL and RCPT
  // replies come in; stage() says DataBlock only once those are in.
  void output_written();

  // STARTTLS hook (see the file comment).
  ClientAction starttls();
  ClientAction skip_starttls();
  ClientAction tls_established();
  bool tls_active() const;

  // Bytes to write. During DATA/BDAT the message goes out in pieces of about
  // ClientConfig::data_piece: keep calling while has_output() (each call
  // after the previous piece is written bounds the memory per connection).
  std::string take_output();
  bool has_output() const;
  // Finished transactions, oldest first.
  bool has_result() const;
  TransactionResult take_result();

  Stage stage() const;
  bool closed() const;
  bool in_transaction() const;
  const Capabilities& capabilities() const;
  const std::optional<ConnectionFailure>& connection_failure() const;
  const std::string& greeting() const;  // text of the 220 greeting
  // Reply to a refused STARTTLS ("454 ..."), empty otherwise; the glue decides
  // whether to go on in clear text or quit().
  const std::string& starttls_refusal() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmta::smtp
