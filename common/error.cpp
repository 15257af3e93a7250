// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/error.h"

#include <gio/gio.h>

namespace cvm {

const char *errorCodeName(ErrorCode code)
{
	switch (code) {
	case ErrorCode::InvalidArgument: return "invalid-argument";
	case ErrorCode::InvalidData: return "invalid-data";
	case ErrorCode::NotFound: return "not-found";
	case ErrorCode::Io: return "io";
	case ErrorCode::Timeout: return "timeout";
	case ErrorCode::Disconnected: return "disconnected";
	case ErrorCode::Protocol: return "protocol";
	case ErrorCode::Remote: return "remote";
	case ErrorCode::Crypto: return "crypto";
	case ErrorCode::VerificationFailed: return "verification-failed";
	case ErrorCode::Unsupported: return "unsupported";
	case ErrorCode::PermissionDenied: return "permission-denied";
	case ErrorCode::Conflict: return "conflict";
	case ErrorCode::Expired: return "expired";
	case ErrorCode::LimitExceeded: return "limit-exceeded";
	case ErrorCode::Cancelled: return "cancelled";
	case ErrorCode::Internal: return "internal";
	}
	return "unknown";
}

Error Error::fromGError(const GError *error, std::string_view context)
{
	ErrorCode code = ErrorCode::Io;
	std::string message = error ? error->message : "unknown error";

	if (error && error->domain == G_IO_ERROR) {
		switch (error->code) {
		case G_IO_ERROR_NOT_FOUND:
			code = ErrorCode::NotFound;
			break;
		case G_IO_ERROR_TIMED_OUT:
			code = ErrorCode::Timeout;
			break;
		case G_IO_ERROR_CANCELLED:
			code = ErrorCode::Cancelled;
			break;
		case G_IO_ERROR_PERMISSION_DENIED:
			code = ErrorCode::PermissionDenied;
			break;
		case G_IO_ERROR_BROKEN_PIPE:
		case G_IO_ERROR_CONNECTION_REFUSED:
			code = ErrorCode::Disconnected;
			break;
		case G_IO_ERROR_INVALID_ARGUMENT:
			code = ErrorCode::InvalidArgument;
			break;
		case G_IO_ERROR_INVALID_DATA:
			code = ErrorCode::InvalidData;
			break;
		default:
			break;
		}
	} else if (error && error->domain == G_FILE_ERROR) {
		if (error->code == G_FILE_ERROR_NOENT)
			code = ErrorCode::NotFound;
		else if (error->code == G_FILE_ERROR_ACCES || error->code == G_FILE_ERROR_PERM)
			code = ErrorCode::PermissionDenied;
	} else if (error && error->domain == G_KEY_FILE_ERROR) {
		code = error->code == G_KEY_FILE_ERROR_NOT_FOUND ? ErrorCode::NotFound
								 : ErrorCode::InvalidData;
	}

	if (!context.empty())
		message = std::string(context) + ": " + message;
	return Error(code, std::move(message));
}

Error Error::withContext(std::string_view context) const
{
	return Error(code_, std::string(context) + ": " + message_, tag_);
}

} // namespace cvm
