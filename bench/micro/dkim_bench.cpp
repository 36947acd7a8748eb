// bench/micro/dkim_bench.cpp — what DKIM signing costs per message
// (dkim::Signer::sign: split the header, canonicalise and hash the body,
// build the field, sign), for RSA-2048 and Ed25519, with bodies of
// range(0) bytes. This is why signing runs on the signing workers and not on
// a shard thread (relay/inbound_dkim.cpp): an RSA-2048 signature alone is
// about a millisecond. Also the pure body canonicalisation + SHA-256 per byte.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "dkim/key.h"
#include "dkim/signer.h"

namespace dkim = ringmta::dkim;

namespace {

std::string make_message(size_t body_bytes) {
  std::string m =
      "Received: from client.test (client.test [127.0.0.1]) by mx.bench.test with ESMTPSA id X1\r\n"
      "From: Sender <alice@bench.test>\r\nTo: Someone <someone@dest.test>\r\n"
      "Subject: benchmark message\r\nDate: Mon, 07 Dec 2026 11:00:00 +0000\r\n"
      "Message-ID: <bench@bench.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n";
  const std::string line = "The quick brown fox  jumps over\tthe lazy dog, again and again and again. \r\n";
  while (m.size() < body_bytes) m += line;
  return m;
}

std::shared_ptr<const dkim::Signer> signer(dkim::Algorithm a) {
  auto key = dkim::PrivateKey::generate(a, 2048);
  if (!key) return nullptr;
  dkim::DomainSettings s;
  s.domain = "bench.test";
  s.selector = "b";
  s.algorithm = a;
  s.headers = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"};
  s.over_sign = {"from", "to", "subject", "date"};
  std::vector<dkim::Signer::Domain> d;
  d.push_back({s, std::move(key).value()});
  return dkim::Signer::with_keys(std::move(d));
}

void sign(benchmark::State& state, dkim::Algorithm a) {
  auto sg = signer(a);
  if (!sg) {
    state.SkipWithError("key generation failed");
    return;
  }
  const std::string msg = make_message(static_cast<size_t>(state.range(0)));
  const auto* d = sg->domain_for(msg);
  if (!d) {
    state.SkipWithError("no signing domain");
    return;
  }
  for (auto _ : state) {
    auto field = sg->sign(*d, msg, 1700000000);
    if (!field) {
      state.SkipWithError(field.error().c_str());
      return;
    }
    benchmark::DoNotOptimize(field->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(msg.size()));
}

void BM_DkimSignRsa2048(benchmark::State& state) { sign(state, dkim::Algorithm::RsaSha256); }
void BM_DkimSignEd25519(benchmark::State& state) { sign(state, dkim::Algorithm::Ed25519Sha256); }
BENCHMARK(BM_DkimSignRsa2048)->Arg(1024)->Arg(64 * 1024)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DkimSignEd25519)->Arg(1024)->Arg(64 * 1024)->Arg(1024 * 1024)->Unit(benchmark::kMicrosecond);

void BM_DkimBodyHash(benchmark::State& state) {
  const std::string msg = make_message(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    dkim::BodyCanon c(dkim::Canon::Relaxed);
    dkim::Sha256 h;
    std::string out;
    c.feed(msg, out);
    c.finish(out);
    h.update(out);
    benchmark::DoNotOptimize(h.final());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(msg.size()));
}
BENCHMARK(BM_DkimBodyHash)->Arg(64 * 1024)->Unit(benchmark::kMicrosecond);

}  // namespace
