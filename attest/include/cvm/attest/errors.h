// SPDX-License-Identifier: Apache-2.0
//
// The attestation server's error vocabulary, shared by the server (which
// produces it) and the client (which turns it back into a cvm::Error). An error
// travels as HTTP status + JSON body {"error": {"code": "...", "message": "..."}};
// the code is the machine-readable part and becomes Error::tag() on the client.
#pragma once

#include <string>
#include <string_view>

#include "cvm/common/error.h"

namespace cvm::attest {

// Error codes (the "code" member). One place, so server, client, docs and
// tests agree on the spelling.
namespace code {
// 400
inline constexpr std::string_view kInvalidRequest = "invalid-request";
inline constexpr std::string_view kBodyTooLarge = "body-too-large";
// 401 / 403
inline constexpr std::string_view kUnauthorized = "unauthorized";
inline constexpr std::string_view kForbidden = "forbidden";
// 404 / 405
inline constexpr std::string_view kNotFound = "not-found";
inline constexpr std::string_view kVmNotFound = "vm-not-found";
inline constexpr std::string_view kLaunchNotFound = "launch-not-found";
inline constexpr std::string_view kMethodNotAllowed = "method-not-allowed";
// 409
inline constexpr std::string_view kLaunchLimitReached = "launch-limit-reached";
inline constexpr std::string_view kLaunchAlreadyValidated = "launch-already-validated";
inline constexpr std::string_view kLaunchEnded = "launch-ended";
// 410
inline constexpr std::string_view kLaunchExpired = "launch-expired";
inline constexpr std::string_view kRegistrationExpired = "registration-expired";
// 422: a verification verdict
inline constexpr std::string_view kChainInvalid = "chain-invalid";
inline constexpr std::string_view kCekUnsigned = "cek-unsigned";
inline constexpr std::string_view kOcaMismatch = "oca-mismatch";
inline constexpr std::string_view kPolicyMismatch = "policy-mismatch";
inline constexpr std::string_view kApiVersionTooOld = "api-version-too-old";
inline constexpr std::string_view kBuildIdNotAllowed = "build-id-not-allowed";
inline constexpr std::string_view kMeasurementMismatch = "measurement-mismatch";
inline constexpr std::string_view kUnsupportedScheme = "unsupported-scheme";
// 422, intel-tdx quotes (protocol_tdx.h)
inline constexpr std::string_view kQuoteInvalid = "quote-invalid";
inline constexpr std::string_view kConfigMismatch = "config-mismatch";
inline constexpr std::string_view kNonceMismatch = "nonce-mismatch";
// 5xx
inline constexpr std::string_view kInternal = "internal-error";
inline constexpr std::string_view kCekUnavailable = "cek-unavailable";
inline constexpr std::string_view kUnavailable = "unavailable";
} // namespace code

// The HTTP status the server answers for an error code (500 for unknown codes).
unsigned httpStatusForCode(std::string_view code);

// The project error code a client reports for an HTTP error status.
ErrorCode errorCodeForHttpStatus(unsigned status);

// An Error carrying an AS code as its tag, with the matching ErrorCode.
Error asError(std::string_view code, std::string message);

// The status for an Error produced by the server's logic: its tag when it is a
// known AS code, otherwise derived from its ErrorCode.
unsigned httpStatusForError(const Error &error);
// The AS code for an Error (its tag, or one derived from its ErrorCode).
std::string asCodeForError(const Error &error);

} // namespace cvm::attest
