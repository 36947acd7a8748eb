// relay/scheduler_outcome.cpp — what an attempt's results do to a message:
// complete() applies a finished attempt's JobResults to the envelope (retry.h
// decides each recipient), logs one Postfix-style line per recipient and
// builds the notices; defer_if_down() does the same at acceptance for a
// message whose destinations are all known down, so its acceptance is its
// only write. The write itself and what follows it stay in scheduler.cpp.
#include <spdlog/spdlog.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "relay/delivery_agent.h"
#include "telemetry/metrics.h"
#include "relay/routing.h"
#include "relay/scheduler.h"
#include "relay/shard.h"

namespace ringmta::relay {

namespace {

AttemptOutcome to_outcome(smtp::Outcome o) {
  switch (o) {
    case smtp::Outcome::Accepted: return AttemptOutcome::Accepted;
    case smtp::Outcome::PermFail: return AttemptOutcome::PermFail;
    default: return AttemptOutcome::TempFail;
  }
}

// "127.0.0.2:25" / "[::1]:25" -> ip and port text.
void split_addr(const std::string& addr, std::string& ip, std::string& port) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    ip = addr;
    port.clear();
    return;
  }
  ip = addr.substr(0, colon);
  port = addr.substr(colon + 1);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
}

// Postfix's relay= field: "mx.example[192.0.2.1]:25", or "none".
std::string relay_field(const std::string& remote_host, const std::string& remote_addr) {
  if (remote_addr.empty()) return "none";
  std::string ip, port;
  split_addr(remote_addr, ip, port);
  // An address-literal destination ("[192.0.2.1]") has no name: show the IP.
  const bool named = !remote_host.empty() && remote_host.front() != '[';
  return (named ? remote_host : ip) + "[" + ip + "]:" + port;
}

const char* status_word(queue::RecipientState s) {
  switch (s) {
    case queue::RecipientState::Delivered: return "sent";
    case queue::RecipientState::Failed: return "bounced";
    default: return "deferred";
  }
}

// The log line of one recipient's attempt, as Postfix writes it:
// "ID: to=<rcpt>, relay=..., delay=..., dsn=4.4.1, status=deferred (reply)".
std::string attempt_line(const queue::Envelope& env, const queue::Recipient& r, const std::string& relay,
                         const std::string& tls, int64_t now_ms, const std::string& enhanced,
                         queue::RecipientState state, const std::string& text, const std::string& tls_policy = {}) {
  // tls_policy=: which outbound TLS policy decided (relay/tls_policy.h).
  return fmt::format("{}: to=<{}>, relay={}{}{}, delay={:.2f}, dsn={}, status={} ({})", env.id, r.address, relay,
                     tls.empty() ? "" : ", tls=" + tls, tls_policy.empty() ? "" : ", tls_policy=" + tls_policy,
                     static_cast<double>(now_ms - env.arrival_ms) / 1000.0,
                     enhanced, status_word(state), text);
}

std::string lifetime_text(std::chrono::seconds s) {
  auto n = s.count();
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

}  // namespace

void Scheduler::complete(Active& a) {
  const int64_t now = base::unix_ms();
  a.updated = a.env;
  std::vector<NoticeEntry> failed, delayed, relayed, delivered;
  for (const JobResult& jr : a.results) {
    if (jr.rate_limited_ms > 0) {
      hold_rate_limited(a, jr, now);
      continue;
    }
    // Log fields of issue 18: the upstream login and the bound source address.
    std::string fields;
    if (!jr.auth.empty()) fields += ", auth=" + jr.auth;
    if (!jr.source.empty()) fields += ", source=" + jr.source;
    for (size_t k = 0; k < jr.indices.size() && k < jr.results.size(); ++k) {
      const JobResult::Via via = jr.via(k);
      std::string ip, port;
      split_addr(via.addr, ip, port);
      const std::string relay = jr.local ? std::string("local") : relay_field(via.host, via.addr);
      const uint32_t idx = jr.indices[k];
      if (idx >= a.updated.recipients.size()) continue;
      const smtp::RecipientResult& rr = jr.results[k];
      queue::Recipient& r = a.updated.recipients[idx];
      const Decision d = record_attempt(a.env, r, rr, relay, now);

      std::string text = rr.text;
      if (d.expired) text = "message lifetime of " + lifetime_text(policy_.max_lifetime) + " exceeded; last error: " + text;
      switch (d.state) {
        case queue::RecipientState::Delivered:
          ++shard_.counters.recipients_delivered;
          telemetry::local().delivery_duration.observe(static_cast<double>(now - a.env.arrival_ms) / 1000.0);
          break;
        case queue::RecipientState::Failed: ++shard_.counters.recipients_bounced; break;
        default: ++shard_.counters.recipients_deferred; break;
      }
      spdlog::info("{}", attempt_line(a.env, r, relay + fields, via.tls, now, rr.enhanced, d.state, text, jr.tls_policy));
      if (d.notice == Notice::None) continue;
      NoticeEntry e;
      e.index = idx;
      e.status = rr.enhanced;
      e.diagnostic = d.expired ? text : rr.text;
      e.remote_reply = !rr.local && !d.expired;
      e.remote_host = via.host;
      e.remote_ip = ip;
      e.stage = std::string(smtp::to_string(rr.stage));
      e.attempt_ms = now;
      (d.notice == Notice::Failed    ? failed
       : d.notice == Notice::Delayed ? delayed
       : d.notice == Notice::Relayed ? relayed
                                     : delivered)
          .push_back(std::move(e));
    }
  }
  postpone_suspended(a, now);
  a.finished = true;
  for (const auto& r : a.updated.recipients) a.finished &= r.state != queue::RecipientState::Pending;
  a.notices.clear();
  add_notice(a, Notice::Failed, failed, now);
  add_notice(a, Notice::Delayed, delayed, now);
  add_notice(a, Notice::Relayed, relayed, now);
  add_notice(a, Notice::Delivered, delivered, now);
  a.committing = true;
  commit(a.env.id);
}

