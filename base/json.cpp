// base/json.cpp — see admin_json.h.
#include "base/json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "base/text.h"

namespace ringmta::base::json {

const Value* Value::get(std::string_view key) const {
  for (auto it = members_.rbegin(); it != members_.rend(); ++it)
    if (it->first == key) return &it->second;
  return nullptr;
}

Value& Value::set(std::string_view key, Value v) {
  for (auto& [k, old] : members_) {
    if (k == key) {
      old = std::move(v);
      return *this;
    }
  }
  members_.emplace_back(std::string(key), std::move(v));
  return *this;
}

Value& Value::push(Value v) {
  items_.push_back(std::move(v));
  return *this;
}

namespace {

constexpr int kMaxDepth = 32;

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

using base::utf8_sequence_length;

class Parser {
 public:
  Parser(std::string_view text, std::string* error) : s_(text), error_(error) {}

  std::optional<Value> run() {
    skip_ws();
    auto v = value(0);
    if (!v) return std::nullopt;
    skip_ws();
    if (pos_ != s_.size()) return fail("unexpected data after the value");
    return v;
  }

 private:
  std::nullopt_t fail(const std::string& why) {
    if (error_ && error_->empty()) *error_ = "at byte " + std::to_string(pos_) + ": " + why;
    return std::nullopt;
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<Value> value(int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    if (pos_ >= s_.size()) return fail("unexpected end of input");
    const char c = s_[pos_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      auto str = string();
      if (!str) return std::nullopt;
      return Value(std::move(*str));
    }
    if (literal("true")) return Value(true);
    if (literal("false")) return Value(false);
    if (literal("null")) return Value();
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    return fail(std::string("unexpected character '") + c + "'");
  }

  std::optional<Value> object(int depth) {
    ++pos_;  // {
    // A repeated key replaces the earlier value in its place (as set() does);
    // found through a map, so a request of many members parses in linear time.
    std::vector<std::pair<std::string, Value>> members;
    std::unordered_map<std::string, size_t> where;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Value::object();
    }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a string key");
      auto key = string();
      if (!key) return std::nullopt;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skip_ws();
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      if (auto [it, fresh] = where.try_emplace(*key, members.size()); fresh) {
        members.emplace_back(std::move(*key), std::move(*v));
      } else {
        members[it->second].second = std::move(*v);
      }
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return Value::object(std::move(members));
      }
      return fail("expected ',' or '}'");
    }
  }

  std::optional<Value> array(int depth) {
    ++pos_;  // [
    Value out = Value::array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return out;
    }
    for (;;) {
      skip_ws();
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      out.push(std::move(*v));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return out;
      }
      return fail("expected ',' or ']'");
    }
  }

  std::optional<uint32_t> hex4() {
    if (pos_ + 4 > s_.size()) return fail("short \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return fail("bad hex digit in \\u escape");
    }
    return v;
  }

  std::optional<std::string> string() {
    ++pos_;  // "
    std::string out;
    while (pos_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) return fail("control character in a string");
      if (c == '\\') {
        if (++pos_ >= s_.size()) break;
        const char e = s_[pos_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            auto cp = hex4();
            if (!cp) return std::nullopt;
            if (*cp >= 0xD800 && *cp <= 0xDBFF) {
              if (!literal("\\u")) return fail("lone high surrogate");
              auto low = hex4();
              if (!low) return std::nullopt;
              if (*low < 0xDC00 || *low > 0xDFFF) return fail("bad low surrogate");
              *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
            } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
              return fail("lone low surrogate");
            }
            append_utf8(out, *cp);
            break;
          }
          default: return fail(std::string("bad escape '\\") + e + "'");
        }
        continue;
      }
      const size_t n = utf8_sequence_length(s_, pos_);
      if (n == 0) return fail("invalid UTF-8 in a string");
      out.append(s_.substr(pos_, n));
      pos_ += n;
    }
    return fail("unterminated string");
  }

  std::optional<Value> number() {
    const size_t start = pos_;
    bool integral = true;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !(s_[pos_] >= '0' && s_[pos_] <= '9')) return fail("bad number");
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (pos_ >= s_.size() || !(s_[pos_] >= '0' && s_[pos_] <= '9')) return fail("bad number");
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !(s_[pos_] >= '0' && s_[pos_] <= '9')) return fail("bad number");
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    const std::string text(s_.substr(start, pos_ - start));
    if (integral) {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (errno == 0 && end == text.c_str() + text.size()) return Value(static_cast<int64_t>(v));
    }
    const double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) return fail("number out of range");
    return Value(d);
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string* error_;
};

void dump_to(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: out += "null"; break;
    case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; break;
    case Value::Type::Int: out += std::to_string(v.as_int()); break;
    case Value::Type::Double: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", std::isfinite(v.as_double()) ? v.as_double() : 0.0);
      out += buf;
      // "3" or "-0" would read back as an integer (and -0 as 0): keep it a double.
      if (std::string_view(buf).find_first_of(".e") == std::string_view::npos) out += ".0";
      break;
    }
    case Value::Type::String: out += quote(v.as_string()); break;
    case Value::Type::Array: {
      out += '[';
      bool first = true;
      for (const Value& item : v.items()) {
        if (!first) out += ',';
        first = false;
        dump_to(out, item);
      }
      out += ']';
      break;
    }
    case Value::Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.members()) {
        if (!first) out += ',';
        first = false;
        out += quote(k);
        out += ':';
        dump_to(out, item);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

Result<Value> parse(std::string_view text) {
  std::string error;
  std::optional<Value> v = Parser(text, &error).run();
  if (!v) return Error(std::move(error));
  return std::move(*v);
}

std::string dump(const Value& value) {
  std::string out;
  dump_to(out, value);
  return out;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
      continue;
    }
    // Queue data (remote replies, 8-bit addresses) may hold bytes that are
    // not UTF-8; JSON must be, so such a byte becomes U+FFFD.
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      // C1 controls (U+0080..U+009F): valid JSON as they are, but escaped so
      // the JSON text itself, shown on a terminal (cat, less), holds none
      // (a terminal may take U+009B for CSI).
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(s[i + 1]));
      out += buf;
      i += 2;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
  return out;
}

}  // namespace ringmta::base::json
