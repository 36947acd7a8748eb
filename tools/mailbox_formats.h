// tools/mailbox_formats.h — the pure parts of `ringmtactl mailbox import`
// and `export`: Maildir file names and their flags, mbox (mboxrd) splitting
// and writing, From_ line dates, line-end normalisation and the header lines
// `mailbox show` prints. Bytes in, values out: no files, no clock (the
// directory walking and file writing are in tools/ctl_mailbox.cpp).
//
// Line ends: the store keeps messages as SMTP delivery does, every line
// ended by CRLF. Imported messages are normalised with to_crlf(): a bare LF
// becomes CRLF, CRLF stays, and a message not ending with a line end gets a
// final CRLF. Maildir export writes the stored bytes unchanged (CRLF);
// mbox export writes LF line ends (what Unix mbox readers expect) — so an
// imported LF Maildir file comes back as to_crlf() of itself, and an LF mbox
// message as itself (plus a final LF if it had none).
//
// Maildir flags (the "info" after ":2,", https://cr.yp.to/proto/maildir.html):
//   S \Seen  R \Answered  F \Flagged  T \Deleted  D \Draft;
// P (passed) and Dovecot's keyword letters a-z are not imported.
//
// mbox (mboxrd): a message starts at a line "From " at the start of the
// file or after an empty line; that empty line is the separator, not part
// of the message before it. Inside a message ">From ", ">>From " ... lose
// one '>' on import and gain one on export, so any body survives both ways.
// Flags of an mbox message come from its "Status:" (R \Seen) and
// "X-Status:" (A \Answered, F \Flagged, T \Draft, D \Deleted) header
// fields, as mutt, Pine and Dovecot write them; the fields stay in the
// message (bytes are imported as they are). mbox export writes no flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::tools {

// Flag bits as mailbox/records.h (kSeen 1, kAnswered 2, kFlagged 4, kDeleted 8, kDraft 16).
// The flags of a Maildir file name's ":2," info (0 when it has none).
uint8_t maildir_flags(std::string_view file_name);
// The info suffix for `flags`: ":2," and the letters in ASCII order ("DFRST").
std::string maildir_info(uint8_t flags);
// An export file name: unique per user and message, sortable by date:
// "<secs>.U<uidvalidity>_<uid>.ringmta,S=<size>" + maildir_info(flags).
std::string maildir_file_name(int64_t internal_date_ms, uint32_t uidvalidity, uint32_t uid, uint64_t size,
                              uint8_t flags);
// Maildir++ folders: ".Sent" <-> mailbox "Sent"; INBOX is the top directory.
// A mailbox name with '/' is written with '.' (the Maildir++ separator).
// nullopt: not a folder name (no leading dot, ".", "..", or empty).
std::optional<std::string> maildir_folder_mailbox(std::string_view dir_name);
std::string maildir_folder_name(std::string_view mailbox);

// Line ends (see the file comment).
std::string to_crlf(std::string_view message);
std::string to_lf(std::string_view message);

struct MboxMessage {
  std::string body;                    // unquoted, line ends as in the file
  std::optional<int64_t> date_ms;      // from the From_ line, when it has a date
  uint64_t line = 0;                   // 1-based line of its From_ line (messages)
};
struct MboxParse {
  std::vector<MboxMessage> messages;
  std::string error;  // non-empty: not an mbox (it does not begin with "From ")
};
MboxParse parse_mbox(std::string_view file);
// The date of a From_ line ("From sender Www Mmm dd hh:mm:ss yyyy", also with
// a zone before or after the year; read as UTC), in unix ms.
std::optional<int64_t> parse_from_line_date(std::string_view line);
// Appends one message in mboxrd form: "From MAILER-DAEMON <asctime date>\n",
// the body with LF line ends and >From quoting, a final LF if missing, and
// the empty separator line.
void append_mbox_message(std::string& out, std::string_view body, int64_t internal_date_ms);

// The flags of an mbox message's Status/X-Status fields (see above).
uint8_t mbox_flags(std::string_view message);

// The first `name` header field of a message (unfolded, without the name),
// or "" — what `mailbox show` prints for Subject and From. Reads only the
// header section, at most max_bytes of it.
std::string first_header(std::string_view message, std::string_view name, size_t max_bytes = 64 * 1024);

}  // namespace ringmta::tools
