// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/types.h"

#include <cassert>
#include <cstring>

namespace cvm::tdx {

Sha384Digest toSha384Digest(ByteView bytes)
{
	assert(bytes.size() == kSha384Size);
	Sha384Digest d{};
	std::memcpy(d.data(), bytes.data(), d.size());
	return d;
}

static Result<Sha384Digest> checkedDigest(Result<Bytes> decoded, std::string_view what,
					  std::string_view form)
{
	if (!decoded)
		return Error(ErrorCode::InvalidArgument,
			     std::string(what) + " is not valid " + std::string(form) + ": " +
				     decoded.error().message());
	if (decoded->size() != kSha384Size)
		return Error(ErrorCode::InvalidArgument,
			     std::string(what) + " must be a 48-byte SHA-384 value, got " +
				     std::to_string(decoded->size()) + " bytes");
	return toSha384Digest(*decoded);
}

Result<Sha384Digest> sha384DigestFromHex(std::string_view hex, std::string_view what)
{
	return checkedDigest(fromHex(hex), what, "hex");
}

Result<Sha384Digest> sha384DigestFromBase64(std::string_view text, std::string_view what)
{
	return checkedDigest(fromBase64(text), what, "base64");
}

} // namespace cvm::tdx
