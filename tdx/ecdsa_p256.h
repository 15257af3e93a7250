// SPDX-License-Identifier: Apache-2.0
//
// Internal: the raw ECDSA P-256 forms TD quotes use (public key x || y,
// signature r || s, 32 big-endian bytes each), over OpenSSL EVP.
#pragma once

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/ossl.h"

namespace cvm::tdx::internal {

// Fails when the 64 bytes are not a point on P-256.
Result<EvpPkeyPtr> p256PublicKey(ByteView xy);

// Whether the key is an EC P-256 key (a PCK certificate's must be).
bool isP256Key(EVP_PKEY *key);

// ECDSA with SHA-256 over `message`. A signature that does not verify is a
// verdict (false), not an error; errors are for OpenSSL failures.
Result<bool> verifyEcdsaSha256(EVP_PKEY *key, ByteView rs, ByteView message);

// Signs with SHA-256 and returns r || s (for tools and tests that build quotes).
Result<Bytes> signEcdsaSha256(EVP_PKEY *key, ByteView message);

// x || y of an EC P-256 key.
Result<Bytes> p256PublicKeyXY(EVP_PKEY *key);

} // namespace cvm::tdx::internal
