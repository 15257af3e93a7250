// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attest"

#include "cvm/attest/errors.h"

#include <array>
#include <utility>

namespace cvm::attest {

namespace {

struct CodeInfo {
	std::string_view code;
	unsigned status;
	ErrorCode errorCode;
};

constexpr std::array kCodes = {
	CodeInfo{ code::kInvalidRequest, 400, ErrorCode::InvalidArgument },
	CodeInfo{ code::kBodyTooLarge, 400, ErrorCode::InvalidArgument },
	CodeInfo{ code::kUnauthorized, 401, ErrorCode::PermissionDenied },
	CodeInfo{ code::kForbidden, 403, ErrorCode::PermissionDenied },
	CodeInfo{ code::kNotFound, 404, ErrorCode::NotFound },
	CodeInfo{ code::kVmNotFound, 404, ErrorCode::NotFound },
	CodeInfo{ code::kLaunchNotFound, 404, ErrorCode::NotFound },
	CodeInfo{ code::kMethodNotAllowed, 405, ErrorCode::InvalidArgument },
	CodeInfo{ code::kLaunchLimitReached, 409, ErrorCode::LimitExceeded },
	CodeInfo{ code::kLaunchAlreadyValidated, 409, ErrorCode::Conflict },
	CodeInfo{ code::kLaunchEnded, 409, ErrorCode::Conflict },
	CodeInfo{ code::kLaunchExpired, 410, ErrorCode::Expired },
	CodeInfo{ code::kRegistrationExpired, 410, ErrorCode::Expired },
	CodeInfo{ code::kChainInvalid, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kCekUnsigned, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kOcaMismatch, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kPolicyMismatch, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kApiVersionTooOld, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kBuildIdNotAllowed, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kMeasurementMismatch, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kUnsupportedScheme, 422, ErrorCode::Unsupported },
	CodeInfo{ code::kQuoteInvalid, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kConfigMismatch, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kNonceMismatch, 422, ErrorCode::VerificationFailed },
	CodeInfo{ code::kInternal, 500, ErrorCode::Internal },
	CodeInfo{ code::kCekUnavailable, 502, ErrorCode::Remote },
	CodeInfo{ code::kUnavailable, 503, ErrorCode::Remote },
};

const CodeInfo *find(std::string_view c)
{
	for (const auto &info : kCodes)
		if (info.code == c)
			return &info;
	return nullptr;
}

// For errors raised below the service layer (store, crypto, parsing) that
// carry no AS code.
std::pair<std::string_view, unsigned> fromErrorCode(ErrorCode c)
{
	switch (c) {
	case ErrorCode::InvalidArgument:
	case ErrorCode::InvalidData:
		return { code::kInvalidRequest, 400 };
	case ErrorCode::PermissionDenied:
		return { code::kUnauthorized, 401 };
	case ErrorCode::NotFound:
		return { code::kNotFound, 404 };
	case ErrorCode::Conflict:
	case ErrorCode::LimitExceeded:
		return { code::kLaunchLimitReached, 409 };
	case ErrorCode::Expired:
		return { code::kLaunchExpired, 410 };
	case ErrorCode::VerificationFailed:
		return { code::kChainInvalid, 422 };
	case ErrorCode::Timeout:
		return { code::kUnavailable, 503 };
	default:
		return { code::kInternal, 500 };
	}
}

} // namespace

unsigned httpStatusForCode(std::string_view c)
{
	const CodeInfo *info = find(c);
	return info ? info->status : 500;
}

ErrorCode errorCodeForHttpStatus(unsigned status)
{
	switch (status) {
	case 400:
	case 405:
	case 413:
		return ErrorCode::InvalidArgument;
	case 401:
	case 403:
		return ErrorCode::PermissionDenied;
	case 404:
		return ErrorCode::NotFound;
	case 409:
		return ErrorCode::Conflict;
	case 410:
		return ErrorCode::Expired;
	case 422:
		return ErrorCode::VerificationFailed;
	case 504:
		return ErrorCode::Timeout;
	default:
		return ErrorCode::Remote;
	}
}

Error asError(std::string_view c, std::string message)
{
	const CodeInfo *info = find(c);
	return Error(info ? info->errorCode : ErrorCode::Internal, std::move(message), std::string(c));
}

unsigned httpStatusForError(const Error &error)
{
	if (const CodeInfo *info = find(error.tag()))
		return info->status;
	return fromErrorCode(error.code()).second;
}

std::string asCodeForError(const Error &error)
{
	if (find(error.tag()))
		return error.tag();
	return std::string(fromErrorCode(error.code()).first);
}

} // namespace cvm::attest
