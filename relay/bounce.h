// relay/bounce.h — turning recipient outcomes into a DSN message ready to
// queue: a bounce (failed), a delay warning (delayed) or a success notice
// (relayed), addressed to the original envelope sender from the null sender
// (so it is never bounced itself, RFC 5321 §4.5.5) with NOTIFY=NEVER.
// The report itself is composed by mail::compose_dsn (RFC 3464).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/queue.h"
#include "relay/retry.h"

namespace ringmta::relay {

// What happened to one recipient of the original message.
struct NoticeEntry {
  uint32_t index = 0;          // recipient index in the original envelope
  std::string status;          // enhanced status code, e.g. "5.1.1"
  std::string diagnostic;      // remote reply ("550 5.1.1 ...") or local text
  bool remote_reply = false;   // diagnostic is an SMTP reply (Diagnostic-Code: smtp;)
  std::string remote_host;     // MX host name; "" = none
  std::string remote_ip;       // its address; "" = none
  std::string stage;           // "RCPT TO", "end of DATA", ... for the text part
  int64_t attempt_ms = 0;      // Last-Attempt-Date
};

struct NoticeParams {
  std::string reporting_mta;   // server.hostname
  std::string notice_id;       // queue ID of the DSN message
  int64_t now_ms = 0;
  int64_t retry_until_ms = 0;  // delayed: when the message will expire
};

struct NoticeMessage {
  queue::Envelope envelope;    // sender "", one recipient (the original sender)
  std::string body;
};

// nullopt with *error set when no DSN can be made (e.g. null sender).
std::optional<NoticeMessage> make_notice(const queue::Envelope& original, std::string_view original_body,
                                         Notice kind, const std::vector<NoticeEntry>& entries,
                                         const NoticeParams& params, std::string* error);

}  // namespace ringmta::relay
