// mail/dsn.cpp — RFC 3464 delivery status notification composer.
//
// Built in three steps: (1) sanitise every caller string into what the output
// may hold (no line ends, no controls, 7-bit unless RFC 6533 applies), (2)
// render the three body parts, (3) choose a boundary that occurs in none of
// them and assemble. Every emitted line is at most 998 octets: header fields
// are folded at spaces (and long tokens broken), text is wrapped, and the
// returned original is copied with long lines broken.
#include "mail/dsn.h"

#include <algorithm>
#include <cstdint>

#include "base/text.h"
#include "mail/headers.h"

namespace ringmta::mail {
namespace {

constexpr size_t kFoldWidth = 78;    // preferred header line width
constexpr size_t kTokenChunk = 900;  // longest unbroken token in a folded field
constexpr size_t kMaxLine = 990;     // returned content: longest line we copy unbroken
constexpr size_t kTextWidth = 76;    // text part wrap width

using base::is_ascii;
using base::utf8_sequence_length;  // only ever asked about a byte >= 0x80 here

// One-line text: line ends and tabs become spaces, other controls '?',
// non-ASCII kept only as valid UTF-8 and only when `utf8` is allowed.
std::string clean_text(std::string_view s, bool utf8) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r' || c == '\n' || c == '\t') {
      out.push_back(' ');
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      out.push_back('?');
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (size_t n = utf8 ? utf8_sequence_length(s, i) : 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.push_back('?');
      i += utf8 ? 1 : std::max<size_t>(1, utf8_sequence_length(s, i));  // one '?' per character
    }
  }
  return out;
}

// Collapse runs of spaces and trim: the form a one-line field value takes.
std::string squeeze(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A remote reply (maybe multi-line) as one line: "550-a\r\n550 b" -> "550-a 550 b".
std::string one_line(std::string_view s, bool utf8) { return squeeze(clean_text(s, utf8)); }

void append_hex(std::string& out, uint32_t v) {
  static const char* kHex = "0123456789ABCDEF";
  char buf[8];
  int n = 0;
  do {
    buf[n++] = kHex[v & 0xF];
    v >>= 4;
  } while (v);
  out += "\\x{";
  while (n) out.push_back(buf[--n]);
  out.push_back('}');
}

// RFC 6533 §3 utf-8-addr-xtext (7-bit) or utf-8-addr-unitext (raw UTF-8):
// '+', '=', '\', space and everything outside QCHAR become \x{HEX}. With
// `keep_escapes`, an existing "\x{" sequence (the value is already in this
// form, e.g. a utf-8 ORCPT) is left alone.
std::string utf8_addr(std::string_view a, bool unitext, bool keep_escapes) {
  std::string out;
  for (size_t i = 0; i < a.size();) {
    unsigned char c = static_cast<unsigned char>(a[i]);
    if (c == '\\' && keep_escapes && a.substr(i, 3) == "\\x{") {
      out.push_back('\\');
      ++i;
    } else if (c > 0x20 && c < 0x7F && c != '+' && c != '=' && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x80) {
      append_hex(out, c);
      ++i;
    } else if (size_t n = utf8_sequence_length(a, i)) {
      if (unitext)
        out.append(a.substr(i, n));
      else
        append_hex(out, base::utf8_code_point(a, i, n));
      i += n;
    } else {
      append_hex(out, 0xFFFD);  // not UTF-8: say so rather than pass bytes on
      ++i;
    }
  }
  return out;
}

// An address, MTA-name or diagnostic type name: "rfc822", "dns", "smtp", "x-unix".
bool is_type_name(std::string_view t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
  });
}

// "rfc822; addr" for plain addresses, "utf-8; ..." (RFC 6533) otherwise.
std::string address_value(std::string_view addr, bool global) {
  bool plain = std::all_of(addr.begin(), addr.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7F;
  });
  if (plain) return "rfc822; " + squeeze(addr);
  return "utf-8; " + utf8_addr(addr, global, false);
}

