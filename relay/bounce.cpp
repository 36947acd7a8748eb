// relay/bounce.cpp — see bounce.h.
#include "relay/bounce.h"

#include "mail/datetime.h"
#include "mail/dsn.h"

namespace ringmta::relay {

namespace {

mail::DsnAction action_of(Notice kind) {
  switch (kind) {
    case Notice::Delayed: return mail::DsnAction::Delayed;
    case Notice::Relayed: return mail::DsnAction::Relayed;
    case Notice::Delivered: return mail::DsnAction::Delivered;
    default: return mail::DsnAction::Failed;
  }
}

mail::DsnRet ret_of(queue::Ret ret) {
  switch (ret) {
    case queue::Ret::Full: return mail::DsnRet::Full;
    case queue::Ret::Headers: return mail::DsnRet::Headers;
    default: return mail::DsnRet::Unspecified;
  }
}

std::string date_of(int64_t ms) { return mail::rfc5322_date(ms / 1000); }

}  // namespace

std::optional<NoticeMessage> make_notice(const queue::Envelope& original, std::string_view original_body,
                                         Notice kind, const std::vector<NoticeEntry>& entries,
                                         const NoticeParams& params, std::string* error) {
  if (original.sender.empty() || (original.flags & queue::kFlagBounce)) {
    if (error) *error = "no notices to the null sender";
    return std::nullopt;
  }
  mail::DsnRequest req;
  req.reporting_mta = params.reporting_mta;
  req.envid = original.envid;
  req.sender = original.sender;
  req.arrival_date = date_of(original.arrival_ms);
  req.ret = ret_of(original.ret);
  req.smtputf8 = original.smtputf8;
  req.original_message = original_body;
  req.message_id = "<" + params.notice_id + "@" + params.reporting_mta + ">";
  req.date = date_of(params.now_ms);
  req.boundary = params.notice_id + "/" + params.reporting_mta;
  if (kind == Notice::Delayed) {
    const int64_t hours = (params.now_ms - original.arrival_ms) / 3'600'000;
    const int64_t minutes = (params.now_ms - original.arrival_ms) / 60'000;
    req.delay_text = hours >= 1 ? std::to_string(hours) + (hours == 1 ? " hour" : " hours")
                                : std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
  }
  for (const NoticeEntry& e : entries) {
    if (e.index >= original.recipients.size()) continue;
    const queue::Recipient& r = original.recipients[e.index];
    mail::DsnRecipient d;
    d.final_recipient = r.address;
    d.original_recipient = r.orcpt;
    d.action = action_of(kind);
    d.status = e.status;
    d.remote_mta = e.remote_host;
    d.remote_address = e.remote_ip;
    d.diagnostic = e.diagnostic;
    d.diagnostic_type = e.remote_reply ? "smtp" : "x-unix";
    d.in_reply_to = e.stage;
    d.last_attempt_date = date_of(e.attempt_ms);
    if (kind == Notice::Delayed && params.retry_until_ms > 0) d.will_retry_until = date_of(params.retry_until_ms);
    req.recipients.push_back(std::move(d));
  }
  mail::DsnResult dsn = mail::compose_dsn(req);
  if (!dsn.ok) {
    if (error) *error = dsn.error;
    return std::nullopt;
  }
  NoticeMessage out;
  queue::Envelope& env = out.envelope;
  env.id = params.notice_id;
  env.sender.clear();
  queue::Recipient to;
  to.address = original.sender;
  to.notify = queue::kNotifyNever;  // RFC 3461 §6.2: a DSN asks for no DSN
  to.next_attempt_ms = params.now_ms;
  env.recipients.push_back(std::move(to));
  env.body_type = dsn.needs_8bitmime ? queue::BodyType::EightBitMime : queue::BodyType::Unspecified;
  env.smtputf8 = dsn.needs_smtputf8;
  env.helo = params.reporting_mta;
  env.arrival_ms = params.now_ms;
  env.size = dsn.message.size();
  env.flags = queue::kFlagBounce;
  out.body = std::move(dsn.message);
  return out;
}

}  // namespace ringmta::relay
