// admin/mailbox_protocol.h — the admin API's mail store commands (what
// `ringmtactl mailbox purge` and `mailbox import` send to a running daemon):
// requests, their validation and their JSON. Pure, beside admin_protocol.h
// (the queue commands); the daemon's side is admin/admin_mailbox.cpp.
//
//   cmd              fields                              effect
//   mailbox_append   user, mailbox, create (bool),       the messages appended in ONE atomic
//                    messages: [{body (base64),          write (all or none), in order, on the
//                    flags (int), date_ms (int)}]        user's owner shard; answered when durable:
//                                                        {"ok":true,"uids":[...],"uidvalidity":N}
//   mailbox_purge    user                                every mailbox and message of the user
//                                                        removed: {"ok":true,"messages":N,"bytes":N}
//   mailbox_stage    stage (id), offset, data (base64)   a part of one big message kept in the
//                                                        daemon's memory: {"ok":true,"size":N}
//
// A message bigger than one request carries is staged first: its parts go in
// mailbox_stage requests (offset 0 starts a stage afresh, each further part
// must start where the stage ends), then a mailbox_append message gives
// {"staged": id} instead of "body", which takes the stage. Stages are at
// most kMaxStagedBytes each; one untouched for 10 minutes is dropped.
//
// Reading (mailbox list/show/export) needs no daemon: ringmtactl reads the
// store itself (a RocksDB secondary instance), with or without one running.
// A request line is at most 8 MiB (admin_server.h): ringmtactl splits an
// import into requests of at most kMaxAppendBytes of bodies, and stages a
// single message bigger than that.
// flags are mailbox/records.h Flag bits (\Seen 1, \Answered 2, \Flagged 4,
// \Deleted 8, \Draft 16); date_ms is the INTERNALDATE (unix ms).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"

namespace ringmta::admin {

// Raw body bytes per mailbox_append request: base64 (4/3) of this plus the
// JSON around it stays well under the 8 MiB request cap.
inline constexpr size_t kMaxAppendBytes = 5u << 20;
inline constexpr size_t kMaxAppendMessages = 10000;
inline constexpr size_t kMaxStagedBytes = 256u << 20;  // one staged message
inline constexpr size_t kMaxStageId = 64;

struct MailboxAppendMessage {
  std::string body;    // raw bytes (base64 on the wire)
  std::string staged;  // or: the id of a stage that holds the body (body empty)
  uint8_t flags = 0;
  int64_t date_ms = 0;
};

struct MailboxRequest {
  enum class Kind { Append, Purge, Stage } kind = Kind::Purge;
  std::string user;
  std::string mailbox;   // append
  bool create = false;   // append: create the mailbox if missing (INBOX always is)
  std::vector<MailboxAppendMessage> messages;
  std::string stage;     // stage: its id (1..64 of [A-Za-z0-9_.-])
  uint64_t offset = 0;   // stage: where `data` goes
  std::string data;      // stage: raw bytes (base64 on the wire)
  std::string token;
};

// Whether a request object is one of these commands ("cmd" starts with "mailbox_").
bool is_mailbox_request(const base::json::Value& v);
// Validate one request object; nullopt with *error when not acceptable.
std::optional<MailboxRequest> parse_mailbox_request(const base::json::Value& v, std::string* error);
// The request object (the token first, as admin_server.h wants).
base::json::Value encode_mailbox_request(const MailboxRequest& req);

// Why `user` cannot name a mailbox owner ("" when it can): the store's rule
// (1..255 bytes, no NUL) plus no control characters or blanks.
std::string mailbox_user_problem(std::string_view user);
// Why `name` cannot be a mailbox name ("" when it can): 1..1024 bytes,
// no NUL, CR or LF (mailbox/codec.h).
std::string mailbox_name_problem(std::string_view name);

}  // namespace ringmta::admin