// Original-Recipient from a decoded ORCPT "type;address".
std::string orcpt_value(std::string_view orcpt, bool global) {
  size_t semi = orcpt.find(';');
  if (semi == std::string_view::npos) return address_value(orcpt, global);
  std::string type = squeeze(clean_text(orcpt.substr(0, semi), false));
  std::string_view addr = orcpt.substr(semi + 1);
  // An address type is a name ("rfc822", "utf-8", "x-..."); anything else
  // means the ORCPT was not "type;address" after all.
  if (!is_type_name(type)) return address_value(orcpt, global);
  while (!addr.empty() && addr.front() == ' ') addr.remove_prefix(1);
  if (header_name_equals(type, "utf-8")) return "utf-8; " + utf8_addr(addr, global, true);
  if (!is_ascii(addr)) return address_value(addr, global);
  return type + "; " + squeeze(clean_text(addr, false));
}

// "Name: value" folded at spaces into lines of about kFoldWidth; tokens
// longer than kTokenChunk are broken (a space is inserted — acceptable for
// the free-text fields where that can happen). `value` holds no line ends.
std::string fold(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  size_t line_start = 0;
  bool first = true;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && value[i] == ' ') ++i;
    size_t j = value.find(' ', i);
    if (j == std::string_view::npos) j = value.size();
    std::string_view word = value.substr(i, j - i);
    i = j;
    while (!word.empty()) {
      std::string_view piece = word.substr(0, kTokenChunk);
      word.remove_prefix(piece.size());
      if (!first && out.size() - line_start + 1 + piece.size() > kFoldWidth) {
        out += "\r\n";
        line_start = out.size();
      }
      out += ' ';
      out += piece;
      first = false;
    }
  }
  return out + "\r\n";
}

// Word-wrap one paragraph to kTextWidth; continuation lines get `indent`.
std::string wrap(std::string_view text, std::string_view indent) {
  std::string out, line;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = std::min(text.find(' ', i), text.size());
    std::string_view word = text.substr(i, j - i);
    i = j;
    while (!word.empty()) {
      std::string_view piece = word.substr(0, kTokenChunk);
      word.remove_prefix(piece.size());
      if (!line.empty() && line.size() + 1 + piece.size() > kTextWidth && line != indent) {
        out += line + "\r\n";
        line = indent;
      }
      if (!line.empty() && line != indent) line += ' ';
      line += piece;
    }
  }
  if (!line.empty()) out += line + "\r\n";
  return out;
}

// Copy returned content with CRLF line ends; NUL becomes '?', lines longer than
// kMaxLine are broken with CRLF SP. Ensures the copy ends with CRLF.
void append_content(std::string& out, std::string_view in, bool* eight_bit) {
  size_t col = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
      out += "\r\n";
      col = 0;
      continue;
    }
    if (col >= kMaxLine) {
      out += "\r\n ";
      col = 1;
    }
    if (c == '\0') c = '?';
    if (static_cast<unsigned char>(c) >= 0x80) *eight_bit = true;
    out.push_back(c);
    ++col;
  }
  if (col != 0) out += "\r\n";
}

std::string_view default_status(DsnAction a) {
  switch (a) {
    case DsnAction::Failed: return "5.0.0";
    case DsnAction::Delayed: return "4.0.0";
    default: return "2.0.0";
  }
}

