// access/imap_view.h — what an IMAP session knows of its user's mailboxes,
// and the code that keeps it true, run on the user's OWNER shard.
//
// A user's mailboxes live in a mailbox::UserState on one shard (the owner,
// mailbox/service.h); an IMAP session may run on any shard. Every command
// that reads or changes mailboxes runs one step on the owner inside a
// Service::change, so it sees the state between two committed changes and
// never races a delivery. The session's selected-mailbox View is handed to
// that step (the session does not touch it while the step runs: one command
// at a time), so the view is only ever read or written on the owner.
//
// RFC 9051 §7.5 / RFC 3501 §7.4.1 rules the view enforces:
//  - sequence numbers change only when the session is told (EXPUNGE or
//    VANISHED); while FETCH, STORE and SEARCH (not their UID forms) run,
//    expunges are held back and the expunged messages keep their numbers;
//  - new messages are announced with EXISTS (and RECENT, rev1), flag changes
//    by others with FETCH FLAGS (plus UID and MODSEQ once CONDSTORE is on);
//  - \Recent belongs to exactly one session: the first that sees a message
//    with the mailbox selected read-write (kept per mailbox on the owner, in
//    memory: after a restart unseen messages are recent once more).
// Mailbox attributes (subscription, SPECIAL-USE, \Noselect) are this layer's
// bits in mailbox::Mailbox::attributes; the hierarchy delimiter is "/".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mailbox/records.h"
#include "mailbox/user_state.h"
#include "proto/imap/command.h"
#include "proto/imap/response.h"

