// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/ossl.h"

#include <string>

#include <openssl/err.h>

namespace cvm {

Error opensslError(std::string_view what, ErrorCode code)
{
	std::string message(what);
	unsigned long e = ERR_get_error();
	if (e) {
		char buf[256];
		ERR_error_string_n(e, buf, sizeof(buf));
		message += ": ";
		message += buf;
	}
	ERR_clear_error();
	return Error(code, std::move(message));
}

void clearOpensslErrors()
{
	ERR_clear_error();
}

} // namespace cvm
