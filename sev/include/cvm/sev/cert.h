// SPDX-License-Identifier: Apache-2.0
//
// The SEV certificate (SEV API Appendix C.1): the fixed 2084-byte format of
// the platform's OCA, PEK, PDH and CEK and of the guest owner's DH key. A
// SevCert is always valid: parse() checks every field before anything is
// used, create() builds one from a key, sign() fills a signature slot. The
// public key is built once (an EVP_PKEY shared by copies), so a certificate
// parsed once verifies many times, from any thread.
//
// Signature slots are found by the signer's usage, never by position (real
// PEKs carry OCA in slot 1 and CEK in slot 2, the opposite of AMD's comment).
// An empty slot is usage 0x1000 with algorithm 0.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/sev/cert_types.h"
#include "cvm/sev/keys.h"

namespace cvm::sev {

class AmdCert;

struct SignatureSlot {
	KeyUsage usage = KeyUsage::Invalid;
	Algorithm algorithm = Algorithm::Invalid;
	bool empty() const { return usage == KeyUsage::Invalid; }
};

class SevCert
{
public:
	// Fails (InvalidData, message naming the field) unless `raw` is exactly
	// 2084 bytes of version 1 with a known usage and algorithm, a P-384
	// point on the curve (or a 2048/4096-bit RSA key), and slots that are
	// either empty (0x1000/0) or hold a signing usage with a signing
	// algorithm, at most one per usage.
	static Result<SevCert> parse(ByteView raw);

	// An unsigned certificate (both slots empty) for `publicKey`: P-384 for
	// ECDSA/ECDH algorithms, RSA for the RSA ones. The usage must be OCA,
	// PEK, PDH or CEK; a PDH key must be ECDH, the others must sign.
	static Result<SevCert> create(KeyUsage usage, Algorithm algorithm, EVP_PKEY *publicKey,
				      uint8_t apiMajor = 0, uint8_t apiMinor = 0);

	// The guest owner's DH certificate: PDH usage, ECDH-SHA256, P-384, both
	// slots empty (what LAUNCH_START receives).
	static Result<SevCert> createGodh(EVP_PKEY *godhKey);

	// Signs the body with `signerKey` (private) as a key of `signerUsage` /
	// `signerAlgorithm`: into the slot already holding that usage, else
	// into the first empty one. RSA keys sign RSA-PSS, EC keys ECDSA.
	Status sign(EVP_PKEY *signerKey, KeyUsage signerUsage, Algorithm signerAlgorithm);
	// Signs as `signer` (whose private key is `signerKey`).
	Status signWith(const SevCert &signer, EVP_PKEY *signerKey);
	// Signs as the ASK (a CEK): RSA-SHA256 for a 2048-bit ASK, RSA-SHA384 for 4096.
	Status signWithAsk(EVP_PKEY *askKey);
	// Empties the slot holding `signerUsage` (no-op when there is none).
	void clearSignature(KeyUsage signerUsage);

	// The 2084 bytes (the serialized certificate).
	const Bytes &bytes() const { return raw_; }
	// The signed part: bytes 0x000..0x413.
	ByteView body() const;

	uint8_t apiMajor() const;
	uint8_t apiMinor() const;
	KeyUsage usage() const { return usage_; }
	Algorithm algorithm() const { return algorithm_; }
	EVP_PKEY *publicKey() const { return key_.get(); }
	const SharedPkey &sharedPublicKey() const { return key_; }
	const std::array<SignatureSlot, 2> &slots() const { return slots_; }
	// The index of the slot signed by `signerUsage`, if any.
	std::optional<size_t> slotFor(KeyUsage signerUsage) const;
	// Both slots empty.
	bool isUnsigned() const { return slots_[0].empty() && slots_[1].empty(); }
	// Lower-case hex SHA-256 of the 1028-byte public key field.
	std::string fingerprint() const;

	// Verifies the slot of `signerUsage`: it must exist (else NotFound), its
	// algorithm must be `signerAlgorithm` (else VerificationFailed) and the
	// signature must verify with `signerKey` (else VerificationFailed).
	Status verifySignature(KeyUsage signerUsage, Algorithm signerAlgorithm, EVP_PKEY *signerKey) const;
	Status verifySignedBy(const SevCert &signer) const;
	Status verifySignedBy(const AmdCert &ask) const;

private:
	SevCert() = default;
	Status decodeSlots();
	ByteView signatureField(size_t index) const;

	Bytes raw_;
	KeyUsage usage_ = KeyUsage::Invalid;
	Algorithm algorithm_ = Algorithm::Invalid;
	std::array<SignatureSlot, 2> slots_{};
	SharedPkey key_;
};

// The RSA signature algorithm an AMD RSA key of `bits` signs with
// (2048 -> RSA-SHA256, 4096 -> RSA-SHA384).
Algorithm rsaAlgorithmForBits(unsigned bits);

} // namespace cvm::sev
