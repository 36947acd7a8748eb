// proto/imap/command.h — IMAP4rev1/rev2 client command input, as pure code.
//
// Two stages, both bytes-in/structures-out (no sockets, clocks or store):
//  1. CommandAssembler turns the client's byte stream into complete commands.
//     A command is one line plus any literals it carries ({n} synchronising,
//     {n+} LITERAL+/LITERAL-), so the assembler tells the host when to send
//     "+ " for a synchronising literal, and enforces the line, literal
//     (APPENDLIMIT) and non-synchronising-literal (LITERAL-, RFC 7888) limits.
//  2. parse_command() turns one complete command into a typed Command
//     (RFC 9051 §9 grammar, RFC 3501 where rev1 differs, plus the extensions
//     the server advertises), or a precise reason for a tagged BAD.
// Mailbox names stay raw bytes (modified UTF-7 decoding is mutf7.h's job).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::imap {

// ---------------------------------------------------------------- assembler

struct AssemblerLimits {
  std::size_t max_line = 64 * 1024;             // one line, without its literals
  std::size_t max_literal = 64 * 1024 * 1024;   // APPENDLIMIT
  std::size_t max_nonsync_literal = 4096;       // LITERAL- (RFC 7888 §4)
  bool literal_plus = false;                    // true: LITERAL+ (no 4096 cap)
  std::size_t max_command = 72 * 1024 * 1024;   // line(s) + literals together
};

enum class AssembleStatus {
  NeedMore,      // nothing complete yet: feed more bytes
  Continuation,  // a synchronising literal was announced and fits: send "+ ..."
  Command,       // `command` holds one complete command (no final CRLF)
  Error,         // `error` says why; `tag` is the tag if one was seen
};

struct Assembled {
  AssembleStatus status = AssembleStatus::NeedMore;
  std::string command;  // raw bytes, literals inline as "{n}\r\n<n bytes>"
  std::string tag;      // for Error: the tag of the refused command (or "*")
  std::string error;    // for Error
  bool toobig = false;  // Error was a size limit ([TOOBIG] / [LIMIT])
  bool fatal = false;   // Error cannot be recovered from: close the connection
};

class CommandAssembler {
 public:
  explicit CommandAssembler(AssemblerLimits limits = {}) : limits_(limits) {}
  void set_limits(const AssemblerLimits& l) { limits_ = l; }
  // Appends client bytes; then call next() until it says NeedMore.
  void feed(std::string_view bytes) { in_.append(bytes); }
  Assembled next();
  // Bytes held but not yet returned (for back-pressure and tests).
  std::size_t buffered() const { return in_.size() - pos_ + cur_.size(); }

 private:
  AssemblerLimits limits_;
  std::string in_;
  std::size_t pos_ = 0;         // first unconsumed byte of in_
  std::string cur_;             // the command assembled so far
  std::size_t line_start_ = 0;  // offset in cur_ of the line being read
  std::size_t literal_left_ = 0;
  bool in_literal_ = false;
  bool discard_line_ = false;   // after an over-long line: skip to CRLF
  std::string discard_tail_;    // last bytes skipped: did the line announce a literal?
  std::size_t skip_left_ = 0;   // bytes of a refused line's non-sync literal to skip
  void compact();
};

// ---------------------------------------------------------------- commands

// One element of a sequence set; 0 stands for '*' (the largest number in use).
struct SeqRange {
  std::uint32_t lo = 0;
  std::uint32_t hi = 0;  // == lo for a single number
};
struct SequenceSet {
  std::vector<SeqRange> ranges;
  bool saved = false;  // "$": the saved SEARCHRES result (RFC 5182)
  bool contains(std::uint32_t n, std::uint32_t star) const;
};

struct Date {
  int year = 0, month = 0, day = 0;  // month 1..12
};

// A search key as a tree. `key` is the upper-case keyword; composite keys:
// "AND" (children, from a parenthesised list or the top level), "OR" (two
// children), "NOT" (one child); "SEQ" (set) for a bare sequence set.
struct SearchKey {
  std::string key;
  std::vector<std::string> args;  // FROM/SUBJECT/.. value; HEADER name,value; KEYWORD flag
  std::uint64_t number = 0;       // LARGER/SMALLER size, MODSEQ value, OLDER/YOUNGER secs
  Date date;                      // BEFORE/ON/SINCE/SENT*
  SequenceSet set;                // SEQ, UID
  std::vector<SearchKey> children;
};

