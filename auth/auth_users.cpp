// auth/auth_users.cpp — users file and crypt(3) (see auth_users.h).
#include "auth/auth_users.h"

#include <crypt.h>
#include <sys/random.h>

#include <algorithm>
#include <memory>

#include "base/text.h"

namespace ringmta::auth {
namespace {

// Dovecot scheme prefixes that are plain crypt(3) strings after the braces.
constexpr std::string_view kCryptSchemes[] = {"{CRYPT}", "{SHA512-CRYPT}", "{SHA256-CRYPT}", "{BLF-CRYPT}",
                                              "{MD5-CRYPT}"};

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Blanks around a field, and a CR left by a file written with CRLF line ends.
std::string_view trim(std::string_view s) { return base::trim_right(base::trim_left(s), " \t\r"); }

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

// Each line of `text` without its "\n" (and the last one even without it).
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    f(line, ++line_no);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// The user name of a line, or "" for blank/comment lines.
std::string_view line_user(std::string_view line) {
  std::string_view t = trim(line);
  if (t.empty() || t.front() == '#') return {};
  return t.substr(0, t.find(':'));
}

bool ct_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::string user_name_problem(std::string_view name) {
  if (name.empty()) return "the user name is empty";
  if (name.size() > 255) return "the user name is longer than 255 bytes";
  for (unsigned char c : name) {
    if (c == ':') return "the user name contains ':'";
    if (c <= 0x20 || c == 0x7f) return "the user name contains a space or control character";
  }
  return "";
}

UsersDb parse_users(std::string_view text, std::string_view source) {
  UsersDb db;
  for_each_line(text, [&](std::string_view raw, size_t line_no) {
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') return;
    auto problem = [&](const std::string& what) {
      db.problems.push_back(std::string(source) + ":" + std::to_string(line_no) + ": " + what);
    };
    auto fields = split(line, ':');
    if (fields.size() < 2) return problem("expected NAME:HASH");
    std::string_view name = fields[0];
    if (auto why = user_name_problem(name); !why.empty()) return problem(why);
    std::string_view hash = fields[1];
    for (auto scheme : kCryptSchemes) {
      if (hash.size() > scheme.size() && hash.substr(0, scheme.size()) == scheme) {
        hash.remove_prefix(scheme.size());
        break;
      }
    }
    if (hash.empty() || hash.front() == '{')
      return problem("user '" + std::string(name) + "': unsupported password scheme (a crypt(3) hash such as $y$... or $6$... is needed)");
    if (hash.front() != '$' && hash.front() != '!' && hash.front() != '*')
      return problem("user '" + std::string(name) + "': the password must be a crypt(3) hash ($y$..., $6$...), not plain text");
    UserRecord rec;
    rec.hash = std::string(hash);
    constexpr std::string_view kQuota = "quota=";
    for (size_t i = 2; i < fields.size(); ++i) {
      std::string_view f = trim(fields[i]);
      if (f.substr(0, kQuota.size()) != kQuota) continue;
      auto q = parse_quota(f.substr(kQuota.size()));
      if (!q) return problem("user '" + std::string(name) + "': bad quota '" + std::string(f.substr(kQuota.size())) +
                             "' (bytes, or a size such as 500M or 2G)");
      rec.quota = *q;
    }
    const bool senders_field = fields.size() >= 3 && trim(fields[2]).substr(0, kQuota.size()) != kQuota;
    if (senders_field && !fields[2].empty() && !is_digits(fields[2])) {
      for (auto s : split(fields[2], ',')) {
        s = trim(s);
        if (s.empty()) continue;
        if (s.find('@') == std::string_view::npos)
          return problem("user '" + std::string(name) + "': sender '" + std::string(s) + "' is not an address or @domain");
        rec.senders.emplace_back(s);
      }
    } else if (name.find('@') != std::string_view::npos) {
      rec.senders.emplace_back(name);  // the user name is the address
    }
    if (db.users.count(std::string(name)))
      return problem("user '" + std::string(name) + "' appears again (the first line counts)");
    if (db.first_hash.empty() && rec.hash.front() == '$') db.first_hash = rec.hash;
    db.users.emplace(std::string(name), std::move(rec));
  });
  return db;
}

std::optional<uint64_t> parse_quota(std::string_view text) {
  text = trim(text);
  size_t digits = 0;
  uint64_t n = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    if (n > (UINT64_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(text[digits++] - '0');
  }
  if (digits == 0) return std::nullopt;
  std::string_view unit = text.substr(digits);
  if (unit.size() == 3 && unit.substr(1) == "iB") unit = unit.substr(0, 1);
  int shift = 0;
  if (unit.empty()) shift = 0;
  else if (unit == "K" || unit == "k") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else return std::nullopt;
  if (shift && n > (UINT64_MAX >> shift)) return std::nullopt;
  return n << shift;
}

bool verify_password(std::string_view password, const std::string& hash) {
  if (hash.empty() || hash.front() != '$') return false;  // locked ("!", "*") or invalid
  if (password.find('\0') != std::string_view::npos) return false;
  // struct crypt_data is ~32 KiB: on the heap, one per call (thread-safe).
  auto data = std::make_unique<crypt_data>();
  const std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  const bool ok = out && out[0] != '*' && ct_equal(out, hash);
  // Wipe what libcrypt left (it may hold derived key material).
  volatile char* p = reinterpret_cast<volatile char*>(data.get());
  for (size_t i = 0; i < sizeof(crypt_data); ++i) p[i] = 0;
  return ok;
}

base::Result<std::string> hash_password(std::string_view password) {
  if (password.empty() || password.find('\0') != std::string_view::npos)
    return base::Error("the password is empty or contains a NUL byte");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // count 0 = libcrypt's default cost; rbytes null = random bytes from the OS.
  if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting))
    return base::Error("libcrypt cannot make a yescrypt salt");
  auto data = std::make_unique<crypt_data>();
  const std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), setting, data.get(), sizeof(crypt_data));
  if (!out || out[0] == '*') return base::Error("libcrypt refused to hash the password");
  std::string result(out);
  volatile char* p = reinterpret_cast<volatile char*>(data.get());
  for (size_t i = 0; i < sizeof(crypt_data); ++i) p[i] = 0;
  return result;
}

