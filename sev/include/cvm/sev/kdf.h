// SPDX-License-Identifier: Apache-2.0
//
// The key derivation of the SEV secure channel: NIST SP 800-108 in counter
// mode with HMAC-SHA256 as the PRF, counter and output length as
// little-endian u32 (what the firmware, sev-tool and virtee/sev all hash):
//
//   K(i) = HMAC-SHA256(key, LE32(i) || label || 0x00 || context || LE32(bits))
//
// and the key agreement it starts from (ECDH on P-384).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/ossl.h"
#include "cvm/common/secure_buffer.h"

namespace cvm::sev {

inline constexpr std::string_view kLabelMasterSecret = "sev-master-secret";
inline constexpr std::string_view kLabelKek = "sev-kek";
inline constexpr std::string_view kLabelKik = "sev-kik";

// `outLen` bytes (1..8160) derived from `key`.
Result<SecureBuffer> kdf(ByteView key, size_t outLen, std::string_view label, ByteView context);

// The channel keys both ends derive from the ECDH shared secret and the
// session nonce: MS = KDF(Z, 16, "sev-master-secret", nonce), then
// KEK = KDF(MS, 16, "sev-kek", ""), KIK = KDF(MS, 16, "sev-kik", "").
struct ChannelKeys {
	SecureBuffer kek;
	SecureBuffer kik;
};
Result<ChannelKeys> deriveChannelKeys(ByteView sharedSecret, ByteView nonce);

// --- P-384 keys (the PDH and the guest owner's DH key) ---

// A fresh P-384 key pair.
Result<EvpPkeyPtr> generateP384Key();

// A P-384 public key from its affine coordinates, little-endian as SEV
// certificates store them (`qx`, `qy` may be longer than 48 bytes when the
// high bytes are zero, as in the certificates' 72-byte fields). Fails when the
// point is not on the curve.
Result<EvpPkeyPtr> p384PublicKeyFromLe(ByteView qx, ByteView qy);

// The coordinates of a P-384 key, little-endian, 48 bytes each.
struct P384Point {
	std::array<uint8_t, 48> qx{};
	std::array<uint8_t, 48> qy{};
};
Result<P384Point> p384PointLe(EVP_PKEY *key);

// Z = the 48-byte big-endian X coordinate of d·Q (EVP_PKEY_derive), the value
// the firmware and every guest-owner tool feed to the KDF.
Result<SecureBuffer> ecdhSharedSecret(EVP_PKEY *privateKey, EVP_PKEY *peerPublicKey);

} // namespace cvm::sev
