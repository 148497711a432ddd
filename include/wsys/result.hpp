// wsys::Result<T>: a value or a negative errno, the project's error convention.
//
// No exception crosses a public wsys boundary. Every fallible call returns a
// Result; the error is a negative errno (as the kernel returns), so the C API
// can hand it through unchanged. std::expected would do, but GCC 12 only has
// it in C++23 mode and the project builds as C++20.
#pragma once

#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace wsys {

// A negative errno. Wrapping it in a type stops a bare int being taken for
// a value by accident.
struct Error {
  int code;  // always < 0
  constexpr explicit Error(int negative_errno) : code(negative_errno) {}
  std::string message() const { return std::strerror(-code); }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(e) { assert(e.code < 0); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  // Negative errno, or 0 when ok.
  int error() const { return ok() ? 0 : std::get<1>(v_).code; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : code_(e.code) { assert(e.code < 0); }  // NOLINT
  bool ok() const { return code_ == 0; }
  explicit operator bool() const { return ok(); }
  int error() const { return code_; }

 private:
  int code_ = 0;
};

// Converts a "0 or -errno" integer into a Result<void>.
inline Result<void> result_from_errno(int rc) {
  if (rc < 0) return Error(rc);
  return {};
}

}  // namespace wsys
