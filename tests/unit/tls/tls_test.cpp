// tests/unit/tls/tls_test.cpp — tls::Session client <-> server entirely in
// memory: handshake, data both ways in arbitrary splits, resumption, version
// floor, SNI, verification, reload, close_notify and garbage input.
// Certificates come from ensure_self_signed() in a temporary directory.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "tls/tls.h"

namespace fs = std::filesystem;
using namespace ringmta::tls;

namespace {

// A fresh temporary directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tls_test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string sub(const std::string& name) const { return (path / name).string(); }
};

CertificateFiles make_cert(const TempDir& t, const std::string& host) {
  SelfSigned s = ensure_self_signed(t.sub(host), host);
  EXPECT_EQ(s.error, "");
  EXPECT_TRUE(s.created);
  return {s.certificate, s.private_key, {}};
}

// Move bytes between the two sessions until neither has anything to say.
// `chunk` limits each delivery (0 = whole), `rng` randomises the size.
struct Pump {
  Session& client;
  Session& server;
  std::string client_got, server_got;
  size_t chunk = 0;
  std::mt19937* rng = nullptr;

  Pump(Session& c, Session& s, size_t chunk_limit = 0, std::mt19937* random = nullptr)
      : client(c), server(s), chunk(chunk_limit), rng(random) {}

  void deliver(Session& to, std::string bytes, std::string& got) {
    size_t pos = 0;
    while (pos < bytes.size()) {
      size_t n = bytes.size() - pos;
      if (chunk) n = std::min(n, rng ? 1 + (*rng)() % chunk : chunk);
      to.feed(std::string_view(bytes).substr(pos, n), got);
      pos += n;
    }
  }
  void run() {
    for (int round = 0; round < 1000; ++round) {
      std::string c = client.take_output(), s = server.take_output();
      if (c.empty() && s.empty()) return;
      deliver(server, std::move(c), server_got);
      deliver(client, std::move(s), client_got);
    }
    FAIL() << "pump did not settle";
  }
};

struct Fixture {
  TempDir dir;
  CertificateFiles main_cert = make_cert(dir, "mx.example.test");
  std::shared_ptr<ServerContext> server_ctx;
  std::shared_ptr<ClientContext> client_ctx;

  explicit Fixture(ServerOptions so = {}, ClientOptions co = {}) {
    if (so.default_certificate.certificate.empty()) so.default_certificate = main_cert;
    std::string err;
    server_ctx = ServerContext::create(so, &err);
    EXPECT_TRUE(server_ctx) << err;
    if (co.ca_file.empty()) co.ca_file = main_cert.certificate;
    client_ctx = ClientContext::create(co, &err);
    EXPECT_TRUE(client_ctx) << err;
  }
};

TEST(Tls, HandshakeAndDataBothWays) {
  Fixture f;
  auto client = f.client_ctx->new_session("mx.example.test");
  auto server = f.server_ctx->new_session();
  ASSERT_TRUE(client && server);
  EXPECT_TRUE(client->has_output());  // ClientHello ready at once
  client->write("early from client");  // held until the handshake is done
  Pump p{*client, *server};
  p.run();
  ASSERT_EQ(client->state(), Session::State::Open) << client->error();
  ASSERT_EQ(server->state(), Session::State::Open) << server->error();
  EXPECT_EQ(p.server_got, "early from client");
  server->write("hello from server");
  p.run();
  EXPECT_EQ(p.client_got, "hello from server");
  EXPECT_EQ(client->version(), "TLSv1.3");
  EXPECT_EQ(server->version(), "TLSv1.3");
  EXPECT_EQ(client->cipher(), server->cipher());
  EXPECT_EQ(describe(*server), "TLS1.3 " + server->cipher());
  EXPECT_GE(server->cipher_bits(), 128);
  EXPECT_TRUE(client->peer_verified()) << client->verify_error();
  EXPECT_EQ(client->peer_subject(), "/CN=mx.example.test");
  EXPECT_EQ(server->server_name(), "mx.example.test");
  EXPECT_FALSE(client->resumed());
}

