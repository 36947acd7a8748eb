// relay/proto/server_session.h — the SMTP server side as a pure state machine.
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
  std::vector<std::string> local_domains;   // lower-case; relay allowed to these for anyone
};

struct ClientInfo {
  std::string address;   // client IP as text
  bool trusted = false;  // inside relay.trusted_networks: may relay to any domain
};

struct Hooks {
  std::function<std::string()> new_queue_id;  // called once per message, at DATA/BDAT start
  std::function<int64_t()> now_unix;          // seconds since the epoch (Received: date)
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
  // The message as it will be stored: our Received: header first, then the
  // client's bytes with dot-stuffing undone. Lines end in CRLF.
  std::string message;
};

enum class Action {
  NeedInput,  // write any output, then wait for more bytes
  Commit,     // write output, persist transaction(), then call commit_done()
  Close,      // write output, then close the connection
};

enum class Phase { Command, Data, Bdat, AwaitCommit, Closed };

class ServerSession {
 public:
  ServerSession(std::shared_ptr<const ServerConfig> config, ClientInfo client, Hooks hooks);
  ~ServerSession();

  // Queue the 220 greeting.
  void start();
  // Process received bytes (any split; pipelined commands welcome).
  Action feed(std::string_view bytes);
  // The transaction handed out with Action::Commit is durable (ok) or failed
  // with `error_reply` (a full reply line without CRLF, e.g.
  // "451 4.3.0 Queue write failed"). Resumes processing of buffered input.
  Action commit_done(bool ok, std::string_view error_reply = {});
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