// RFC 3463 status syntax: class "." subject "." detail, 1-3 digits each.
bool valid_status(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t dot = s.find('.', 2);
  if (dot == std::string_view::npos) return false;
  auto digits = [](std::string_view d) {
    return !d.empty() && d.size() <= 3 && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(s.substr(2, dot - 2)) && digits(s.substr(dot + 1));
}

// RFC 2046 bchars; the boundary is always written quoted, so space is fine
// except at the end.
bool valid_boundary(std::string_view b) {
  static const std::string_view kExtra = "'()+_,-./:=? ";
  if (b.empty() || b.size() > 60 || b.back() == ' ') return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

// Extend `b` until "--" + b occurs in no part. Each step appends the character
// that follows the fewest remaining occurrences (ideally none), so the number
// of occurrences shrinks by the alphabet size per step: a handful of steps
// even for adversarial content, and the result is deterministic.
std::string pick_boundary(std::string b, const std::vector<const std::string*>& parts) {
  static const std::string_view kAlpha = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (int step = 0; step < 64; ++step) {
    size_t counts[62] = {};
    bool found = false;
    std::string delim = "--" + b;
    for (const std::string* p : parts) {
      for (size_t at = p->find(delim); at != std::string::npos; at = p->find(delim, at + 1)) {
        found = true;
        if (at + delim.size() < p->size()) {
          size_t k = kAlpha.find((*p)[at + delim.size()]);
          if (k != std::string_view::npos) ++counts[k];
        }
      }
    }
    if (!found) return b;
    b += kAlpha[std::min_element(counts, counts + 62) - counts];
  }
  return b;  // unreachable in practice: 62^64 occurrences would be needed
}

}  // namespace

std::string_view dsn_action_name(DsnAction action) {
  switch (action) {
    case DsnAction::Failed: return "failed";
    case DsnAction::Delayed: return "delayed";
    case DsnAction::Delivered: return "delivered";
    case DsnAction::Relayed: return "relayed";
    case DsnAction::Expanded: return "expanded";
  }
  return "failed";
}

// The human-readable part, Postfix-like: an introduction for the report's
// kind, what was returned, then one paragraph per recipient.
static std::string render_text(const DsnRequest& rq, DsnAction kind, bool global, const std::string& host,
                               const std::string& returned_note) {
  std::string t;
  t += wrap("This is the mail system at host " + host + ".", "");
  t += "\r\n";
  if (kind == DsnAction::Failed) {
    t += wrap("Your message could not be delivered to one or more recipients. The reasons are given below.", "");
  } else if (kind == DsnAction::Delayed) {
    t += "####################################################################\r\n"
         "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
         "####################################################################\r\n\r\n";
    std::string d = one_line(rq.delay_text, global);
    t += wrap(d.empty() ? "Your message has not yet been delivered to the recipients listed below."
                        : "Your message could not be delivered for " + d + ".",
              "");
    t += wrap("The mail system will keep trying; you will be notified if delivery finally fails.", "");
  } else {
    t += wrap("Your message was delivered to the destinations listed below. If it went into a mailbox you "
              "will receive no further notice; other systems may still report errors.",
              "");
  }
  t += "\r\n";
  if (!returned_note.empty()) t += wrap(returned_note, "") + "\r\n";
  if (kind != DsnAction::Delivered)
    t += wrap("For further assistance, please send mail to the postmaster of " + host +
                  " and include this report.",
              "") +
         "\r\n";
  t += "                   The mail system\r\n";
  for (const DsnRecipient& r : rq.recipients) {
    std::string addr = global ? clean_text(r.final_recipient, true) : utf8_addr(r.final_recipient, false, false);
    if (is_ascii(r.final_recipient)) addr = squeeze(clean_text(r.final_recipient, false));
    std::string via;
    if (!r.remote_mta.empty()) {
      via = "host " + one_line(r.remote_mta, false);
      if (!r.remote_address.empty()) via += "[" + one_line(r.remote_address, false) + "]";
    }
    std::string diag = one_line(r.diagnostic, global);
    std::string status = valid_status(r.status) ? r.status : std::string(default_status(r.action));
    std::string line = "<" + addr + ">: ";
    switch (r.action) {
      case DsnAction::Failed:
      case DsnAction::Delayed:
        // "host X said:" only for the remote's own words, not for local
        // diagnostics such as connection failures.
        if (!via.empty() && !diag.empty() && header_name_equals(r.diagnostic_type, "smtp"))
          line += via + " said: " + diag;
        else if (!diag.empty()) line += diag;
        else line += std::string(r.action == DsnAction::Failed ? "delivery failed" : "delivery delayed") +
                     (via.empty() ? "" : " at " + via) + " (status " + status + ")";
        if (!r.in_reply_to.empty() && !diag.empty())
          line += " (in reply to " + one_line(r.in_reply_to, false) + " command)";
        if (r.action == DsnAction::Delayed && !r.will_retry_until.empty())
          line += " (will be retried until " + one_line(r.will_retry_until, false) + ")";
        break;
      case DsnAction::Delivered:
      case DsnAction::Relayed:
        line += r.action == DsnAction::Delivered ? "delivered" : "relayed";
        if (!via.empty()) line += " via " + via;
        line += diag.empty() ? " (status " + status + ")" : ": " + diag;
        if (r.action == DsnAction::Relayed) line += " (the next system does not send delivery notifications)";
        break;
      case DsnAction::Expanded:
        line += "delivered to a list or alias and expanded into further recipients";
        if (!diag.empty()) line += ": " + diag;
        break;
    }
    t += "\r\n" + wrap(line, "    ");
  }
  return t;
}

DsnResult compose_dsn(const DsnRequest& rq) {
  DsnResult res;
  auto fail = [&](std::string why) {
    res.error = std::move(why);
    return res;
  };
  if (rq.sender.empty()) return fail("no DSN to the null sender");
  if (rq.recipients.empty()) return fail("no recipients to report on");
  if (rq.reporting_mta.empty() || rq.message_id.empty() || rq.date.empty())
    return fail("reporting MTA, Message-ID and Date are required");
  if (!valid_boundary(rq.boundary)) return fail("invalid MIME boundary");
  for (const DsnRecipient& r : rq.recipients)
    if (r.final_recipient.empty()) return fail("a recipient without a final recipient address");

  const bool global = rq.smtputf8;
  const std::string host = squeeze(clean_text(rq.reporting_mta, false));

  // The report is about the most serious action it holds.
  DsnAction kind = DsnAction::Delivered;
  for (const DsnRecipient& r : rq.recipients) {
    if (r.action == DsnAction::Failed) kind = DsnAction::Failed;
    else if (r.action == DsnAction::Delayed && kind != DsnAction::Failed) kind = DsnAction::Delayed;
  }
  res.subject = kind == DsnAction::Failed    ? "Undelivered Mail Returned to Sender"
                : kind == DsnAction::Delayed ? "Delayed Mail (still being retried)"
                                             : "Successful Mail Delivery Report";

  // Part 3 first: the text part says what was returned.
  std::string_view original = rq.original_message;
  bool want_full = rq.ret == DsnRet::Full && kind != DsnAction::Delivered;
  bool has_nul = original.find('\0') != std::string_view::npos;
  std::string note;
  std::string returned;
  bool returned_8bit = false;
  if (want_full && original.size() <= rq.max_full_message && !has_nul) {
    res.returned_full = true;
    append_content(returned, original, &returned_8bit);
    note = "A copy of your message is attached.";
  } else {
    LimitedHeaders lh = limit_header_block(split_message(original).header_block, rq.max_header_block);
    res.headers_truncated = lh.truncated;
    append_content(returned, lh.header_block, &returned_8bit);
    note = "The headers of your message are attached.";
    if (want_full && has_nul)
      note = "Your message contains binary data and cannot be returned in full; only its headers are attached.";
    else if (want_full)
      note = "Your message is too large to return in full (" + std::to_string(original.size()) +
             " bytes, limit " + std::to_string(rq.max_full_message) + "); only its headers are attached.";
    if (lh.truncated)
      note += " The headers were cut to " + std::to_string(lh.header_block.size()) + " bytes.";
  }

  // Part 2: machine-readable report (RFC 3464 §2.2, §2.3).
  std::string report = fold("Reporting-MTA", "dns; " + host);
  if (!rq.envid.empty()) report += fold("Original-Envelope-Id", one_line(rq.envid, false));
  if (!rq.arrival_date.empty()) report += fold("Arrival-Date", one_line(rq.arrival_date, false));
  for (const DsnRecipient& r : rq.recipients) {
    report += "\r\n";
    if (!r.original_recipient.empty()) report += fold("Original-Recipient", orcpt_value(r.original_recipient, global));
    report += fold("Final-Recipient", address_value(r.final_recipient, global));
    report += fold("Action", dsn_action_name(r.action));
    report += fold("Status", valid_status(r.status) ? std::string_view(r.status) : default_status(r.action));
    if (!r.remote_mta.empty()) report += fold("Remote-MTA", "dns; " + one_line(r.remote_mta, false));
    std::string diag = one_line(r.diagnostic, global);
    if (!diag.empty()) {
      std::string type = one_line(r.diagnostic_type, false);
      report += fold("Diagnostic-Code", (is_type_name(type) ? type : "x-unknown") + "; " + diag);
    }
    if (!r.last_attempt_date.empty()) report += fold("Last-Attempt-Date", one_line(r.last_attempt_date, false));
    if (r.action == DsnAction::Delayed && !r.will_retry_until.empty())
      report += fold("Will-Retry-Until", one_line(r.will_retry_until, false));
  }

  // Part 1: for people.
  std::string text = render_text(rq, kind, global, host, note);
  bool text_8bit = !is_ascii(text);

  // Display name: quotes and backslashes dropped, then quoted if it holds specials.
  std::string from_name;
  for (char c : one_line(rq.postmaster_name, false))
    if (c != '"' && c != '\\') from_name.push_back(c);
  if (from_name.find_first_of("()<>[]:;@,.") != std::string::npos) from_name = "\"" + from_name + "\"";
  std::string from_addr = rq.postmaster.empty() ? "MAILER-DAEMON@" + host : one_line(rq.postmaster, false);
  std::string to = one_line(rq.sender, true);  // UTF-8 only with SMTPUTF8: see needs_smtputf8

  std::string top = fold("Date", one_line(rq.date, false));
  top += fold("From", from_name.empty() ? "<" + from_addr + ">" : from_name + " <" + from_addr + ">");
  top += fold("To", "<" + to + ">");
  top += fold("Subject", res.subject);
  top += fold("Message-ID", one_line(rq.message_id, false));
  top += fold("Auto-Submitted", "auto-replied");
  top += "MIME-Version: 1.0\r\n";

  // The header block is outside the multipart body, so a delimiter there is
  // harmless to MIME; keeping it out anyway costs nothing and spares lax parsers.
  res.boundary = pick_boundary(rq.boundary, {&top, &text, &report, &returned});
  res.needs_8bitmime = text_8bit || returned_8bit || !is_ascii(report);
  const std::string& b = res.boundary;

  std::string& m = res.message;
  m.reserve(top.size() + text.size() + report.size() + returned.size() + 1024);
  m += top;
  m += std::string("Content-Type: multipart/report; report-type=") +
       (global ? "global-delivery-status" : "delivery-status") + ";\r\n";
  m += "\tboundary=\"" + b + "\"\r\n";
  m += std::string("Content-Transfer-Encoding: ") + (res.needs_8bitmime ? "8bit" : "7bit") + "\r\n";
  m += "\r\nThis is a MIME-encapsulated message.\r\n";

  m += "\r\n--" + b + "\r\n";
  m += "Content-Description: Notification\r\n";
  m += std::string("Content-Type: text/plain; charset=") + (text_8bit ? "utf-8" : "us-ascii") + "\r\n";
  if (text_8bit) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += text;

  m += "\r\n--" + b + "\r\n";
  m += "Content-Description: Delivery report\r\n";
  m += std::string("Content-Type: ") + (global ? "message/global-delivery-status" : "message/delivery-status") + "\r\n";
  if (!is_ascii(report)) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += report;

  std::string what = kind == DsnAction::Failed ? "Undelivered Message" : kind == DsnAction::Delayed ? "Delayed Message" : "Message";
  m += "\r\n--" + b + "\r\n";
  if (res.returned_full) {
    m += "Content-Description: " + what + "\r\n";
    m += std::string("Content-Type: ") + (global ? "message/global" : "message/rfc822") + "\r\n";
  } else {
    m += "Content-Description: " + what + " Headers\r\n";
    m += std::string("Content-Type: ") + (global ? "message/global-headers" : "text/rfc822-headers") + "\r\n";
  }
  if (returned_8bit) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += returned;  // appended, not concatenated: it may be megabytes
  m += "\r\n--" + b + "--\r\n";

  // Only the To address can bring UTF-8 into the header block.
  res.needs_smtputf8 = !is_ascii(to);
  res.ok = true;
  return res;
}

}  // namespace ringmta::mail
