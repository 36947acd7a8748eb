// relay/delivery_agent_results.cpp — what the delivery agent's caller gets
// back: per-recipient results gathered over a job's transactions and posted
// to `done` once all parts are in, results made here (shutdown, local
// errors), and the down destinations (marking one down after its targets
// failed, forgetting them for ringmtactl).
//
// Its own file because every path of the agent ends here: job submission
// (delivery_agent.cpp) and the connection side (delivery_agent_connect.cpp)
// both report through these calls.
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "relay/delivery_agent_state.h"
#include "relay/down_destinations.h"
#include "relay/routing.h"

namespace ringmta::relay::delivery_detail {

RecipientResult local_result(Outcome outcome, int code, std::string enhanced, std::string text) {
  RecipientResult r;
  r.outcome = outcome;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.text = std::move(text);
  r.local = true;
  return r;
}

RecipientResult loop_result(std::string text) {
  return local_result(Outcome::PermFail, 554, "5.4.6", "mail loops back to myself: " + std::move(text));
}

RecipientResult shutdown_result() {
  return local_result(Outcome::TempFail, 421, "4.3.2", "delivery stopped: shutting down");
}

void Core::complete(Pending& p, const std::vector<RecipientResult>& results, const Outbound* ob, bool remote_dsn,
                    const std::string& host, const std::string& addr) {
  JobResult& res = p.agg->result;
  size_t n = p.job.envelope.recipients.size();
  for (size_t i = 0; i < n; ++i)
    res.results[p.offset + i] =
        i < results.size() ? results[i]
                           : local_result(Outcome::TempFail, 451, "4.3.0", "internal error: no result for recipient");
  if (ob) {
    res.remote_host = ob->host();
    res.remote_addr = ob->address_text();
    res.remote_dsn = remote_dsn;
    res.tls = ob->tls_description();
    res.auth = ob->auth_user();
    res.source = ob->source_text();
  }
  if (p.agg->split) {
    // One of several transactions: this part's remote for its recipients
    // (the job-level fields end up naming the last part's).
    res.via_of.resize(res.results.size(), -1);
    res.vias.push_back(ob ? JobResult::Via{ob->host(), ob->address_text(), ob->tls_description()}
                          : JobResult::Via{host, addr, ""});
    for (size_t i = 0; i < n; ++i) res.via_of[p.offset + i] = static_cast<int32_t>(res.vias.size() - 1);
  }
  if (--p.agg->remaining == 0) post_done(p.agg);
}

void Core::fail(Pending& p, const RecipientResult& r, const std::string& host, const std::string& addr) {
  if (!host.empty()) {
    p.agg->result.remote_host = host;
    p.agg->result.remote_addr = addr;
  }
  complete(p, std::vector<RecipientResult>(p.job.envelope.recipients.size(), r), nullptr, false, host, addr);
}

// Never call `done` from inside our own state changes (or submit()).
void Core::post_done(std::shared_ptr<Aggregate> agg) {
  reactor.post([weak = std::weak_ptr<int>(alive), agg = std::move(agg)] {
    if (weak.lock()) agg->done(std::move(agg->result));
  });
}

void Core::fail_waiting(Destination* d, const RecipientResult& r, const std::string& host, const std::string& addr) {
  std::deque<Pending> waiting = std::move(d->waiting);
  d->waiting.clear();
  for (auto& p : waiting) fail(p, r, host, addr);
}

void Core::mark_down(Destination* d, const RecipientResult& res, const std::string& host, const std::string& addr) {
  d->probing = false;
  if (!down.enabled()) return;
  down.mark(d->key, res, host, addr, std::chrono::steady_clock::now());
  spdlog::info("delivery: {} is down, its mail is deferred for {}s without a connection attempt: {}", d->key,
               config->delivery.destination_down_time.count(), res.text);
}

// ringmtactl queue flush / destination resume: the next job connects.
size_t Core::forget_down(const std::string& domain) {
  if (down.size() == 0) return 0;
  size_t n = 0;
  if (domain.empty()) {
    n = down.forget_if(nullptr);
  } else {
    const std::string route = route_key(config->delivery, domain);
    n = down.forget_if([&](const std::string& key) { return route_of(key) == route; });
  }
  if (n) spdlog::info("delivery: {} down destination(s) forgotten by the administrator", n);
  return n;
}

}  // namespace ringmta::relay::delivery_detail
