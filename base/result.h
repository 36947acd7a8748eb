// base/result.h — the tree's one error convention for "a value, or a message
// saying why not": base::Result<T> (std::expected<T, std::string> in spirit;
// std::expected is C++23 and GCC 12 does not have it).
//
//   base::Result<Cidr> parse(std::string_view text) {
//     if (bad) return base::Error("not an IP address");
//     return cidr;
//   }
//   if (auto r = Cidr::parse(text)) use(*r); else log(r.error());
//
// It replaces "std::optional<T> + std::string* error" and "bool + std::string&
// error" out-parameters: the message travels with the answer, and a caller
// cannot read one without the other.
//
// When to use what:
//  - Result<T> / Result<void>: the caller only needs to know "did it work"
//    and, if not, a message for a person (configuration, admin requests,
//    parsers of operator input).
//  - queue::Status (queue/queue.h) stays as it is: it carries a code
//    (NotFound, NoSpace, ShuttingDown, ...) that callers branch on — a queue
//    that is full is handled differently from a message that is gone.
//  - Protocol replies (SMTP codes, auth::Outcome) are answers, not errors.
//
// Reading value() of a failed Result is a bug in the caller; it aborts with
// the message rather than returning garbage.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace ringmta::base {

// The failure side: `return base::Error("why");` converts to any Result<T>.
struct Error {
  explicit Error(std::string m) : message(std::move(m)) {}
  std::string message;
};

namespace detail {
[[noreturn]] inline void bad_result_access(const std::string& error) {
  std::fprintf(stderr, "base::Result: value() of a failed result: %s\n", error.c_str());
  std::abort();
}
}  // namespace detail

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T> && !std::is_same_v<std::decay_t<T>, Error>, "Result<T> holds a value");

 public:
  // A successful result: anything T can be built from implicitly (so
  // `return "text";` works for Result<std::string>).
  template <class U = T>
    requires(std::is_convertible_v<U &&, T> && !std::is_same_v<std::remove_cvref_t<U>, Error> &&
             !std::is_same_v<std::remove_cvref_t<U>, Result>)
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT: implicit on purpose
  Result(Error e) : v_(std::in_place_index<1>, std::move(e.message)) {}    // NOLINT: implicit on purpose

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return check(), std::get<0>(v_); }
  const T& value() const& { return check(), std::get<0>(v_); }
  T&& value() && { return check(), std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The value, or `fallback` when this failed.
  template <class U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  // The message; "" when ok().
  const std::string& error() const {
    static const std::string kNone;
    return ok() ? kNone : std::get<1>(v_);
  }

 private:
  void check() const {
    if (!ok()) detail::bad_result_access(std::get<1>(v_));
  }
  std::variant<T, std::string> v_;
};

// Success or a message, nothing else to return.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;                                   // success
  Result(Error e) : error_(std::move(e.message)), failed_(true) {}  // NOLINT: implicit on purpose

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  // Aborts when it failed, like Result<T>::value(): "this must have worked".
  void value() const {
    if (failed_) detail::bad_result_access(error_);
  }
  // The message; "" when ok().
  const std::string& error() const { return error_; }

 private:
  std::string error_;
  bool failed_ = false;
};

}  // namespace ringmta::base
