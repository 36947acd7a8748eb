// tls/tls.h — TLS for ringmta's protocols, OpenSSL 3 driven through memory
// BIOs: bytes in, bytes out, no sockets, no blocking.
//
// The engine owns the socket; a protocol's glue code hands the ciphertext it
// reads to Session::feed() and sends whatever Session::take_output() returns.
// Nothing here knows SMTP, so POP3/IMAP (STLS, implicit TLS) and the outbound
// SMTP client reuse it unchanged.
//
//   ServerContext  certificate + key (plus extra ones chosen by SNI), TLS 1.2
//                  and 1.3 only, modern ciphers, session tickets/resumption;
//                  reload() swaps certificates in for NEW connections while
//                  existing ones keep the context they started with.
//   ClientContext  for connecting out: verify none / chain+host name against
//                  the system CA store (or a given CA file), SNI.
//   Session        one connection, either side.
//
// Threads: contexts are shared by all shards (new_session() and reload() are
// thread-safe); a Session belongs to one thread. Errors are values: creation
// functions return null and fill `error`; a Session reports failure through
// its state and error().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::tls {

class Session;

// A client's resumable TLS session (ticket), opaque. Take it from an open
// client Session (ticket()) and pass it to ClientContext::new_session() for
// the next connection to the same server: an abbreviated handshake follows
// if the server still accepts it.
class Ticket;
using TicketPtr = std::shared_ptr<const Ticket>;

// TLS 1.2 cipher list (OpenSSL syntax): ECDHE key exchange with AEAD ciphers
// only — no RSA key exchange, no CBC, no SHA-1 MACs, no RC4/3DES/export.
// TLS 1.3 suites are all AEAD; OpenSSL's defaults are used for them.
inline constexpr std::string_view kModernCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// A certificate chain file (PEM: leaf first, then intermediates) and its key.
struct CertificateFiles {
  std::string certificate;
  std::string private_key;
  // Host names this pair serves when the client's SNI asks for them (exact,
  // case-insensitive, or "*.example.com" for one label). Ignored for the
  // default pair, which answers everything else (and clients without SNI).
  std::vector<std::string> names;
};

struct ServerOptions {
  CertificateFiles default_certificate;
  std::vector<CertificateFiles> sni;
  // Session resumption (TLS 1.3 tickets, TLS 1.2 tickets and session IDs).
  // Off = every connection pays for a full handshake (benchmarks, paranoia).
  bool resumption = true;
  std::string ciphers{kModernCiphers};  // TLS 1.2 list
};

class ServerContext {
 public:
  // Loads every certificate/key pair and checks that each key matches its
  // certificate. Null and `error` (naming the file) on failure.
  static std::shared_ptr<ServerContext> create(const ServerOptions& options, std::string* error);
  ~ServerContext();

  // Re-read the files of `options` (typically the same paths with new
  // contents). On success new_session() hands out the new certificates from
  // now on; sessions already created keep the old ones until they end. On
  // failure nothing changes and `error` says why. Blocking file I/O: call it
  // off the shard threads (the daemon does it on SIGHUP in its main thread).
  bool reload(const ServerOptions& options, std::string* error);
  // How many successful loads so far (1 after create); for logs and tests.
  uint64_t generation() const;

  // A server-side session using the current certificates. Thread-safe.
  std::unique_ptr<Session> new_session();

  struct Impl;
 private:
  ServerContext();
  std::unique_ptr<Impl> impl_;
};

enum class Verify {
  None,   // encrypt, accept any certificate (the result is still recorded)
  Chain,  // chain must verify against the CA store and match the host name
};

struct ClientOptions {
  Verify verify = Verify::None;
  // PEM file of trusted CAs; empty = the system store (/etc/ssl/certs).
  std::string ca_file;
  // With ca_file: trust the system store as well (ca_file adds to it).
  bool also_system_store = false;
  // TLS 1.2 list. Outbound opportunistic TLS may want something broader
  // (e.g. "DEFAULT") so that old receivers still get encryption rather than
  // plaintext; the default is the same modern list the server uses.
  std::string ciphers{kModernCiphers};
  // Enable DANE (SSL_CTX_dane_enable) so new_dane_session() works. The
  // delivery agent keeps one such context for MX hosts with TLSA records.
  bool dane = false;
};

