// SPDX-License-Identifier: Apache-2.0
//
// The project's single error type and the Result<T> every fallible function returns.
// Library code never throws: errors travel as values, are reported once where they are
// handled, and carry a message an administrator can act on.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

typedef struct _GError GError;

namespace cvm {

enum class ErrorCode {
	InvalidArgument,   // bad input from the caller or the user
	InvalidData,       // malformed bytes from a peer or a file
	NotFound,
	Io,
	Timeout,
	Disconnected,      // the peer went away (EOF, reset)
	Protocol,          // the peer broke the protocol
	Remote,            // the peer answered with an error (QMP error reply, HTTP error)
	Crypto,            // a cryptographic primitive failed (not a verification verdict)
	VerificationFailed,// a signature, MAC or measurement did not verify
	Unsupported,
	PermissionDenied,
	Conflict,
	Expired,
	LimitExceeded,
	Cancelled,
	Internal,
};

const char *errorCodeName(ErrorCode code);

class Error
{
public:
	Error(ErrorCode code, std::string message, std::string tag = {})
		: code_(code), message_(std::move(message)), tag_(std::move(tag))
	{
	}

	// Converts a GError (not consumed). Maps common GIO codes to ours.
	static Error fromGError(const GError *error, std::string_view context = {});

	ErrorCode code() const { return code_; }
	const std::string &message() const { return message_; }

	// A machine-readable sub-code: the QMP error class, an AS error code
	// ("measurement-mismatch"), ... Empty when there is none.
	const std::string &tag() const { return tag_; }

	// Returns a copy whose message is "context: message".
	Error withContext(std::string_view context) const;

private:
	ErrorCode code_;
	std::string message_;
	std::string tag_;
};

// A value or an Error. Modelled on std::expected (not usable with clang 14 +
// libstdc++ 12, which the fuzz build needs).
template<typename T>
class [[nodiscard]] Result
{
public:
	Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
	Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

	template<typename U,
		 typename = std::enable_if_t<std::is_constructible_v<T, U &&> &&
					     !std::is_same_v<std::decay_t<U>, T> &&
					     !std::is_same_v<std::decay_t<U>, Error> &&
					     !std::is_same_v<std::decay_t<U>, Result>>>
	Result(U &&value) : v_(std::in_place_index<0>, T(std::forward<U>(value)))
	{
	}

	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }

	T &value() & { assert(ok()); return std::get<0>(v_); }
	const T &value() const & { assert(ok()); return std::get<0>(v_); }
	T &&value() && { assert(ok()); return std::get<0>(std::move(v_)); }

	T &operator*() & { return value(); }
	const T &operator*() const & { return value(); }
	T &&operator*() && { return std::move(*this).value(); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }

	const Error &error() const & { assert(!ok()); return std::get<1>(v_); }
	Error &&error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

	T valueOr(T fallback) const & { return ok() ? value() : std::move(fallback); }

private:
	std::variant<T, Error> v_;
};

template<>
class [[nodiscard]] Result<void>
{
public:
	Result() = default;
	Result(Error error) : error_(std::move(error)) {}

	bool ok() const { return !error_.has_value(); }
	explicit operator bool() const { return ok(); }
	const Error &error() const & { assert(!ok()); return *error_; }
	Error &&error() && { assert(!ok()); return std::move(*error_); }

private:
	std::optional<Error> error_;
};

using Status = Result<void>;

inline Error makeError(ErrorCode code, std::string message)
{
	return Error(code, std::move(message));
}

} // namespace cvm

// Evaluates a Result expression; on error returns the error from the enclosing
// function, otherwise yields the value (GNU statement expression: gcc and clang).
#define CVM_TRY(expr)                                                        \
	({                                                                   \
		auto cvm_try_result_ = (expr);                               \
		if (!cvm_try_result_.ok())                                   \
			return std::move(cvm_try_result_).error();           \
		std::move(cvm_try_result_).value();                          \
	})

// For Result<void> (Status).
#define CVM_CHECK(expr)                                                      \
	do {                                                                 \
		auto cvm_check_result_ = (expr);                             \
		if (!cvm_check_result_.ok())                                 \
			return std::move(cvm_check_result_).error();         \
	} while (0)
