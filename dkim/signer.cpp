// dkim/signer.cpp — see signer.h.
#include "dkim/signer.h"

#include "base/base64.h"
#include "base/text.h"
#include "dkim/signature.h"
#include "mail/mime.h"

namespace ringmta::dkim {
namespace {

constexpr size_t kHashChunk = 64 * 1024;  // canonical body bytes held before hashing

bool from_name(std::string_view n) { return n.size() == 4 && base::to_lower_ascii(n) == "from"; }

}  // namespace

std::string from_domain(std::string_view message) {
  const SplitMessage split = split_fields(message);
  for (const auto& f : split.fields) {
    if (!from_name(f.name)) continue;
    std::string value;  // unfolded
    for (char c : f.text.substr(f.text.find(':') + 1))
      if (c != '\r' && c != '\n') value += c;
    for (const auto& a : mail::parse_address_list(value, 16))
      if (a.kind == mail::EnvelopeAddress::Kind::Mailbox && !a.host.empty()) return base::to_lower_ascii(a.host);
    return "";
  }
  return "";
}

base::Result<std::shared_ptr<const Signer>> Signer::load(std::vector<DomainSettings> settings,
                                                         std::vector<std::string>* warnings) {
  std::vector<Domain> domains;
  for (auto& s : settings) {
    std::string warning;
    auto key = PrivateKey::load(s.key_file, s.algorithm, &warning);
    if (!key) return base::Error("dkim domain " + s.domain + ": " + key.error());
    if (!warning.empty() && warnings) warnings->push_back("dkim domain " + s.domain + ": " + warning);
    domains.push_back(Domain{std::move(s), std::move(key).value()});
  }
  return with_keys(std::move(domains));
}

std::shared_ptr<const Signer> Signer::with_keys(std::vector<Domain> domains) {
  auto signer = std::make_shared<Signer>();
  signer->domains_ = std::move(domains);
  return signer;
}

const Signer::Domain* Signer::domain_for(std::string_view message) const {
  if (domains_.empty()) return nullptr;
  const std::string domain = from_domain(message);
  if (domain.empty()) return nullptr;
  for (const auto& d : domains_)
    if (d.settings.domain == domain) return &d;
  return nullptr;
}

base::Result<std::string> Signer::sign(const Domain& d, std::string_view message, int64_t now) const {
  const DomainSettings& s = d.settings;
  const SplitMessage split = split_fields(message);

  // Body hash: canonical bytes hashed in chunks as they come (§3.7).
  Sha256 body_hash;
  BodyCanon canon(s.body_canon);
  std::string chunk;
  std::string_view body = message.substr(std::min(split.body_offset, message.size()));
  while (!body.empty()) {  // bounded: each pass consumes up to kHashChunk bytes
    const std::string_view part = body.substr(0, kHashChunk);
    body.remove_prefix(part.size());
    canon.feed(part, chunk);
    body_hash.update(chunk);
    chunk.clear();
  }
  canon.finish(chunk);
  body_hash.update(chunk);

  SignatureFields f;
  f.algorithm = std::string(to_string(s.algorithm));
  f.header_canon = s.header_canon;
  f.body_canon = s.body_canon;
  f.domain = s.domain;
  f.selector = s.selector;
  f.timestamp = now;
  f.headers = select_headers(split.fields, s.headers, s.over_sign);
  f.body_hash = base::base64_encode(body_hash.final());

  const std::string prefix = signature_prefix(f);
  std::string data = header_data(split.fields, f.headers, s.header_canon);
  // The signature field itself, b= empty, canonicalised, without its CRLF.
  std::string self = canon_header(s.header_canon, RawField{"DKIM-Signature", prefix});
  self.resize(self.size() - 2);
  data += self;
  auto sig = d.key.sign(data);
  if (!sig) return base::Error(sig.error());
  return with_signature(prefix, base::base64_encode(*sig));
}

}  // namespace ringmta::dkim
