// relay/tls_policy.cpp — see tls_policy.h: the lookups of one decision and
// the rules that turn their answers into a HostPolicy per MX host.
#include "relay/tls_policy.h"

#include <spdlog/spdlog.h>

#include "dns/tlsa.h"
#include "relay/mta_sts_policy.h"

namespace ringmta::relay {

const char* to_string(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Dane: return "dane";
    case PolicyKind::MtaSts: return "mta-sts";
    case PolicyKind::Static: return "static";
    case PolicyKind::Opportunistic: break;
  }
  return "opportunistic";
}

struct TlsPolicy::Job {
  Id id = 0;
  std::string domain;
  config::OutboundTls level = config::OutboundTls::May;
  std::vector<std::string> hosts;
  Done done;
  size_t pending = 1;  // the lookups out, plus decide()'s own step
  std::optional<mta_sts::Policy> sts;
  struct Tlsa {
    enum class State : uint8_t { None, Usable, Unusable, Failed } state = State::None;
    std::vector<tls::DaneTlsa> records;
    std::string error;
  };
  std::map<std::string, Tlsa> tlsa;
  std::vector<std::pair<dns::Resolver*, dns::Resolver::RequestId>> requests;  // cancelled with the job
};

TlsPolicy::TlsPolicy(engine::Reactor& reactor, const config::Config& config, dns::Resolver* resolver,
                     std::shared_ptr<MtaStsFetcher> fetcher)
    : reactor_(reactor), delivery_(config.delivery), resolver_(resolver), fetcher_(std::move(fetcher)) {
  if (delivery_.dane && !delivery_.dnssec_resolver.empty()) {
    dns::ResolverOptions o;
    o.servers = {delivery_.dnssec_resolver};
    o.timeout = config.dns.timeout;
    o.cache_entries = 0;
    dnssec_ = std::make_unique<dns::Resolver>(reactor, o);
    if (!dnssec_->ok()) spdlog::error("delivery.dnssec_resolver: {}", dnssec_->init_error());
  }
  if (fetcher_) fetcher_->register_owner(this);
}

TlsPolicy::~TlsPolicy() {
  if (fetcher_) fetcher_->unregister_owner(this);
  for (auto& [id, job] : jobs_)
    for (auto& [r, rid] : job->requests) r->cancel(rid);
}

bool TlsPolicy::active() const { return (delivery_.mta_sts && fetcher_) || delivery_.dane; }

void TlsPolicy::cancel(Id id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  for (auto& [r, rid] : it->second->requests) r->cancel(rid);
  jobs_.erase(it);
}

TlsPolicy::Id TlsPolicy::decide(const std::string& domain, config::OutboundTls level, std::vector<std::string> hosts,
                                Done done) {
  auto job = std::make_shared<Job>();
  job->id = next_++;
  job->domain = domain;
  job->level = level;
  job->hosts = std::move(hosts);
  job->done = std::move(done);
  jobs_[job->id] = job;
  std::weak_ptr<Job> weak = job;
  if (delivery_.mta_sts && fetcher_) {
    ++job->pending;
    job->requests.emplace_back(resolver_, resolver_->query("_mta-sts." + domain, dns::kTypeTxt, false,
                                                           [this, weak](const dns::Resolver::QueryResult& r) {
                                                             if (auto j = weak.lock()) txt_answered(j, r);
                                                           }));
  }
  if (delivery_.dane) {
    dns::Resolver* r = dnssec_ ? dnssec_.get() : resolver_;
    for (const auto& host : job->hosts) {
      if (job->tlsa.count(host)) continue;
      job->tlsa[host];
      ++job->pending;
      job->requests.emplace_back(r, r->query("_25._tcp." + host, dns::kTypeTlsa, true,
                                             [this, weak, host](const dns::Resolver::QueryResult& q) {
                                               if (auto j = weak.lock()) tlsa_answered(j, host, q);
                                             }));
    }
  }
  reactor_.post([this, weak] {
    if (auto j = weak.lock()) step_done(j);
  });
  return job->id;
}

