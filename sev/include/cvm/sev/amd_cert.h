// SPDX-License-Identifier: Apache-2.0
//
// AMD's root and signing key certificates (ARK, ASK; SEV API Appendix B.1):
// a 64-byte header, then the RSA public exponent, modulus and signature,
// each modulus-sized and little-endian: 832 bytes for the 2048-bit Naples
// keys, 1600 bytes for the 4096-bit keys of Rome and later. The signature
// covers everything before it and is RSASSA-PSS with the signer's hash
// (SHA-256 for a 2048-bit signer, SHA-384 for 4096), salt = digest length.
#pragma once

#include <array>
#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/sev/cert_types.h"
#include "cvm/sev/keys.h"

namespace cvm::sev {

using AmdKeyId = std::array<uint8_t, 16>;

class AmdCert
{
public:
	// Fails (InvalidData) unless `raw` is a version-1 ARK or ASK whose
	// exponent and modulus are both 2048 or both 4096 bits and whose length
	// is exactly what those sizes imply.
	static Result<AmdCert> parse(ByteView raw);

	// An unsigned certificate (zero signature) for the RSA key `publicKey`
	// (2048 or 4096 bits), usage ARK or ASK.
	static Result<AmdCert> create(const AmdKeyId &keyId, const AmdKeyId &certifyingId, KeyUsage usage,
				      EVP_PKEY *publicKey);
	// Signs with `signerKey` (private RSA key, 2048 or 4096 bits, the same
	// size as this certificate's key).
	Status sign(EVP_PKEY *signerKey);

	// The serialized certificate.
	const Bytes &bytes() const { return raw_; }
	// Everything the signature covers.
	ByteView signedPart() const;
	ByteView signatureLe() const;

	const AmdKeyId &keyId() const { return keyId_; }
	const AmdKeyId &certifyingId() const { return certifyingId_; }
	KeyUsage usage() const { return usage_; }
	unsigned modulusBits() const { return modulusBits_; }
	EVP_PKEY *publicKey() const { return key_.get(); }
	const SharedPkey &sharedPublicKey() const { return key_; }
	// Lower-case hex SHA-256 of the whole certificate.
	std::string fingerprint() const;
	std::string keyIdHex() const { return toHex(keyId_); }

	// CERTIFYING_ID must equal the signer's KEY_ID and the signature must
	// verify with the signer's key (VerificationFailed otherwise).
	Status verifySignedBy(const AmdCert &signer) const;

private:
	AmdCert() = default;
	Status decode();

	Bytes raw_;
	AmdKeyId keyId_{};
	AmdKeyId certifyingId_{};
	KeyUsage usage_ = KeyUsage::Ark;
	unsigned modulusBits_ = 0;
	SharedPkey key_;
};

} // namespace cvm::sev
