// dkim/signature.cpp — see signature.h.
#include "dkim/signature.h"

#include <algorithm>

namespace ringmta::dkim {
namespace {

constexpr size_t kMaxLine = 78;  // RFC 5322 §2.1.1 SHOULD

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

size_t count_named(const std::vector<RawField>& fields, std::string_view name) {
  return static_cast<size_t>(
      std::count_if(fields.begin(), fields.end(), [&](const RawField& f) { return same_name(f.name, name); }));
}

// Appends tokens to folded lines: a token that does not fit on the current
// line starts a new one ("\r\n\t").
class Folder {
 public:
  explicit Folder(std::string start) : out_(std::move(start)), line_(out_.size()) {}
  // `sep` goes before the token when it stays on the same line.
  void add(std::string_view token, std::string_view sep = " ") {
    if (line_ + sep.size() + token.size() > kMaxLine && line_ > 1) {
      out_ += "\r\n\t";
      line_ = 1;
    } else {
      out_ += sep;
      line_ += sep.size();
    }
    out_ += token;
    line_ += token.size();
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  size_t line_;  // characters on the current line (a TAB counts as one)
};

}  // namespace

std::string_view canon_name(Canon c) { return c == Canon::Simple ? "simple" : "relaxed"; }

std::vector<std::string> select_headers(const std::vector<RawField>& fields, const std::vector<std::string>& sign,
                                        const std::vector<std::string>& over_sign) {
  std::vector<std::string> h;
  auto over = [&](std::string_view n) {
    return std::any_of(over_sign.begin(), over_sign.end(), [&](const std::string& o) { return same_name(o, n); });
  };
  std::vector<std::string> done;
  auto list = [&](const std::string& name) {
    if (std::any_of(done.begin(), done.end(), [&](const std::string& d) { return same_name(d, name); })) return;
    done.push_back(name);
    size_t n = count_named(fields, name) + (over(name) ? 1 : 0);
    for (size_t i = 0; i < n; ++i) h.push_back(name);
  };
  for (const auto& name : sign) list(name);
  for (const auto& name : over_sign) list(name);
  return h;
}

std::string header_data(const std::vector<RawField>& fields, const std::vector<std::string>& h, Canon c) {
  std::string out;
  // Per name, how many instances (from the bottom) were used already.
  std::vector<std::pair<std::string_view, size_t>> used;
  for (const auto& name : h) {
    auto it = std::find_if(used.begin(), used.end(), [&](const auto& u) { return same_name(u.first, name); });
    if (it == used.end()) {
      used.emplace_back(name, 0);
      it = used.end() - 1;
    }
    size_t skip = it->second++;
    for (auto f = fields.rbegin(); f != fields.rend(); ++f) {
      if (!same_name(f->name, name)) continue;
      if (skip-- == 0) {
        out += canon_header(c, *f);
        break;
      }
    }
  }
  return out;
}

std::string signature_prefix(const SignatureFields& f) {
  Folder fold("DKIM-Signature:");
  fold.add("v=1;");
  fold.add("a=" + f.algorithm + ";");
  fold.add("c=" + std::string(canon_name(f.header_canon)) + "/" + std::string(canon_name(f.body_canon)) + ";");
  fold.add("d=" + f.domain + ";");
  fold.add("s=" + f.selector + ";");
  fold.add("t=" + std::to_string(f.timestamp) + ";");
  if (f.expiration) fold.add("x=" + std::to_string(*f.expiration) + ";");
  // h= may fold after any ':' (§3.5: hdr-name *( [FWS] ":" [FWS] hdr-name )).
  for (size_t i = 0; i < f.headers.size(); ++i) {
    const bool last = i + 1 == f.headers.size();
    const std::string token = (i == 0 ? "h=" : "") + f.headers[i] + (last ? ";" : ":");
    fold.add(token, i == 0 ? " " : "");
  }
  fold.add("bh=" + f.body_hash + ";");
  fold.add("b=");
  return fold.take();
}

std::string with_signature(const std::string& prefix, std::string_view b64) {
  std::string out = prefix;
  const size_t last_break = out.rfind("\r\n");
  size_t line = out.size() - (last_break == std::string::npos ? 0 : last_break + 2);
  // base64 may be folded anywhere (§3.5 b=: base64string allows FWS).
  while (!b64.empty()) {
    if (line >= kMaxLine) {
      out += "\r\n\t";
      line = 1;
    }
    const size_t n = std::min(b64.size(), kMaxLine - line);
    out.append(b64.substr(0, n));
    line += n;
    b64.remove_prefix(n);
  }
  out += "\r\n";
  return out;
}

}  // namespace ringmta::dkim
