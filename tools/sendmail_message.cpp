// tools/sendmail_message.cpp — see sendmail_message.h.
#include "tools/sendmail_message.h"

#include <algorithm>

#include "base/text.h"

namespace ringmta::tools {

using base::iequals;

namespace {

// Addresses on header lines: folded whitespace around them goes.
std::string trim(std::string_view s) { return std::string(base::trim(s, " \t\r\n")); }

// One header field: its name and its lines (first line + continuations).
struct Field {
  std::string name;
  std::string text;  // the raw lines, CRLF included
};

}  // namespace

base::Result<Options> parse_args(const std::vector<std::string>& args) {
  Options o;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.empty() || a[0] != '-' || a == "-") {
      o.recipients.push_back(a);
      continue;
    }
    auto value = [&](size_t prefix) -> base::Result<std::string> {
      if (a.size() > prefix) return a.substr(prefix);
      if (i + 1 < args.size()) return args[++i];
      return base::Error("option " + a + " needs a value");
    };
    if (a == "--") {
      options_done = true;
    } else if (a == "-t") {
      o.extract_recipients = true;
    } else if (a == "-i" || a == "-oi") {
      o.ignore_dots = true;
    } else if (a.rfind("-f", 0) == 0 || a.rfind("-r", 0) == 0) {
      auto v = value(2);
      if (!v) return base::Error(v.error());
      std::string s = *v;
      if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
      if (s.find_first_of(" \t\r\n<>") != std::string::npos) {
        return base::Error("bad sender address '" + *v + "'");
      }
      o.sender = s;
    } else if (a.rfind("-F", 0) == 0) {
      auto v = value(2);
      if (!v) return base::Error(v.error());
      o.full_name = *v;
    } else if (a == "--config" || a == "-C" || a.rfind("--config=", 0) == 0) {
      if (a.rfind("--config=", 0) == 0) {
        o.config_path = a.substr(9);
      } else {
        auto v = value(a.size());
        if (!v) return base::Error(v.error());
        o.config_path = *v;
      }
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "-bm" || a == "-v" || a == "-U" || a == "-m" || a.rfind("-od", 0) == 0 ||
               a.rfind("-oe", 0) == 0 || a.rfind("-o", 0) == 0) {
      // Accepted for compatibility; ringmta queues at once and reports errors
      // by exit code and DSN, so these change nothing.
    } else if (a == "-L" || a == "-B" || a == "-N" || a == "-R" || a == "-V") {
      if (auto v = value(a.size()); !v) return base::Error(v.error());  // takes a value; ignored
    } else {
      return base::Error("unsupported option " + a +
                         " (ringmta-sendmail only submits a message: -t -i -f ADDR [recipients])");
    }
  }
  return o;
}

std::string normalize_input(std::string_view raw, bool ignore_dots) {
  std::string out;
  out.reserve(raw.size() + raw.size() / 32 + 2);
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t nl = raw.find('\n', pos);
    std::string_view line = raw.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!ignore_dots && line == ".") break;
    out.append(line);
    out += "\r\n";
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return out;
}

std::vector<std::string> parse_address_list(std::string_view v) {
  std::vector<std::string> out;
  std::string current, angle;
  bool in_angle = false, in_quote = false, have_angle = false;
  int comment = 0;
  auto finish = [&] {
    std::string a = trim(have_angle ? angle : current);
    if (!a.empty()) out.push_back(a);
    current.clear();
    angle.clear();
    in_angle = have_angle = false;
  };
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (in_quote) {
      // A quoted display name is dropped with `current` when <...> follows; a
      // quoted local part is kept, quotes included.
      std::string& into = in_angle ? angle : current;
      if (c == '\\' && i + 1 < v.size()) {
        into += c;
        into += v[++i];
      } else {
        into += c;
        if (c == '"') in_quote = false;
      }
      continue;
    }
    if (comment > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++comment;
      else if (c == ')') --comment;
      continue;
    }
    if (c == '(') {
      ++comment;
    } else if (c == '"') {
      in_quote = true;
      (in_angle ? angle : current) += '"';
    } else if (c == '<') {
      in_angle = have_angle = true;
      angle.clear();
    } else if (c == '>') {
      in_angle = false;
    } else if (in_angle) {
      angle += c;
    } else if (c == ',' || c == ';') {
      finish();
    } else if (c == ':') {
      current.clear();  // "group name:" — the addresses follow
    } else {
      current += c;
    }
  }
  finish();
  // Keep only things that look like addresses (a display name without an
  // address is not a recipient).
  std::erase_if(out, [](const std::string& a) {
    bool quoted = false, space = false;
    for (char c : a) {
      if (c == '"') quoted = !quoted;
      space |= !quoted && (c == ' ' || c == '\t');
    }
    return a.find('@') == std::string::npos || space;
  });
  return out;
}

Prepared prepare_message(std::string_view message, bool extract, std::string_view from, std::string_view date,
                         std::string_view message_id) {
  // Split the header block into fields (a continuation line belongs to the
  // field before it); the header ends at the first empty line.
  std::vector<Field> fields;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find("\r\n", pos);
    if (nl == std::string_view::npos) nl = message.size();
    std::string_view line = message.substr(pos, nl - pos);
    if (line.empty()) break;  // pos stays at the empty line: the body starts there
    const size_t next = std::min(message.size(), nl + 2);
    if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().text.append(message.substr(pos, next - pos));
    } else {
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0 || line.substr(0, colon).find(' ') != std::string_view::npos)
        break;  // not a header field: the message has no header (it is all body)
      fields.push_back({std::string(line.substr(0, colon)), std::string(message.substr(pos, next - pos))});
    }
    pos = next;
  }
  Prepared p;
  bool has_from = false, has_date = false, has_id = false;
  std::string header;
  for (const Field& f : fields) {
    const bool bcc = iequals(f.name, "Bcc");
    if (extract && (iequals(f.name, "To") || iequals(f.name, "Cc") || bcc)) {
      std::string value = f.text.substr(f.name.size() + 1);
      for (char& c : value)
        if (c == '\r' || c == '\n') c = ' ';  // unfold
      for (auto& a : parse_address_list(value)) p.recipients.push_back(std::move(a));
    }
    has_from |= iequals(f.name, "From");
    has_date |= iequals(f.name, "Date");
    has_id |= iequals(f.name, "Message-ID");
    if (!bcc) header += f.text;  // Bcc never leaves: its recipients must stay unseen
  }
  std::string added;
  if (!has_from && !from.empty()) added += "From: " + std::string(from) + "\r\n";
  if (!has_date && !date.empty()) added += "Date: " + std::string(date) + "\r\n";
  if (!has_id && !message_id.empty()) added += "Message-ID: " + std::string(message_id) + "\r\n";
  p.message = added + header;
  if (pos < message.size()) {
    p.message.append(message.substr(pos));  // the empty line and the body
  } else {
    p.message += "\r\n";  // header only: the empty line that ends it
  }
  return p;
}

}  // namespace ringmta::tools