std::optional<std::string> dummy_hash_like(const std::string& model) {
  if (model.empty() || model.front() != '$') return std::nullopt;
  // A password nobody knows: 24 random bytes as hex (crypt needs no NUL).
  unsigned char random[24];
  if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) return std::nullopt;
  std::string phrase;
  for (unsigned char b : random) base::append_hex_byte(phrase, b);
  // crypt(3) takes the scheme, cost parameters and salt from a full hash
  // given as the setting, so the result is a hash of the same kind and cost.
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(phrase.c_str(), model.c_str(), data.get(), sizeof(crypt_data));
  std::optional<std::string> result;
  if (out && out[0] == '$') result = std::string(out);
  volatile char* p = reinterpret_cast<volatile char*>(data.get());
  for (size_t i = 0; i < sizeof(crypt_data); ++i) p[i] = 0;
  std::fill(phrase.begin(), phrase.end(), '\0');
  return result;
}

bool has_user(std::string_view text, std::string_view name) {
  bool found = false;
  for_each_line(text, [&](std::string_view line, size_t) {
    if (line_user(line) == name) found = true;
  });
  return found;
}

std::string set_user_line(std::string_view text, std::string_view name, std::string_view hash) {
  std::string out;
  bool replaced = false;
  for_each_line(text, [&](std::string_view line, size_t) {
    if (!replaced && line_user(line) == name) {
      std::string_view t = trim(line);
      size_t first = t.find(':');
      size_t second = t.find(':', first + 1);
      out += std::string(name) + ":" + std::string(hash);
      if (second != std::string_view::npos) out += t.substr(second);  // keep SENDERS and further fields
      replaced = true;
    } else {
      out += line;
    }
    out += '\n';
  });
  if (!replaced) out += std::string(name) + ":" + std::string(hash) + "\n";
  return out;
}

std::string remove_user_line(std::string_view text, std::string_view name, bool* found) {
  std::string out;
  bool any = false;
  for_each_line(text, [&](std::string_view line, size_t) {
    if (line_user(line) == name) {
      any = true;
      return;
    }
    out += line;
    out += '\n';
  });
  if (found) *found = any;
  return out;
}

}  // namespace ringmta::auth
