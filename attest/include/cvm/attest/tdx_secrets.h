// SPDX-License-Identifier: Apache-2.0
//
// The secrets an intel-tdx launch releases, encrypted to the TD's key (the
// key bound into its report data, protocol_tdx.h). Both ends use this file,
// so the scheme is defined once:
//
//   e          fresh P-256 key of the AS; E = its uncompressed point
//   T          the TD's uncompressed P-256 point ("tee-public-key")
//   z          ECDH(e, T), 32 bytes
//   k          HKDF-SHA256(ikm z, salt nonce, info "cvm-attestd intel-tdx secrets v1" || E || T), 32 bytes
//   ciphertext AES-256-GCM(k, iv random 12 bytes, aad launch id, secret table) || 16-byte tag
#pragma once

#include <string_view>

#include <openssl/evp.h>

#include "cvm/attest/protocol_tdx.h"
#include "cvm/common/ossl.h"

namespace cvm::attest {

// The P-256 public key of a 65-byte uncompressed point (checked on the curve),
// and the reverse.
Result<EvpPkeyPtr> p256KeyFromPoint(ByteView point);
Result<Bytes> p256PointOf(EVP_PKEY *key);

Result<TdxWrappedSecrets> wrapTdxSecrets(ByteView teePublicKey, ByteView nonce, std::string_view launchId,
					 ByteView secretTable);
// The TD's side; fails (VerificationFailed) when the ciphertext, nonce or
// launch id do not match.
Result<SecureBuffer> unwrapTdxSecrets(EVP_PKEY *teeKey, ByteView nonce, std::string_view launchId,
				      const TdxWrappedSecrets &wrapped);

} // namespace cvm::attest
