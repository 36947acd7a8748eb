// admin/admin_protocol.h — the pure part of the admin API: requests and their
// validation, message selectors, what state a queued message is in, the
// per-destination summary, and the JSON shapes of messages. No I/O, so every
// rule is unit-tested on plain values (tests/unit/admin).
//
// Wire format (admin/admin_server.h): one JSON object per line each way.
// A request: {"cmd": "...", ...}; a response: {"ok": true, ...} or
// {"ok": false, "error": "clear message"}.
//
//   cmd       fields                                  effect
//   ping      -                                       {"ok":true,"version":..}
//   summary   -                                       per destination domain: messages, recipients,
//                                                     oldest age, last error (like Postfix's qshape)
//   list      selector (optional)                     {"messages":[...]} (queue list --json fields + state)
//   show      id                                      envelope, recipients (state, attempts, last reply,
//                                                     next attempt), header section
//   flush     selector                                pending recipients due now, loader woken; down
//                                                     destinations forgotten (the domain's, or all)
//                                                     {"down_destinations_forgotten":N}
//   delete    selector                                removed, no notice
//   hold      selector                                kFlagHeld: never attempted until released
//   release   selector                                flag cleared; due recipients go at once
//   bounce    selector, reason                        pending recipients failed now + one DSN each
//   suspend   domain                                  no delivery to the domain (in memory only)
//   resume    domain                                  delivery again; its messages flushed
//   destinations -                                    the suspended domains
//   reload    -                                       what SIGHUP does (TLS certificates)
//
// A selector is {"ids":[...]} or any of {"domain","sender","state"} (all must
// match) or {"all":true}; flush and bounce also take "ids" with "domain". Mutating commands need a non-empty selector, so a
// forgotten argument never means "everything". With a domain, flush and
// bounce touch only that domain's recipients; hold, release and delete act on
// whole messages. Only pending recipients count for the domain match.
//
// Message states (list --state, summary): held (kFlagHeld), in_flight (a
// delivery attempt is running; only the daemon knows), ready (a pending
// recipient is due now), deferred (tried before, next attempt later),
// scheduled (never tried, next attempt later — e.g. a fresh message whose
// first attempt runs from memory). The first that applies wins, in that order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/queue.h"
#include "base/json.h"
#include "base/result.h"

namespace ringmta::admin {

enum class MessageState { Scheduled, Ready, InFlight, Held, Deferred };
std::string_view to_string(MessageState state);
std::optional<MessageState> parse_state(std::string_view text);
// See the file comment for the rules.
MessageState message_state(const queue::Envelope& env, int64_t now_ms, bool in_flight);

struct Selector {
  std::vector<std::string> ids;   // upper-case queue IDs
  std::string domain;             // lower-case recipient domain
  std::string sender;             // lower-case address, "@domain", or "<>" (null sender)
  std::optional<MessageState> state;
  bool all = false;

  bool empty() const { return ids.empty() && domain.empty() && sender.empty() && !state && !all; }
};

// Whether `env` (in `state`) matches the domain/sender/state parts of `sel`
// (ids are looked up directly by the caller).
bool matches(const Selector& sel, const queue::Envelope& env, MessageState state);
// Whether recipient `r` is one a domain-limited flush/bounce touches.
bool recipient_selected(const Selector& sel, const queue::Recipient& r);

enum class Command {
  Ping, Summary, List, Show, Flush, Delete, Hold, Release, Bounce, Suspend, Resume, Destinations, Reload,
};
std::string_view to_string(Command command);
bool mutates(Command command);

struct Request {
  Command command = Command::Ping;
  Selector selector;    // list, flush, delete, hold, release, bounce
  std::string id;       // show
  std::string domain;   // suspend, resume
  std::string reason;   // bounce (required)
  std::string token;    // admin.token, when the server has one
};

// Validate one request object; the error is a message for the operator
// (e.g. "bad queue ID 'x!': ...") when it is not acceptable.
base::Result<Request> parse_request(const base::json::Value& v);
// The request object for `req` (what ringmtactl sends); parse_request(encode_request(r)) == r.
base::json::Value encode_request(const Request& req);

// Normalizers shared with ringmtactl (so it can refuse bad input before it
// connects). Each fails with a message for the operator when the text is unusable.
base::Result<std::string> normalize_id(std::string_view text);
base::Result<std::string> normalize_domain(std::string_view text);
base::Result<std::string> normalize_sender(std::string_view text);

// Per destination domain, over the pending recipients of queued messages.
struct DomainSummary {
  std::string domain;
  uint64_t messages = 0;        // messages with a pending recipient here
  uint64_t recipients = 0;      // pending recipients here
  uint64_t deferred = 0;        // of those messages: tried before
  uint64_t held = 0;            // of those messages: held
  int64_t oldest_arrival_ms = 0;
  int64_t last_attempt_ms = 0;  // of the most recent attempt here (0 = never tried)
  std::string last_error;       // that attempt's reply
};

class SummaryBuilder {
 public:
  void add(const queue::Envelope& env, MessageState state);
  // Sorted by message count (largest first), then domain.
  std::vector<DomainSummary> finish() const;
  uint64_t total_messages() const { return total_; }

 private:
  std::map<std::string, DomainSummary> by_domain_;
  uint64_t total_ = 0;
};

base::json::Value summary_json(const std::vector<DomainSummary>& rows, int64_t now_ms);
// `queue list --json` fields (id, sender, recipients, size, arrival,
// arrival_unix) plus "state".
base::json::Value list_entry_json(const queue::Envelope& env, MessageState state);
// Everything about one message; `header_section` is the stored message up to
// its first empty line.
base::json::Value show_json(const queue::Envelope& env, MessageState state, std::string_view header_section);
// The header section of a stored message (at most max_bytes).
std::string header_section(std::string_view body, size_t max_bytes = 64 * 1024);

std::string iso8601(int64_t unix_ms);

}  // namespace ringmta::admin
