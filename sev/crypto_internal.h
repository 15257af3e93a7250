// SPDX-License-Identifier: Apache-2.0
//
// Internal to sev/: the symmetric primitives of the SEV channel and small
// error helpers. Not installed, not used outside this folder.
#pragma once

#include <string>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm::sev::internal {

// AES-128-CTR with the whole 16-byte IV as the initial big-endian counter
// (EVP_aes_128_ctr). `out` has the size of `in` and may alias it.
Status aes128Ctr(ByteView key, ByteView iv, ByteView in, MutableByteView out);

// HMAC-SHA256 of the concatenation of `parts` (32 bytes).
Result<Bytes> hmacSha256(ByteView key, std::initializer_list<ByteView> parts);

inline Error tagged(ErrorCode code, std::string message, std::string_view tag)
{
	return Error(code, std::move(message), std::string(tag));
}

// Fails with InvalidArgument unless `value` has exactly `size` bytes.
Status requireSize(ByteView value, size_t size, std::string_view what);

} // namespace cvm::sev::internal