void TlsPolicy::txt_answered(const std::shared_ptr<Job>& job, const dns::Resolver::QueryResult& r) {
  std::vector<std::string> texts;
  dns::RawAnswer a;
  std::string why;
  if (!r.message.empty() && dns::parse_raw_answer(r.message.data(), r.message.size(), dns::kTypeTxt, &a, &why))
    for (const auto& rd : a.rdata)
      if (auto t = dns::txt_text(rd)) texts.push_back(std::move(*t));
  MtaStsFetcher::Request req;
  req.domain = job->domain;
  req.txt_id = mta_sts::select_txt(texts, &why);
  auto ask = [this, weak = std::weak_ptr<Job>(job)](MtaStsFetcher::Request req) {
    auto j = weak.lock();
    if (!j) return;
    fetcher_->lookup(this, reactor_, std::move(req), [this, weak](MtaStsFetcher::Answer ans) {
      auto j = weak.lock();
      if (!j) return;
      if (ans.policy && ans.policy->mode != mta_sts::Mode::None) j->sts = std::move(ans.policy);
      spdlog::debug("mta-sts: {}: {}", j->domain, ans.note);
      step_done(j);
    });
  };
  if (!req.txt_id) return ask(std::move(req));  // a cached policy may still hold
  // The policy host through the same DNS as everything else (libcurl gets
  // the addresses with CURLOPT_RESOLVE).
  std::weak_ptr<Job> weak = job;
  job->requests.emplace_back(resolver_, resolver_->resolve_host("mta-sts." + job->domain,
      [weak, ask, req](const dns::Result& res) mutable {
        if (!weak.lock()) return;
        if (res.kind == dns::ResultKind::kOk)
          for (const auto& h : res.hosts)
            for (const auto& addr : h.addresses) req.addresses.push_back(addr.ip());
        ask(std::move(req));
      }));
}

void TlsPolicy::tlsa_answered(const std::shared_ptr<Job>& job, const std::string& host,
                              const dns::Resolver::QueryResult& r) {
  Job::Tlsa& t = job->tlsa[host];
  dns::RawAnswer a;
  std::string why;
  if (r.message.empty() || !dns::parse_raw_answer(r.message.data(), r.message.size(), dns::kTypeTlsa, &a, &why)) {
    t.state = Job::Tlsa::State::Failed;
    t.error = "TLSA lookup for _25._tcp." + host + " failed: " + (r.message.empty() ? r.error : why);
  } else if (a.rcode != 0 && a.rcode != 3) {  // not NOERROR / NXDOMAIN: maybe bogus
    t.state = Job::Tlsa::State::Failed;
    t.error = "TLSA lookup for _25._tcp." + host + " failed: rcode " + std::to_string(a.rcode);
  } else if (!a.authenticated || a.rdata.empty()) {
    if (!a.authenticated && !a.rdata.empty())
      spdlog::debug("dane: {}: TLSA records without the AD bit are ignored", host);
  } else {
    for (const auto& rd : a.rdata) {
      auto rec = dns::parse_tlsa_rdata(rd.data(), rd.size(), &why);
      if (rec && dns::usable_for_smtp(*rec))
        t.records.push_back(tls::DaneTlsa{rec->usage, rec->selector, rec->mtype, rec->data});
    }
    t.state = t.records.empty() ? Job::Tlsa::State::Unusable : Job::Tlsa::State::Usable;
  }
  step_done(job);
}

void TlsPolicy::step_done(const std::shared_ptr<Job>& job) {
  if (--job->pending > 0) return;
  std::map<std::string, HostPolicy> out;
  const PolicyKind fallback =
      job->level == config::OutboundTls::May ? PolicyKind::Opportunistic : PolicyKind::Static;
  for (const auto& host : job->hosts) {
    HostPolicy p;
    p.kind = fallback;
    auto t = job->tlsa.find(host);
    using State = Job::Tlsa::State;
    if (t != job->tlsa.end() && t->second.state != State::None) {
      p.kind = PolicyKind::Dane;
      if (t->second.state == State::Failed) {
        p.refuse = t->second.error;
      } else if (t->second.state == State::Usable) {
        p.level = config::OutboundTls::Verify;
        p.tlsa = t->second.records;
      } else {
        p.level = config::OutboundTls::Encrypt;  // RFC 7672 §2.2: only unusable records
      }
    } else if (job->sts) {
      p.kind = PolicyKind::MtaSts;
      const bool match = mta_sts::policy_allows(*job->sts, host);
      if (job->sts->mode == mta_sts::Mode::Enforce) {
        if (match)
          p.level = config::OutboundTls::Verify;
        else
          p.refuse = "MX host " + host + " is not in the MTA-STS policy of " + job->domain;
      } else {
        p.testing = true;
        if (!match)
          spdlog::warn("mta-sts: {}: testing policy: MX host {} is not in the policy; delivering anyway",
                       job->domain, host);
      }
    }
    out.emplace(host, std::move(p));
  }
  Done done = std::move(job->done);
  jobs_.erase(job->id);
  done(std::move(out));
}

}  // namespace ringmta::relay