TEST(Tls, ArbitrarySplitsAndLargeData) {
  Fixture f;
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{1000}, size_t{20000}}) {
    std::mt19937 rng(static_cast<unsigned>(chunk));
    auto client = f.client_ctx->new_session("mx.example.test");
    auto server = f.server_ctx->new_session();
    Pump p{*client, *server, chunk, &rng};
    p.run();
    ASSERT_EQ(server->state(), Session::State::Open) << "chunk " << chunk << ": " << server->error();
    std::string up, down;
    for (size_t i = 0; i < 300000; ++i) up += static_cast<char>(rng());
    for (size_t i = 0; i < 200000; ++i) down += static_cast<char>('a' + i % 26);
    // Written in uneven pieces, interleaved both ways.
    for (size_t pos = 0; pos < up.size(); pos += 40000) client->write(std::string_view(up).substr(pos, 40000));
    for (size_t pos = 0; pos < down.size(); pos += 333) server->write(std::string_view(down).substr(pos, 333));
    p.run();
    EXPECT_EQ(p.server_got.size(), up.size());
    EXPECT_TRUE(p.server_got == up) << "chunk " << chunk;
    EXPECT_TRUE(p.client_got == down) << "chunk " << chunk;
  }
}

TEST(Tls, ResumptionWithTicket) {
  Fixture f;
  auto c1 = f.client_ctx->new_session("mx.example.test");
  auto s1 = f.server_ctx->new_session();
  Pump p1{*c1, *s1};
  p1.run();
  s1->write("x");  // TLS 1.3 tickets follow the handshake; make the client read them
  p1.run();
  TicketPtr ticket = c1->ticket();
  ASSERT_TRUE(ticket);

  auto c2 = f.client_ctx->new_session("mx.example.test", {}, ticket);
  auto s2 = f.server_ctx->new_session();
  Pump p2{*c2, *s2};
  p2.run();
  ASSERT_EQ(s2->state(), Session::State::Open) << s2->error();
  EXPECT_TRUE(c2->resumed());
  EXPECT_TRUE(s2->resumed());
}

TEST(Tls, ResumptionOffMeansFullHandshake) {
  ServerOptions so;
  so.resumption = false;
  Fixture f(so);
  auto c1 = f.client_ctx->new_session("mx.example.test");
  auto s1 = f.server_ctx->new_session();
  Pump p1{*c1, *s1};
  p1.run();
  s1->write("x");
  p1.run();
  TicketPtr ticket = c1->ticket();  // no ticket was issued
  auto c2 = f.client_ctx->new_session("mx.example.test", {}, ticket);
  auto s2 = f.server_ctx->new_session();
  Pump p2{*c2, *s2};
  p2.run();
  ASSERT_EQ(s2->state(), Session::State::Open) << s2->error();
  EXPECT_FALSE(s2->resumed());
}

