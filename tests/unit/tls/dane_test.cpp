// tests/unit/tls/dane_test.cpp — ClientContext::new_dane_session(): TLSA
// records checked by OpenSSL's DANE code (RFC 7672) against a real server
// session, entirely in memory. The TLSA data is computed here from the
// server's certificate (SHA-256 of its SubjectPublicKeyInfo, "3 1 1").
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>

#include "tls/tls.h"

namespace fs = std::filesystem;
using namespace ringmta::tls;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dane_test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<uint8_t> spki_sha256(const std::string& pem) {
  FILE* f = std::fopen(pem.c_str(), "r");
  if (!f) return {};
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) return {};
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  std::vector<uint8_t> out(32);
  unsigned int n = 0;
  EVP_Digest(der, static_cast<size_t>(len), out.data(), &n, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

// Moves bytes both ways until neither side has anything to send.
void pump(Session& client, Session& server) {
  std::string cg, sg;
  for (int round = 0; round < 100; ++round) {
    std::string c = client.take_output(), s = server.take_output();
    if (c.empty() && s.empty()) return;
    if (!c.empty()) server.feed(c, sg);
    if (!s.empty()) client.feed(s, cg);
  }
  FAIL() << "pump did not settle";
}

struct DaneFixture {
  TempDir dir;
  SelfSigned cert = ensure_self_signed(dir.path.string(), "mx.dane.test");
  std::shared_ptr<ServerContext> server;
  std::shared_ptr<ClientContext> client;
  std::vector<uint8_t> digest = spki_sha256(cert.certificate);

  DaneFixture(bool dane = true) {
    std::string err;
    ServerOptions so;
    so.default_certificate = {cert.certificate, cert.private_key, {}};
    server = ServerContext::create(so, &err);
    EXPECT_TRUE(server) << err;
    ClientOptions co;
    co.verify = Verify::Chain;
    co.dane = dane;
    client = ClientContext::create(co, &err);
    EXPECT_TRUE(client) << err;
    EXPECT_EQ(digest.size(), 32u);
  }
};

TEST(Dane, EeSpkiSha256MatchesWithoutCaOrName) {
  DaneFixture f;
  // DANE-EE needs no CA and checks no name (RFC 7672 §3.1.1): another MX
  // name than the certificate's still verifies.
  for (const char* host : {"mx.dane.test", "other.example"}) {
    auto c = f.client->new_dane_session(host, {DaneTlsa{3, 1, 1, f.digest}});
    ASSERT_TRUE(c);
    auto s = f.server->new_session();
    pump(*c, *s);
    EXPECT_EQ(c->state(), Session::State::Open) << c->error();
    EXPECT_TRUE(c->peer_verified()) << host;
  }
}

TEST(Dane, OneMatchingRecordAmongOthersIsEnough) {
  DaneFixture f;
  auto c = f.client->new_dane_session("mx.dane.test",
                                      {DaneTlsa{3, 1, 1, std::vector<uint8_t>(32, 0)}, DaneTlsa{3, 1, 1, f.digest}});
  ASSERT_TRUE(c);
  auto s = f.server->new_session();
  pump(*c, *s);
  EXPECT_EQ(c->state(), Session::State::Open) << c->error();
}

TEST(Dane, MismatchFailsTheHandshake) {
  DaneFixture f;
  std::vector<uint8_t> wrong = f.digest;
  wrong[0] ^= 0xff;
  auto c = f.client->new_dane_session("mx.dane.test", {DaneTlsa{3, 1, 1, wrong}});
  ASSERT_TRUE(c);
  auto s = f.server->new_session();
  pump(*c, *s);
  EXPECT_EQ(c->state(), Session::State::Failed);
  EXPECT_NE(c->error().find("certificate verify failed"), std::string::npos) << c->error();
}

TEST(Dane, NoUsableRecordOrNoDaneContextGivesNoSession) {
  DaneFixture f;
  EXPECT_FALSE(f.client->new_dane_session("mx.dane.test", {}));
  EXPECT_FALSE(f.client->new_dane_session("mx.dane.test", {DaneTlsa{9, 1, 1, f.digest}}));  // unknown usage
  DaneFixture plain(false);
  EXPECT_FALSE(plain.client->new_dane_session("mx.dane.test", {DaneTlsa{3, 1, 1, plain.digest}}));
}

}  // namespace
