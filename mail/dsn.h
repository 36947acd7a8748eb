// mail/dsn.h — composing delivery status notifications (bounces, delay
// warnings, success reports) as RFC 3464 messages.
//
// Output shape (RFC 6522 multipart/report, RFC 3461 semantics):
//   multipart/report; report-type=delivery-status
//     1. text/plain           — Postfix-like explanation per recipient
//     2. message/delivery-status — Reporting-MTA, Original-Envelope-Id,
//                               Arrival-Date, then one block per recipient
//     3. text/rfc822-headers  — the original header block, or
//        message/rfc822       — the whole original message (RET=FULL, for
//                               failed/delayed reports, within a size cap)
// The DSN carries "Auto-Submitted: auto-replied" (RFC 3834) so that
// autoresponders leave it alone.
//
// Internationalisation (RFC 6533): when the original transaction used
// SMTPUTF8 (DsnRequest::smtputf8), the report uses report-type
// global-delivery-status, message/global-delivery-status, and
// message/global / message/global-headers for the returned content;
// non-ASCII addresses are written with address type "utf-8" (raw UTF-8,
// with '+', '=', '\' and controls as \x{HEX}). Without SMTPUTF8 everything in
// the report part stays 7-bit: a non-ASCII address (which should not occur
// then) is written as "utf-8; utf-8-addr-xtext" with \x{HEX} escapes, so it is
// never corrupted. The returned original content is copied byte-for-byte
// except for line ends (normalised to CRLF) and lines over 998 octets (broken
// with CRLF SP, as Postfix does); if it holds 8-bit bytes the part is labelled
// Content-Transfer-Encoding: 8bit and DsnResult::needs_8bitmime is set.
//
// What the CALLER must do (this code is pure: no clock, no randomness, no I/O):
//   - send the DSN with the NULL envelope sender (MAIL FROM:<>), RFC 3461
//     §6.2 / RFC 5321 §4.5.5, so that a bounce never bounces;
//   - never ask for a DSN about a message whose sender is null (compose_dsn
//     refuses an empty sender);
//   - pass Date, Message-ID and the MIME boundary in (the composer extends the
//     boundary deterministically if it occurs inside the content);
//   - honour DsnResult::needs_smtputf8 / needs_8bitmime when relaying it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::mail {

// RFC 3464 §2.3.3 action values.
enum class DsnAction { Failed, Delayed, Delivered, Relayed, Expanded };

// RFC 3461 §4.3 RET. Unspecified returns headers only (as Postfix does).
enum class DsnRet { Unspecified, Full, Headers };

// "failed", "delayed", ... as written in the Action field.
std::string_view dsn_action_name(DsnAction action);

struct DsnRecipient {
  std::string final_recipient;      // address the report is about, no <>; "rfc822; " is added
  std::string original_recipient;   // decoded ORCPT "rfc822;user@example.org"; empty = not given
  DsnAction action = DsnAction::Failed;
  std::string status;               // RFC 3463 code, e.g. "5.1.1"; empty = derived from action
  std::string remote_mta;           // remote host name; empty = none. Written "dns; host"
  std::string remote_address;       // remote IP for the text part ("host[ip]"); optional
  std::string diagnostic;           // remote reply, possibly multi-line (CRLF or LF), or a
                                    // local explanation; empty = none
  std::string diagnostic_type = "smtp";  // "smtp" for remote replies, "x-unix" etc. otherwise
  std::string in_reply_to;          // SMTP stage for the text part ("RCPT TO"); optional
  std::string last_attempt_date;    // RFC 5322 date-time; empty = omitted
  std::string will_retry_until;     // RFC 5322 date-time; written for Delayed only
};

struct DsnRequest {
  std::string reporting_mta;        // our host name: "Reporting-MTA: dns; <this>"
  std::string envid;                // decoded ENVID; empty = not given
  std::string sender;               // original envelope sender; the DSN's To. Must not be empty.
  std::string arrival_date;         // RFC 5322 date-time the message was accepted; empty = omitted
  DsnRet ret = DsnRet::Unspecified;
  bool smtputf8 = false;            // original transaction used SMTPUTF8: RFC 6533 types
  std::string_view original_message;  // stored message bytes (headers + body)
  std::vector<DsnRecipient> recipients;  // at least one

  std::string message_id;           // the DSN's own Message-ID, with <>
  std::string date;                 // the DSN's Date, RFC 5322 date-time
  std::string boundary;             // MIME boundary: 1-60 chars of RFC 2046 bchars, no trailing space
  std::string postmaster;           // From address; empty = "MAILER-DAEMON@" + reporting_mta
  std::string postmaster_name = "Mail Delivery System";
  std::string delay_text;           // optional, delayed reports: e.g. "4 hours" for
                                    // "could not be delivered for 4 hours"

  size_t max_full_message = 10u << 20;  // RET=FULL beyond this size returns headers only
  size_t max_header_block = 64u << 10;  // the returned header block is cut (at a field
                                        // boundary) beyond this size
};

struct DsnResult {
  bool ok = false;
  std::string error;                // why not, when !ok (invalid request)
  std::string message;              // the complete DSN: CRLF line ends, lines <= 998 octets
  std::string subject;              // the Subject used
  std::string boundary;             // the boundary actually used (request's, maybe extended)
  bool returned_full = false;       // the whole original message was attached
  bool headers_truncated = false;   // the returned header block was cut
  bool needs_8bitmime = false;      // the DSN body holds 8-bit bytes
  bool needs_smtputf8 = false;      // the DSN header holds UTF-8 (sender address)
};

// Compose a DSN. Fails only on a request it cannot honour: empty sender, no
// recipients (or one without a final recipient address), empty reporting
// MTA / Message-ID / Date, or an invalid boundary.
// All other strings are sanitised (controls and line ends removed, long
// values folded), so arbitrary remote replies and messages are safe.
DsnResult compose_dsn(const DsnRequest& request);

}  // namespace ringmta::mail