// [delivery.rate]: the destination is over its rate, nothing was tried. The
// recipients stay pending until the next token (no attempt counted, so the
// retry backoff and the attempts shown are untouched; never a bounce or a
// delay notice from this).
void Scheduler::hold_rate_limited(Active& a, const JobResult& jr, int64_t now_ms) {
  for (size_t k = 0; k < jr.indices.size() && k < jr.results.size(); ++k) {
    const uint32_t idx = jr.indices[k];
    if (idx >= a.updated.recipients.size()) continue;
    queue::Recipient& r = a.updated.recipients[idx];
    r.next_attempt_ms = now_ms + jr.rate_limited_ms;
    r.last_reply = jr.results[k].text;
    spdlog::info("{}", attempt_line(a.env, r, "none, rate_limited=" + jr.rate_rule, "", now_ms, jr.results[k].enhanced,
                                    queue::RecipientState::Pending, jr.results[k].text));
  }
}

Decision Scheduler::record_attempt(const queue::Envelope& env, queue::Recipient& r, const smtp::RecipientResult& rr,
                                   const std::string& relay, int64_t now_ms) {
  r.attempts++;
  r.last_attempt_ms = now_ms;
  r.last_reply = rr.text;
  r.remote_mta = relay == "none" || relay == "local" ? std::string() : relay;
  AttemptFacts facts;
  facts.outcome = to_outcome(rr.outcome);
  facts.relayed = rr.relayed;
  facts.final_delivery = relay == "local";
  facts.now_ms = now_ms;
  facts.arrival_ms = env.arrival_ms;
  facts.null_sender = env.sender.empty() || (env.flags & queue::kFlagBounce);
  facts.jitter = std::uniform_real_distribution<double>(-1.0, 1.0)(rng_);
  const Decision d = decide(policy_, r, facts);
  r.state = d.state;
  if (d.state == queue::RecipientState::Pending) r.next_attempt_ms = d.next_attempt_ms;
  if (d.notice == Notice::Delayed) r.delay_warned = true;
  return d;
}

bool Scheduler::defer_if_down(queue::Envelope& env, std::vector<std::string>& lines) {
  if (stopping_ || !shard_.agent || !shard_.peers || env.recipients.empty()) return false;
  // One question to delivery per recipient: is its destination down here?
  // down_for() answers the usual case, nothing down, before looking at the
  // address, so the acceptance path pays nothing; the first "no" ends it,
  // before any envelope copy.
  std::vector<DownDestinations::Entry> downs;
  for (const queue::Recipient& r : env.recipients) {
    if (r.state != queue::RecipientState::Pending) return false;
    // Mailboxes here are never "down" (the relayhost being down says nothing about them).
    if (is_local_domain(mail::recipient_domain(r.address))) return false;
    auto down = shard_.agent->down_for(r.address);
    if (!down) return false;
    const std::string domain = mail::recipient_domain(r.address);
    // Suspended domains are postponed by activate(); only destinations this
    // shard delivers to itself can be asked without a hop.
    if (suspended_.count(domain)) return false;
    if (delivering_shard(domain) != shard_.reactor.shard_id()) return false;
    downs.push_back(std::move(*down));
  }
  const int64_t now = base::unix_ms();
  queue::Envelope deferred = env;
  std::vector<std::string> out;
  for (size_t i = 0; i < deferred.recipients.size(); ++i) {
    queue::Recipient& r = deferred.recipients[i];
    const DownDestinations::Entry* down = &downs[i];
    const smtp::RecipientResult rr = DownDestinations::suspended_result(*down);
    const std::string relay = relay_field(down->host, down->addr);
    const Decision d = record_attempt(deferred, r, rr, relay, now);
    // Only the plain deferral: a notice (or a lifetime already over) takes
    // the normal path, which knows how to write it.
    if (d.state != queue::RecipientState::Pending || d.notice != Notice::None) return false;
    out.push_back(attempt_line(deferred, r, relay, "", now, rr.enhanced, d.state, rr.text));
  }
  env = std::move(deferred);
  lines = std::move(out);
  return true;
}

Scheduler::Intake Scheduler::before_commit(queue::Envelope& env, size_t body_bytes) {
  Intake intake;
  intake.deferred = defer_if_down(env, intake.deferred_lines);
  intake.keep = !intake.deferred && has_room(body_bytes);
  return intake;
}

void Scheduler::after_commit(const Intake& intake, const queue::Envelope* env, std::shared_ptr<const std::string> body) {
  for (const std::string& line : intake.deferred_lines) {
    ++shard_.counters.recipients_deferred;
    spdlog::info("{}", line);
  }
  if (intake.keep && env && body) submit_new(*env, std::move(body));
}

void Scheduler::add_notice(Active& a, Notice kind, const std::vector<NoticeEntry>& entries, int64_t now_ms) {
  if (entries.empty()) return;
  NoticeParams p;
  p.reporting_mta = shard_.config->server.hostname;
  p.notice_id = shard_.ids.next();
  p.now_ms = now_ms;
  p.retry_until_ms = a.env.arrival_ms + std::chrono::duration_cast<std::chrono::milliseconds>(policy_.max_lifetime).count();
  std::string error;
  auto notice = make_notice(a.env, *a.body, kind, entries, p, &error);
  if (!notice) {
    spdlog::warn("{}: no {} notice: {}", a.env.id, kind == Notice::Failed ? "non-delivery" : "status", error);
    return;
  }
  a.notices.emplace_back(kind, std::move(*notice));
}

}  // namespace ringmta::relay
