// bench/micro/tls_bench.cpp — TLS record throughput of tls::Session: a client
// and a server session wired together in memory (no sockets), one direction
// at a time, in writes of range(0) bytes. Measures OpenSSL's record layer plus
// our memory-BIO plumbing — what STARTTLS costs a relay per byte. Also the
// cost of a full handshake (no resumption), what each new TLS session costs.
//
// The certificate is a fresh self-signed EC P-256 one (ensure_self_signed) in
// a temporary directory, removed at exit.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tls/tls.h"

namespace tls = ringmta::tls;

namespace {

struct Contexts {
  std::string dir;
  std::shared_ptr<tls::ServerContext> server;
  std::shared_ptr<tls::ClientContext> client;
  std::string error;

  Contexts() {
    const char* base = getenv("TMPDIR");
    dir = std::string(base && *base ? base : "/tmp") + "/ringmta-micro-tls-XXXXXX";
    if (!mkdtemp(dir.data())) {
      error = "mkdtemp failed";
      return;
    }
    tls::SelfSigned cert = tls::ensure_self_signed(dir, "mx.bench.test");
    if (!cert.error.empty()) {
      error = cert.error;
      return;
    }
    tls::ServerOptions so;
    so.default_certificate = {cert.certificate, cert.private_key, {}};
    so.resumption = false;
    server = tls::ServerContext::create(so, &error);
    client = tls::ClientContext::create({}, &error);
  }
  ~Contexts() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Contexts& contexts() {
  static Contexts c;
  return c;
}

// Move ciphertext both ways until both sessions are quiet (bounded rounds).
bool pump(tls::Session& c, tls::Session& s, std::string& c_plain, std::string& s_plain) {
  for (int round = 0; round < 100; ++round) {
    std::string to_s = c.take_output(), to_c = s.take_output();
    if (to_s.empty() && to_c.empty()) return true;
    if (!to_s.empty()) s.feed(to_s, s_plain);
    if (!to_c.empty()) c.feed(to_c, c_plain);
  }
  return false;
}

void BM_TlsHandshake(benchmark::State& state) {
  Contexts& ctx = contexts();
  if (!ctx.error.empty() || !ctx.server || !ctx.client) {
    state.SkipWithError(("contexts: " + ctx.error).c_str());
    return;
  }
  for (auto _ : state) {
    auto c = ctx.client->new_session("mx.bench.test");
    auto s = ctx.server->new_session();
    std::string cp, sp;
    if (!pump(*c, *s, cp, sp) || c->state() != tls::Session::State::Open ||
        s->state() != tls::Session::State::Open) {
      state.SkipWithError(("handshake: " + c->error() + s->error()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsHandshake)->Unit(benchmark::kMicrosecond);

// Client -> server application data: write() encrypts, feed() decrypts.
void BM_TlsRecordThroughput(benchmark::State& state) {
  Contexts& ctx = contexts();
  if (!ctx.error.empty() || !ctx.server || !ctx.client) {
    state.SkipWithError(("contexts: " + ctx.error).c_str());
    return;
  }
  auto c = ctx.client->new_session("mx.bench.test");
  auto s = ctx.server->new_session();
  std::string cp, sp;
  if (!pump(*c, *s, cp, sp) || c->state() != tls::Session::State::Open) {
    state.SkipWithError(("handshake: " + c->error() + s->error()).c_str());
    return;
  }
  const std::string chunk(static_cast<size_t>(state.range(0)), 'm');
  std::string plain;
  plain.reserve(chunk.size() + 16384);
  for (auto _ : state) {
    c->write(chunk);
    std::string cipher = c->take_output();
    plain.clear();
    s->feed(cipher, plain);
    if (plain.size() != chunk.size()) {
      state.SkipWithError("plaintext size mismatch");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
  state.counters["version"] = c->version() == "TLSv1.3" ? 1.3 : 1.2;
}
BENCHMARK(BM_TlsRecordThroughput)->Arg(1024)->Arg(16384)->Arg(256 << 10);

}  // namespace
