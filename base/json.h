// base/json.h — the small JSON (RFC 8259) value the admin API speaks:
// one request object per line in, one response object per line out.
//
// Why not a library: the protocol needs objects of strings, numbers, booleans
// and arrays of those, a strict parser that refuses bad input with a reason,
// and a one-line writer; that is a few hundred lines and no new dependency
// for the daemon, ringmtactl and the tests. Pure: no I/O. It reads what any
// admin client sends, so it is fuzzed (tests/fuzz/admin_json_fuzz.cpp: no
// crash, dump/parse round trip) rather than swapped for nlohmann-json, whose
// value type would ripple through admin_protocol, ringmtactl and their tests.
//
// Limits (bad input -> error, never a crash): nesting depth 32; objects parse
// in linear time (a repeated key keeps its first place, the last value); numbers are
// kept as int64 when written without fraction/exponent, else as double;
// strings must be valid UTF-8 after \u unescaping (surrogate pairs joined).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace ringmta::base::json {

class Value {
 public:
  enum class Type { Null, Bool, Int, Double, String, Array, Object };

  Value() = default;                           // null
  Value(bool b) : type_(Type::Bool), b_(b) {}  // NOLINT: implicit on purpose (builders)
  Value(int v) : type_(Type::Int), i_(v) {}
  Value(int64_t v) : type_(Type::Int), i_(v) {}
  Value(uint64_t v) : type_(Type::Int), i_(static_cast<int64_t>(v)) {}
  Value(unsigned v) : type_(Type::Int), i_(v) {}
  Value(double v) : type_(Type::Double), d_(v) {}
  Value(const char* s) : type_(Type::String), s_(s) {}
  Value(std::string s) : type_(Type::String), s_(std::move(s)) {}
  Value(std::string_view s) : type_(Type::String), s_(s) {}

  static Value array() { Value v; v.type_ = Type::Array; return v; }
  static Value object() { Value v; v.type_ = Type::Object; return v; }
  // An object of `members`, whose keys must be distinct (the parser's way to
  // build one without set()'s search per member).
  static Value object(std::vector<std::pair<std::string, Value>> members) {
    Value v = object();
    v.members_ = std::move(members);
    return v;
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_int() const { return type_ == Type::Int; }
  bool is_number() const { return type_ == Type::Int || type_ == Type::Double; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return type_ == Type::Double ? static_cast<int64_t>(d_) : i_; }
  double as_double() const { return type_ == Type::Int ? static_cast<double>(i_) : d_; }
  const std::string& as_string() const { return s_; }
  const std::vector<Value>& items() const { return items_; }
  const std::vector<std::pair<std::string, Value>>& members() const { return members_; }

  // Object: the member `key` (last one if repeated), or null when absent.
  const Value* get(std::string_view key) const;
  // Object: replace or append `key`. Returns *this for chaining.
  Value& set(std::string_view key, Value v);
  // Array: append.
  Value& push(Value v);

 private:
  Type type_ = Type::Null;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> members_;
};

// Parse one complete JSON text (surrounding whitespace allowed). On bad input
// the error says where and why ("at byte 12: expected ':'").
Result<Value> parse(std::string_view text);
// One line of compact JSON (no newline inside: control characters are escaped).
std::string dump(const Value& value);
// A JSON string literal for `s` (quotes included).
std::string quote(std::string_view s);

}  // namespace ringmta::base::json