enum class FetchItem {
  Envelope, Flags, InternalDate, Rfc822, Rfc822Header, Rfc822Size, Rfc822Text,
  Body /* BODY without section: BODYSTRUCTURE without extensions */, BodyStructure,
  Uid, ModSeq, BodySection, Binary, BinarySize,
};
struct FetchAtt {
  FetchItem item = FetchItem::Flags;
  bool peek = false;                 // BODY.PEEK / BINARY.PEEK
  std::vector<std::uint32_t> part;   // section-part "1.2.3"
  std::string text;                  // "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
  std::vector<std::string> fields;   // header-list, upper-cased
  bool partial = false;
  std::uint32_t offset = 0, length = 0;  // <offset.length>
};

enum class Name {
  Capability, Noop, Logout, StartTls, Authenticate, Login, Enable, Select, Examine,
  Create, Delete, Rename, Subscribe, Unsubscribe, List, Lsub, Namespace, Status, Append,
  Idle, Check, Close, Unselect, Expunge, Search, Fetch, Store, Copy, Move, Sort, Thread,
  Id, Compress, GetQuota, GetQuotaRoot,
};
std::string_view name_text(Name n);

struct Command {
  std::string tag;
  Name name = Name::Noop;
  bool uid = false;  // UID FETCH/STORE/COPY/MOVE/SEARCH/SORT/THREAD/EXPUNGE

  // Mailbox arguments (raw bytes; "INBOX" in any case becomes "INBOX"):
  // SELECT/EXAMINE/CREATE/DELETE/SUBSCRIBE/UNSUBSCRIBE/STATUS/APPEND/GETQUOTAROOT
  // -> mailbox; RENAME -> mailbox, new_mailbox; COPY/MOVE -> mailbox (target);
  // LIST/LSUB -> mailbox is the reference, patterns the list-mailbox patterns.
  std::string mailbox, new_mailbox;
  std::vector<std::string> patterns;

  // LOGIN user, password; AUTHENTICATE mechanism (upper-cased) and
  // initial response (has_initial; "=" is an empty one); GETQUOTA root;
  // COMPRESS mechanism; ENABLE capabilities (upper-cased); STATUS items
  // (upper-cased); ID field/value pairs (a NIL value is stored as ""; "ID NIL"
  // sets id_nil).
  std::string user, password, mechanism, initial_response;
  bool has_initial = false;
  std::vector<std::string> atoms;
  std::vector<std::pair<std::string, std::string>> id_params;
  bool id_nil = false;

  // SELECT/EXAMINE: CONDSTORE; QRESYNC (uidvalidity modseq [known-uids [seq uid]]).
  bool condstore = false, qresync = false;
  std::uint32_t qresync_uidvalidity = 0;
  std::uint64_t qresync_modseq = 0;
  SequenceSet qresync_uids, qresync_seq_match, qresync_uid_match;

  // LIST-EXTENDED: selection options and return options (upper-cased);
  // RETURN (STATUS (...)) puts the status items in atoms.
  std::vector<std::string> select_opts, return_opts;

  // APPEND: flags, date-time as given (validated), the message literal.
  std::vector<std::string> flags;  // also STORE flags; CREATE (USE (...)) special-use
  std::string date_time;
  std::string message;

  // FETCH/STORE/COPY/MOVE/UID EXPUNGE.
  SequenceSet set;
  std::vector<FetchAtt> fetch;
  std::uint64_t changedsince = 0;   // FETCH (CHANGEDSINCE n)
  bool has_changedsince = false, vanished = false;
  char store_mode = '=';            // '+', '-', '=' (FLAGS)
  bool silent = false;
  std::uint64_t unchangedsince = 0; // STORE (UNCHANGEDSINCE n)
  bool has_unchangedsince = false;

  // SEARCH/SORT/THREAD: the criteria (an AND node), CHARSET (upper-cased),
  // ESEARCH RETURN options (esearch true when RETURN was given), SORT keys
  // ("REVERSE" precedes the key it reverses), THREAD algorithm in mechanism.
  // SORT RETURN (...) (ESORT, RFC 5267) uses esearch/search_return too.
  SearchKey criteria;
  std::string charset;
  bool esearch = false;
  std::vector<std::string> search_return;
  std::vector<std::string> sort_keys;
};

struct ParseResult {
  bool ok = false;
  Command command;     // valid when ok; command.tag is set whenever a tag was read
  std::string error;   // reason for the tagged (or untagged "*") BAD
};

// Parses one complete command as returned by CommandAssembler.
ParseResult parse_command(std::string_view raw);

// True for the line that ends IDLE (RFC 2177: "DONE", any case, nothing else);
// the host checks this instead of parse_command while a session idles.
bool is_idle_done(std::string_view line);

constexpr int kMaxSearchDepth = 32;  // nested parentheses/NOT/OR in SEARCH
constexpr std::size_t kMaxListItems = 10000;  // set ranges, fetch atts, keys...

}  // namespace ringmta::imap
