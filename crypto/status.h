// quipu's one error model: a Status (a code and a message) or a Result<T>
// (a value or a Status). Nothing throws across layers; adapters that call
// throwing or int-returning libraries convert at their boundary.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace quipu {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from a caller: malformed, out of range
  kNotFound,         // the thing asked for does not exist
  kAlreadyExists,    // the thing to create exists already
  kCorruption,       // stored data fails a check: hash, signature, format
  kUnavailable,      // busy or shutting down; the caller may retry later
  kPermissionDenied, // authentication or authorisation failed
  kIoError,          // the operating system refused a read, write or sync
  kInternal,         // a bug: an invariant was broken
  kFailedPrecondition,  // the thing is in a state that refuses this (decided, locked)
  kExpired,             // the thing existed but its time is over
  kResourceExhausted,   // a rate limit or quota was reached; retry later
  kUnprocessable,       // well-formed input whose content cannot be processed (a PDF
                        // that does not parse, or whose parser crashed or ran out of time)
};

// Returns a stable lower-case name of the code ("invalid_argument", ...).
std::string_view StatusCodeName(StatusCode code);

// A success or an error with a message that names the thing and the reason.
// Thread-compatible value type.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: <message>", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Expired(std::string m) { return {StatusCode::kExpired, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Unprocessable(std::string m) { return {StatusCode::kUnprocessable, std::move(m)}; }

// A value of type T or a non-ok Status. Thread-compatible.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {     // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an ok Status has no value");
    if (status_.ok()) status_ = Internal("Result built from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace quipu

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define QUIPU_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::quipu::Status quipu_status_ = (expr);         \
    if (!quipu_status_.ok()) return quipu_status_;  \
  } while (0)

#define QUIPU_CONCAT_INNER_(a, b) a##b
#define QUIPU_CONCAT_(a, b) QUIPU_CONCAT_INNER_(a, b)
// `QUIPU_ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or
// returns F()'s Status from the enclosing function.
#define QUIPU_ASSIGN_OR_RETURN(lhs, expr)                                   \
  auto QUIPU_CONCAT_(quipu_result_, __LINE__) = (expr);                     \
  if (!QUIPU_CONCAT_(quipu_result_, __LINE__).ok())                         \
    return QUIPU_CONCAT_(quipu_result_, __LINE__).status();                 \
  lhs = std::move(QUIPU_CONCAT_(quipu_result_, __LINE__)).value()