namespace ringmta::access::imap_view {

inline constexpr char kDelimiter = '/';

// mailbox::Mailbox::attributes bits owned by IMAP.
enum Attribute : uint32_t {
  kSubscribed = 1,
  kUseSent = 2,
  kUseDrafts = 4,
  kUseTrash = 8,
  kUseJunk = 16,
  kUseArchive = 32,
  kUseAll = 64,
  kUseFlagged = 128,
  kNoselect = 256,  // DELETE of a mailbox with inferiors keeps the name (RFC 3501 §6.3.4)
  kSetUp = 512,     // on the INBOX: the special-use mailboxes were created (first login)
};
inline constexpr uint32_t kSpecialUseMask = kUseSent | kUseDrafts | kUseTrash | kUseJunk | kUseArchive | kUseAll |
                                            kUseFlagged;

// "\Sent" etc. for one special-use bit; "" for none.
std::string_view special_use_name(uint32_t bit);
// The bit of a special-use attribute name (any case), 0 if unknown.
uint32_t special_use_bit(std::string_view name);

// What the session enabled (ENABLE, or implied by SELECT (CONDSTORE) or a
// CONDSTORE command): how untagged responses are written.
struct Modes {
  bool condstore = false;  // FETCH responses carry UID and MODSEQ
  bool qresync = false;    // VANISHED instead of EXPUNGE
  bool rev2 = false;       // IMAP4rev2: no \Recent, no RECENT
  bool utf8 = false;       // UTF8=ACCEPT: mailbox names in UTF-8
};

// The selected mailbox as the session knows it.
struct View {
  bool selected = false;
  uint32_t mailbox_id = 0;
  bool read_only = false;
  uint32_t uidvalidity = 0;
  std::vector<uint32_t> uids;    // sequence number - 1 -> UID, as last told to the client
  std::vector<uint32_t> recent;  // UIDs recent in this session (ascending)
  uint64_t modseq_seen = 0;      // flag changes up to this MODSEQ were reported
  std::vector<uint32_t> saved;   // SEARCHRES "$" (RFC 5182): UIDs
  bool gone = false;             // the mailbox was deleted or renamed away under us
};

// Per user on the owner shard: which sessions to wake, who got \Recent.
struct Watcher {
  unsigned shard = 0;
  uint64_t session = 0;
};
struct UserImap {
  std::vector<Watcher> watchers;
  std::unordered_map<uint32_t, uint32_t> recent_floor;  // mailbox id -> first UID no session has claimed
  uint64_t fingerprint = 0;  // of the state last announced to watchers
};
// A cheap summary of the user's mailboxes: it changes whenever a session
// may have something to be told.
uint64_t fingerprint(const mailbox::UserState& state);

// The mailbox `id`, or null.
const mailbox::Mailbox* mailbox_by_id(const mailbox::UserState& state, uint32_t id);
// The message with `uid` in `mb`, or null (binary search).
const mailbox::Message* message_by_uid(const mailbox::Mailbox& mb, uint32_t uid);

// "(\Seen \Flagged kw ...)" for a message (\Recent when `recent` and rev1).
void append_flags(std::string& out, uint8_t flags, const std::vector<std::string>& keywords, bool recent);
// The session's known UIDs for a sequence set or UID set, ascending and
// unique. Sequence numbers beyond the view are ignored; "*" is the last
// message (an empty view has none). `$` uses View::saved.
std::vector<uint32_t> resolve(const View& v, const imap::SequenceSet& set, bool uid);
// Sequence number (1-based) of `uid` in the view, 0 if not there.
uint32_t seq_of(const View& v, uint32_t uid);
// Compact "1:3,7" text of ascending UIDs.
std::string set_text(const std::vector<uint32_t>& ascending);

// Brings the view up to date with the mailbox: EXPUNGE/VANISHED (only when
// allow_expunge), EXISTS and RECENT for new messages, FETCH FLAGS for
// messages whose MODSEQ grew. `mb` null: the mailbox is gone (every message
// is reported expunged when allowed, and View::gone is set).
void sync(std::string& out, View& v, const mailbox::Mailbox* mb, UserImap& u, const Modes& m, bool allow_expunge);

// Fills a fresh view for SELECT/EXAMINE and writes the untagged responses
// (FLAGS, EXISTS, RECENT, OK [UNSEEN/UIDVALIDITY/UIDNEXT/PERMANENTFLAGS/
// HIGHESTMODSEQ], LIST for rev2). QRESYNC's VANISHED (EARLIER) and FETCH
// for changes since the client's modseq when `cmd.qresync` matches.
void select(std::string& out, View& v, const mailbox::Mailbox& mb, UserImap& u, const Modes& m,
            const imap::Command& cmd, bool read_only);

// ---- names and the hierarchy ----

// A mailbox name from the client in UTF-8: modified UTF-7 unless UTF-8 was
// enabled (UTF8=ACCEPT or IMAP4rev2). nullopt: not a valid name.
std::optional<std::string> client_name(const std::string& raw, const Modes& m);

// STORE/APPEND flag names to system flag bits and keywords (\Recent is not
// settable and is ignored). False: an unknown system flag.
bool parse_flags(const std::vector<std::string>& names, uint8_t& bits, std::vector<std::string>& keywords);

// A mailbox name (UTF-8) as LIST, STATUS and the like write it: modified
// UTF-7 or UTF-8 (imap::append_mailbox), or a plain string if the stored
// name is not a valid IMAP name (an import may have made one).
void append_name(std::string& out, const std::string& utf8, const imap::WriteOptions& o);

// Whether `name` (UTF-8) may be created: valid, no empty level, not too long.
bool valid_new_name(std::string_view name);
// The names `name`'s superiors ("a", "a/b" for "a/b/c").
std::vector<std::string> superiors(std::string_view name);
// Whether `name` has inferiors among the user's mailboxes.
bool has_children(const mailbox::UserState& state, std::string_view name);
// LIST pattern matching (RFC 3501 §6.3.8): `*` matches anything, `%`
// anything but the delimiter; the reference is prefixed. Case-sensitive,
// except that INBOX matches in any case.
bool list_match(std::string_view reference, std::string_view pattern, std::string_view name);

// Creates INBOX, Sent, Drafts, Trash, Junk and Archive with their SPECIAL-USE
// attributes once per user (kSetUp on the INBOX). False: nothing to do.
bool set_up(mailbox::UserState& state, queue::Batch& b, int64_t now_ms);

}  // namespace ringmta::access::imap_view