TEST(Tls, Tls12WorksWithModernCipher) {
  Fixture f;
  auto server = f.server_ctx->new_session();
  // A raw OpenSSL client capped at TLS 1.2 (the API has no such knob).
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  SSL* ssl = SSL_new(ctx);
  BIO* rb = BIO_new(BIO_s_mem());
  BIO* wb = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rb, -1);
  SSL_set_bio(ssl, rb, wb);
  SSL_set_connect_state(ssl);
  std::string got;
  for (int i = 0; i < 20 && SSL_do_handshake(ssl) != 1; ++i) {
    char buf[65536];
    int n;
    std::string out;
    while ((n = BIO_read(wb, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    server->feed(out, got);
    std::string back = server->take_output();
    BIO_write(rb, back.data(), static_cast<int>(back.size()));
  }
  EXPECT_EQ(server->state(), Session::State::Open) << server->error();
  EXPECT_EQ(server->version(), "TLSv1.2");
  EXPECT_EQ(server->cipher().rfind("ECDHE-", 0), 0u) << server->cipher();
  EXPECT_NE(server->cipher().find("GCM"), std::string::npos) << server->cipher();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
}

// A raw OpenSSL client limited to `version`, run against our server session.
std::string handshake_with_max_version(Fixture& f, int version, Session::State* server_state) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");  // let the old version be offered at all
  SSL* ssl = SSL_new(ctx);
  BIO* rb = BIO_new(BIO_s_mem());
  BIO* wb = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rb, -1);
  SSL_set_bio(ssl, rb, wb);
  SSL_set_connect_state(ssl);
  auto server = f.server_ctx->new_session();
  std::string got;
  for (int i = 0; i < 20; ++i) {
    int r = SSL_do_handshake(ssl);
    char buf[65536];
    int n;
    std::string out;
    while ((n = BIO_read(wb, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    if (out.empty() && r != 1) break;
    server->feed(out, got);
    std::string back = server->take_output();
    if (back.empty()) break;
    BIO_write(rb, back.data(), static_cast<int>(back.size()));
  }
  *server_state = server->state();
  std::string err = server->error();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return err;
}

TEST(Tls, OldVersionsRefused) {
  Fixture f;
  for (int v : {TLS1_1_VERSION, TLS1_VERSION}) {
    Session::State st;
    std::string err = handshake_with_max_version(f, v, &st);
    EXPECT_EQ(st, Session::State::Failed) << v;
    EXPECT_NE(err.find("unsupported protocol"), std::string::npos) << err;
  }
}

TEST(Tls, SniPicksCertificate) {
  TempDir d;
  ServerOptions so;
  so.default_certificate = make_cert(d, "default.example.test");
  CertificateFiles org = make_cert(d, "mail.example.org");
  org.names = {"mail.example.org", "smtp.example.org"};
  CertificateFiles net = make_cert(d, "wild.example.net");
  net.names = {"*.example.net"};
  so.sni = {org, net};
  std::string err;
  auto sctx = ServerContext::create(so, &err);
  ASSERT_TRUE(sctx) << err;
  auto cctx = ClientContext::create({}, &err);
  ASSERT_TRUE(cctx) << err;
  struct Case {
    const char* sni;
    const char* subject;
  } cases[] = {
      {"mail.example.org", "/CN=mail.example.org"},
      {"SMTP.Example.ORG", "/CN=mail.example.org"},
      {"a.example.net", "/CN=wild.example.net"},
      {"a.b.example.net", "/CN=default.example.test"},  // a wildcard covers one label
      {"example.net", "/CN=default.example.test"},
      {"other.test", "/CN=default.example.test"},
      {"", "/CN=default.example.test"},  // no SNI
  };
  for (const auto& c : cases) {
    auto client = cctx->new_session(c.sni);
    auto server = sctx->new_session();
    Pump p{*client, *server};
    p.run();
    ASSERT_EQ(client->state(), Session::State::Open) << c.sni << ": " << client->error();
    EXPECT_EQ(client->peer_subject(), c.subject) << c.sni;
    EXPECT_EQ(server->server_name(), c.sni);
  }
}

TEST(Tls, VerifyChainChecksName) {
  ClientOptions co;
  co.verify = Verify::Chain;
  Fixture f({}, co);
  {
    auto client = f.client_ctx->new_session("mx.example.test");
    auto server = f.server_ctx->new_session();
    Pump p{*client, *server};
    p.run();
    EXPECT_EQ(client->state(), Session::State::Open) << client->error();
    EXPECT_TRUE(client->peer_verified());
  }
  {
    auto client = f.client_ctx->new_session("wrong.example.test");
    auto server = f.server_ctx->new_session();
    Pump p{*client, *server};
    p.run();
    EXPECT_EQ(client->state(), Session::State::Failed);
    EXPECT_NE(client->error().find("certificate verify failed"), std::string::npos) << client->error();
    EXPECT_NE(client->error().find("hostname mismatch"), std::string::npos) << client->error();
    EXPECT_EQ(server->state(), Session::State::Failed);  // got the alert
  }
  {
    // SNI one name, check another (MX host name vs. the name we dialled).
    auto client = f.client_ctx->new_session("wrong.example.test", "mx.example.test");
    auto server = f.server_ctx->new_session();
    Pump p{*client, *server};
    p.run();
    EXPECT_EQ(client->state(), Session::State::Open) << client->error();
  }
}

TEST(Tls, VerifyChainRejectsUnknownIssuer) {
  TempDir other;
  ClientOptions co;
  co.verify = Verify::Chain;
  co.ca_file = make_cert(other, "mx.example.test").certificate;  // same name, different key
  Fixture f({}, co);
  auto client = f.client_ctx->new_session("mx.example.test");
  auto server = f.server_ctx->new_session();
  Pump p{*client, *server};
  p.run();
  EXPECT_EQ(client->state(), Session::State::Failed);
  EXPECT_NE(client->error().find("certificate verify failed"), std::string::npos) << client->error();
}

TEST(Tls, VerifyNoneRecordsResult) {
  Fixture f;  // Verify::None
  auto client = f.client_ctx->new_session("wrong.example.test");
  auto server = f.server_ctx->new_session();
  Pump p{*client, *server};
  p.run();
  ASSERT_EQ(client->state(), Session::State::Open) << client->error();
  EXPECT_FALSE(client->peer_verified());
  EXPECT_EQ(client->verify_error(), "hostname mismatch");
}

TEST(Tls, ReloadServesNewCertificateToNewSessionsOnly) {
  TempDir d;
  CertificateFiles a = make_cert(d, "old.example.test");
  CertificateFiles b = make_cert(d, "new.example.test");
  // The configured paths stay the same; their contents change (as with certbot).
  CertificateFiles live{d.sub("live-cert.pem"), d.sub("live-key.pem"), {}};
  fs::copy_file(a.certificate, live.certificate);
  fs::copy_file(a.private_key, live.private_key);
  ServerOptions so;
  so.default_certificate = live;
  std::string err;
  auto sctx = ServerContext::create(so, &err);
  ASSERT_TRUE(sctx) << err;
  auto cctx = ClientContext::create({}, &err);
  EXPECT_EQ(sctx->generation(), 1u);

  auto c_old = cctx->new_session("x");
  auto s_old = sctx->new_session();
  Pump p_old{*c_old, *s_old};
  p_old.run();
  EXPECT_EQ(c_old->peer_subject(), "/CN=old.example.test");

  // A broken file is refused and changes nothing.
  { std::ofstream(live.certificate, std::ios::trunc) << "garbage"; }
  EXPECT_FALSE(sctx->reload(so, &err));
  EXPECT_NE(err.find(live.certificate), std::string::npos) << err;
  EXPECT_EQ(sctx->generation(), 1u);

  fs::copy_file(b.certificate, live.certificate, fs::copy_options::overwrite_existing);
  fs::copy_file(b.private_key, live.private_key, fs::copy_options::overwrite_existing);
  ASSERT_TRUE(sctx->reload(so, &err)) << err;
  EXPECT_EQ(sctx->generation(), 2u);

  auto c_new = cctx->new_session("x");
  auto s_new = sctx->new_session();
  Pump p_new{*c_new, *s_new};
  p_new.run();
  EXPECT_EQ(c_new->peer_subject(), "/CN=new.example.test");

  // The connection made before the reload still works.
  c_old->write("still here");
  p_old.run();
  EXPECT_EQ(p_old.server_got, "still here");
  EXPECT_EQ(s_old->state(), Session::State::Open);
}

TEST(Tls, MismatchedKeyRefused) {
  TempDir d;
  CertificateFiles a = make_cert(d, "a.example.test");
  CertificateFiles b = make_cert(d, "b.example.test");
  ServerOptions so;
  so.default_certificate = {a.certificate, b.private_key, {}};
  std::string err;
  EXPECT_FALSE(ServerContext::create(so, &err));
  EXPECT_NE(err.find("mismatch"), std::string::npos) << err;
  so.default_certificate = {d.sub("missing.pem"), a.private_key, {}};
  EXPECT_FALSE(ServerContext::create(so, &err));
  EXPECT_NE(err.find("missing.pem"), std::string::npos) << err;
  so.default_certificate = a;
  so.ciphers = "RC4-MD5";  // nothing usable left
  EXPECT_FALSE(ServerContext::create(so, &err));
}

TEST(Tls, CloseNotifyBothWays) {
  Fixture f;
  auto client = f.client_ctx->new_session("mx.example.test");
  auto server = f.server_ctx->new_session();
  Pump p{*client, *server};
  p.run();
  client->write("last words");
  client->close();
  client->write("dropped");  // after close_notify nothing more is sent
  p.run();
  EXPECT_EQ(p.server_got, "last words");
  EXPECT_EQ(server->state(), Session::State::Closed);
  EXPECT_EQ(client->state(), Session::State::Closed);  // the server answered
}

TEST(Tls, GarbageFailsCleanly) {
  Fixture f;
  auto server = f.server_ctx->new_session();
  std::string got;
  EXPECT_EQ(server->feed("RSET\r\nQUIT\r\n", got), Session::State::Failed);
  EXPECT_FALSE(server->error().empty());
  EXPECT_EQ(got, "");
  EXPECT_EQ(server->feed("more", got), Session::State::Failed);  // stays failed
  // Random bytes after a good handshake.
  auto client = f.client_ctx->new_session("mx.example.test");
  auto s2 = f.server_ctx->new_session();
  Pump p{*client, *s2};
  p.run();
  std::string junk(5000, '\x17');
  EXPECT_EQ(s2->feed(junk, got), Session::State::Failed);
}

TEST(Tls, SelfSignedCreatedOnceAndUsable) {
  TempDir d;
  SelfSigned first = ensure_self_signed(d.sub("data"), "relay.example.test");
  ASSERT_EQ(first.error, "");
  EXPECT_TRUE(first.created);
  struct stat st{};
  ASSERT_EQ(::stat(first.private_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  SelfSigned again = ensure_self_signed(d.sub("data"), "relay.example.test");
  EXPECT_EQ(again.error, "");
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.certificate, first.certificate);
  // A file in the way of the directory is an error, not a crash.
  { std::ofstream(d.sub("file")) << "x"; }
  SelfSigned bad = ensure_self_signed(d.sub("file"), "relay.example.test");
  EXPECT_NE(bad.error, "");
}

}  // namespace