// One usable TLSA record for new_dane_session() (dns/tlsa.h parses them).
struct DaneTlsa {
  uint8_t usage = 0;
  uint8_t selector = 0;
  uint8_t mtype = 0;
  std::vector<uint8_t> data;
};

class ClientContext {
 public:
  static std::shared_ptr<ClientContext> create(const ClientOptions& options, std::string* error);
  ~ClientContext();

  // A client-side session. `server_name` is sent as SNI (unless it is empty
  // or an IP address) and, with Verify::Chain, must match the certificate.
  // `verify_name` overrides the name checked (empty = server_name). The
  // check is always done and reported by Session::peer_verified(); only
  // Verify::Chain fails the handshake on a mismatch. Thread-safe.
  std::unique_ptr<Session> new_session(std::string_view server_name, std::string_view verify_name = {},
                                       TicketPtr resume = nullptr);
  // A client session verified by DANE (RFC 7672 §3) with OpenSSL's own
  // SSL_dane_* code: the handshake fails unless the server's chain matches
  // one of `records`. DANE-EE(3) records skip the name check (§3.1.1);
  // DANE-TA(2) ones check `host` (the MX name, also the SNI). Null if the
  // context was made without ClientOptions::dane, or if none of the records
  // is usable by OpenSSL. No resumption: a resumed session was not checked
  // against today's records. Thread-safe.
  std::unique_ptr<Session> new_dane_session(std::string_view host, const std::vector<DaneTlsa>& records);

  struct Impl;
 private:
  ClientContext();
  std::unique_ptr<Impl> impl_;
};

// One TLS connection. Drive it with feed()/write()/take_output():
//   * a client session has its ClientHello ready in take_output() at once;
//   * feed() every byte read from the socket, in any split; decrypted
//     application data is appended to `plaintext`;
//   * after every call, send take_output() to the peer;
//   * write() before the handshake completes is kept and sent after it.
class Session {
 public:
  enum class State {
    Handshaking,
    Open,    // handshake done: data flows
    Closed,  // the peer sent close_notify (or we did and it answered)
    Failed,  // fatal error; error() says why. Send take_output() (an alert), then close.
  };

  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Ciphertext from the peer. Returns the state afterwards.
  State feed(std::string_view ciphertext, std::string& plaintext);
  // Plaintext to send (encrypted at once when Open, else held until Open).
  void write(std::string_view plaintext);
  // Ciphertext for the peer (handshake, application data, alerts).
  std::string take_output();
  bool has_output() const;
  // Send close_notify (once); further write()s are dropped.
  void close();

  State state() const;
  bool is_server() const;
  bool handshake_done() const;   // reached Open at some point
  const std::string& error() const;

  // After the handshake ("" before):
  std::string version() const;      // "TLSv1.3"
  std::string cipher() const;       // "TLS_AES_256_GCM_SHA384"
  int cipher_bits() const;
  bool resumed() const;             // abbreviated handshake (session reuse)
  std::string server_name() const;  // SNI the client asked for ("" if none)
  // Peer certificate check (client side: the server's chain and name; server
  // side: only meaningful if client certificates were asked for — not yet).
  bool peer_has_certificate() const;
  bool peer_verified() const;
  std::string verify_error() const; // OpenSSL's reason when not verified
  std::string peer_subject() const; // one-line subject of the peer certificate
  // Client side: the session to resume next time, or null. TLS 1.3 servers
  // send tickets after the handshake, so ask after some data was exchanged.
  TicketPtr ticket() const;

  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// "TLS1.3 TLS_AES_256_GCM_SHA384" — the short form for Received: headers and
// logs ("" before the handshake).
std::string describe(const Session& session);

struct SelfSigned {
  std::string certificate;  // paths
  std::string private_key;
  bool created = false;     // false: both files were already there
  std::string error;        // non-empty on failure
};

// Make sure `dir` holds a certificate and key for `hostname`: reuse
// DIR/selfsigned-cert.pem + DIR/selfsigned-key.pem when both exist, else
// create them (EC P-256 key, SHA-256 signature, subjectAltName DNS:hostname,
// valid for 10 years; the key file is mode 0600, written atomically).
SelfSigned ensure_self_signed(const std::string& dir, const std::string& hostname);

}  // namespace ringmta::tls
