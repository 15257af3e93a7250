// SPDX-License-Identifier: Apache-2.0
//
// The public keys and signatures of SEV and AMD certificates as OpenSSL 3
// EVP_PKEYs: RSA keys from little-endian modulus/exponent, RSA-PSS and ECDSA
// signatures in the certificates' little-endian wire form. (P-384 keys from
// and to little-endian coordinates are in kdf.h, shared with the session.)
//
// Signature verification follows AMD's firmware: RSASSA-PSS with MGF1 over
// the same hash and a salt as long as the digest; ECDSA on P-384 with the
// digest used as is. Verification failures are ErrorCode::VerificationFailed;
// other codes mean the inputs or OpenSSL are broken.
#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "cvm/common/bytes.h"
#include "cvm/common/digest.h"
#include "cvm/common/error.h"
#include "cvm/common/ossl.h"
#include "cvm/sev/kdf.h"

namespace cvm::sev {

// A shared reference to an immutable EVP_PKEY (copies share the key through
// OpenSSL's reference count), so parsed certificates are cheap to copy and a
// key built once verifies many times, from any thread.
class SharedPkey
{
public:
	SharedPkey() = default;
	explicit SharedPkey(EvpPkeyPtr key) : key_(key.release()) {}
	SharedPkey(const SharedPkey &other) : key_(other.key_) { ref(); }
	SharedPkey(SharedPkey &&other) noexcept : key_(other.key_) { other.key_ = nullptr; }
	SharedPkey &operator=(SharedPkey other) noexcept
	{
		std::swap(key_, other.key_);
		return *this;
	}
	~SharedPkey() { EVP_PKEY_free(key_); }

	EVP_PKEY *get() const { return key_; }
	explicit operator bool() const { return key_ != nullptr; }

private:
	void ref() { if (key_) EVP_PKEY_up_ref(key_); }

	EVP_PKEY *key_ = nullptr;
};

// --- RSA ---

// An RSA public key from little-endian modulus and exponent (high zero bytes
// allowed). Fails unless the modulus has exactly `modulusBits` significant
// bits and the exponent is odd and > 1.
Result<EvpPkeyPtr> rsaPublicKeyFromLe(ByteView modulusLe, ByteView exponentLe, unsigned modulusBits);

// Modulus and exponent, little-endian, each zero-padded to `width` bytes.
struct RsaComponentsLe {
	Bytes modulus;
	Bytes exponent;
};
Result<RsaComponentsLe> rsaComponentsLe(EVP_PKEY *key, size_t width);

// A fresh RSA key pair (e = 65537).
Result<EvpPkeyPtr> generateRsaKey(unsigned bits);

// --- Key facts ---

bool isRsaKey(EVP_PKEY *key);
// An EC key on P-384.
bool isP384Key(EVP_PKEY *key);
// Modulus size of an RSA key, order size of an EC key.
unsigned keyBits(EVP_PKEY *key);
// Same key type and public components (EVP_PKEY_eq).
bool samePublicKey(EVP_PKEY *a, EVP_PKEY *b);

// --- Signatures in wire form ---

// RSASSA-PSS (MGF1 with `digest`, salt = digest length); the signature is
// little-endian, exactly the modulus size long.
Result<Bytes> signRsaPss(EVP_PKEY *privateKey, DigestAlgorithm digest, ByteView message);
Status verifyRsaPss(EVP_PKEY *publicKey, DigestAlgorithm digest, ByteView message, ByteView signatureLe);

// ECDSA r and s, little-endian in the 72-byte fields of SEV certificates.
struct EcdsaSignatureLe {
	std::array<uint8_t, 72> r{};
	std::array<uint8_t, 72> s{};
};
Result<EcdsaSignatureLe> signEcdsa(EVP_PKEY *privateKey, DigestAlgorithm digest, ByteView message);
Status verifyEcdsa(EVP_PKEY *publicKey, DigestAlgorithm digest, ByteView message, ByteView rLe, ByteView sLe);

} // namespace cvm::sev
