// tests/unit/dkim/signer_test.cpp — h= selection with over-signing, the
// folded DKIM-Signature field, key loading checks, and signing: the RFC 8463
// Appendix A Ed25519 signature reproduced from its key (Ed25519 is
// deterministic, so the same hash must give the same b=), RSA signatures
// verified with OpenSSL against the published key record, known body hashes.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <cstdlib>
#include <fstream>

#include "base/base64.h"
#include "dkim/pool.h"
#include "dkim/signature.h"
#include "dkim/signer.h"
#include "dkim/tags.h"

namespace ringmta::dkim {
namespace {

const std::string kRfc8463Message =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dkim_test_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

// An Ed25519 PKCS#8 PEM from the raw 32-byte private key (RFC 8410 §7).
std::string ed25519_pem(const std::string& seed) {
  const std::string der = std::string("\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20", 16) + seed;
  return "-----BEGIN PRIVATE KEY-----\n" + base::base64_encode(der) + "\n-----END PRIVATE KEY-----\n";
}

TEST(DkimSigner, OverSigning) {
  const std::string m = "From: a@x\r\nTo: b@y\r\nTo: c@y\r\nCc: d@y\r\n\r\n";
  const auto fields = split_fields(m).fields;
  auto h = select_headers(fields, {"from", "to", "cc", "subject", "reply-to"}, {"from", "to", "subject", "date"});
  // from x1+1, to x2+1, cc x1, subject 0+1, reply-to absent, date 0+1.
  EXPECT_EQ(h, (std::vector<std::string>{"from", "from", "to", "to", "to", "cc", "subject", "date"}));
}

TEST(DkimSigner, HeaderDataBottomUp) {
  const std::string m = "X: 1\r\nX: 2\r\nY: 3\r\n\r\n";
  const auto fields = split_fields(m).fields;
  EXPECT_EQ(header_data(fields, {"x", "y", "x", "x"}, Canon::Relaxed), "x:2\r\ny:3\r\nx:1\r\n");
}

TEST(DkimSigner, PrefixIsFoldedAndParses) {
  SignatureFields f;
  f.algorithm = "rsa-sha256";
  f.domain = "example.com";
  f.selector = "sel";
  f.timestamp = 1700000000;
  for (int i = 0; i < 20; ++i) f.headers.push_back("list-unsubscribe");
  f.body_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  const std::string field = with_signature(signature_prefix(f), std::string(344, 'A'));
  size_t start = 0;
  while (start < field.size()) {
    const size_t end = field.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << field.substr(start, end - start);
    start = end + 2;
  }
  auto t = parse_tags(field.substr(field.find(':') + 1, field.size() - field.find(':') - 3));
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(*t.get("d"), "example.com");
  EXPECT_EQ(strip_fws(*t.get("b")), std::string(344, 'A'));
  EXPECT_EQ(strip_fws(*t.get("h")).size(), 20 * 16 + 19u);
}

TEST(DkimSigner, Rfc8463Ed25519Vector) {
  TempDir dir;
  const std::string seed = *base::base64_decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
  auto key = PrivateKey::load(dir.write("k.pem", ed25519_pem(seed), 0600), Algorithm::Ed25519Sha256, nullptr);
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(key->dns_record(), "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");

  const std::string body = kRfc8463Message.substr(split_fields(kRfc8463Message).body_offset);
  EXPECT_EQ(base::base64_encode(sha256(canon_body(Canon::Relaxed, body))),
            "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");

  const std::string sig_field =
      "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
      " d=football.example.com; i=@football.example.com;\r\n"
      " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
      " subject : date : message-id : from : subject : date;\r\n"
      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
      " b=";
  std::string data = header_data(split_fields(kRfc8463Message).fields,
                                 {"from", "to", "subject", "date", "message-id", "from", "subject", "date"},
                                 Canon::Relaxed);
  std::string self = canon_header(Canon::Relaxed, RawField{"DKIM-Signature", sig_field});
  data += self.substr(0, self.size() - 2);
  auto sig = key->sign(data);
  ASSERT_TRUE(sig) << sig.error();
  EXPECT_EQ(base::base64_encode(*sig),
            "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
}

TEST(DkimSigner, KnownEmptyBodyHashes) {
  EXPECT_EQ(base::base64_encode(sha256(canon_body(Canon::Simple, ""))), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(base::base64_encode(sha256(canon_body(Canon::Relaxed, ""))), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(DkimSigner, KeyFileChecks) {
  TempDir dir;
  auto rsa = PrivateKey::generate(Algorithm::RsaSha256, 2048);
  ASSERT_TRUE(rsa);
  const std::string pem = rsa->pem();
  std::string warning;
  auto missing = PrivateKey::load("/nonexistent/k.pem", Algorithm::RsaSha256, &warning);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("No such file"), std::string::npos);
  auto world = PrivateKey::load(dir.write("w.pem", pem, 0644), Algorithm::RsaSha256, &warning);
  ASSERT_FALSE(world);
  EXPECT_NE(world.error().find("mode 0644"), std::string::npos);
  auto group = PrivateKey::load(dir.write("g.pem", pem, 0640), Algorithm::RsaSha256, &warning);
  ASSERT_TRUE(group) << group.error();
  EXPECT_NE(warning.find("readable by its group"), std::string::npos);
  auto wrong = PrivateKey::load(dir.write("r.pem", pem, 0600), Algorithm::Ed25519Sha256, nullptr);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().find("needs an Ed25519 key, this is an RSA key"), std::string::npos);
  auto junk = PrivateKey::load(dir.write("j.pem", "hello\n", 0600), Algorithm::RsaSha256, nullptr);
  ASSERT_FALSE(junk);
  EXPECT_NE(junk.error().find("not a PEM private key"), std::string::npos);
  auto small = PrivateKey::generate(Algorithm::RsaSha256, 1024);
  ASSERT_TRUE(small);
  warning.clear();
  ASSERT_TRUE(PrivateKey::load(dir.write("s.pem", small->pem(), 0600), Algorithm::RsaSha256, &warning));
  EXPECT_NE(warning.find("recommends at least 2048"), std::string::npos);
}

TEST(DkimSigner, FromDomain) {
  EXPECT_EQ(from_domain("To: x@y\r\nFrom: \"Joe, Jr\" <joe@Mail.Example.COM>\r\n\r\n"), "mail.example.com");
  EXPECT_EQ(from_domain("From: a@b.example, c@d.example\r\n\r\n"), "b.example");
  EXPECT_EQ(from_domain("From:\r\n <x@folded.example>\r\n\r\n"), "folded.example");
  EXPECT_EQ(from_domain("To: x@y\r\n\r\nFrom: body@not.example\r\n"), "");
  EXPECT_EQ(from_domain("From: nobody\r\n\r\n"), "");
}

// Sign with an RSA key, then check the signature with OpenSSL against the
// public key of the DNS record and the header data rebuilt from the tags.
TEST(DkimSigner, RsaSignatureVerifies) {
  auto key = PrivateKey::generate(Algorithm::RsaSha256, 2048);
  ASSERT_TRUE(key);
  const std::string record = key->dns_record();
  std::vector<Signer::Domain> domains;
  DomainSettings s;
  s.domain = "football.example.com";
  s.selector = "sel";
  s.headers = {"from", "to", "subject", "date", "message-id"};
  s.over_sign = {"from", "to", "subject", "date"};
  domains.push_back({s, std::move(key).value()});
  auto signer = Signer::with_keys(std::move(domains));
  const Signer::Domain* d = signer->domain_for(kRfc8463Message);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(signer->domain_for("From: x@example.org\r\n\r\n"), nullptr);
  EXPECT_EQ(signer->domain_for("From: x@sub.football.example.com\r\n\r\n"), nullptr);  // exact only
  auto field = signer->sign(*d, kRfc8463Message, 1700000000);
  ASSERT_TRUE(field) << field.error();

  const std::string value = field->substr(15, field->size() - 17);
  auto tags = parse_tags(value);
  ASSERT_TRUE(tags.ok()) << tags.error;
  EXPECT_EQ(*tags.get("a"), "rsa-sha256");
  EXPECT_EQ(*tags.get("t"), "1700000000");
  EXPECT_EQ(strip_fws(*tags.get("h")), "from:from:to:to:subject:subject:date:date:message-id");
  EXPECT_EQ(*tags.get("bh"), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");

  std::vector<std::string> h;
  const std::string hs = strip_fws(*tags.get("h"));
  for (size_t p = 0; p <= hs.size();) {
    size_t c = hs.find(':', p);
    if (c == std::string::npos) c = hs.size();
    h.push_back(hs.substr(p, c - p));
    p = c + 1;
  }
  std::string data = header_data(split_fields(kRfc8463Message).fields, h, Canon::Relaxed);
  const size_t b = field->rfind("b=");
  std::string self = canon_header(Canon::Relaxed, RawField{"DKIM-Signature", field->substr(0, b + 2)});
  data += self.substr(0, self.size() - 2);

  const std::string der = *base::base64_decode(*parse_tags(record).get("p"));
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(pub, nullptr);
  const std::string sig = *base::base64_decode(strip_fws(*tags.get("b")));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  data[0] ^= 1;  // and a changed header does not verify
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub), 1);
  EXPECT_NE(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
}

// Every task submitted runs, on a worker thread, before the pool is destroyed.
TEST(DkimSigner, PoolRunsTasksOffThread) {
  std::atomic<int> ran{0};
  std::atomic<bool> on_caller{false};
  const auto caller = std::this_thread::get_id();
  {
    SigningPool pool(2);
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(pool.submit([&] {
        if (std::this_thread::get_id() == caller) on_caller = true;
        ++ran;
      }));
    for (int i = 0; i < 1000 && ran < 100; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(ran, 100);
  EXPECT_FALSE(on_caller);
}

}  // namespace
}  // namespace ringmta::dkim
