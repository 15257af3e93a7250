// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attest"

#include "cvm/attest/tdx_secrets.h"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "cvm/common/secure_buffer.h"

namespace cvm::attest {

namespace {

constexpr std::string_view kInfoLabel = "cvm-attestd intel-tdx secrets v1";
constexpr size_t kIvSize = 12;
constexpr size_t kTagSize = 16;

using EvpKdfPtr = std::unique_ptr<EVP_KDF, OsslFree<EVP_KDF, EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OsslFree<EVP_KDF_CTX, EVP_KDF_CTX_free>>;

Result<SecureBuffer> ecdh(EVP_PKEY *own, EVP_PKEY *peer)
{
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(own, nullptr));
	size_t len = 0;
	if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
	    EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1)
		return opensslError("ECDH P-256");
	SecureBuffer z(len);
	if (EVP_PKEY_derive(ctx.get(), z.data(), &len) != 1 || len != z.size())
		return opensslError("ECDH P-256");
	return z;
}

Result<SecureBuffer> deriveKey(ByteView z, ByteView nonce, ByteView e, ByteView t)
{
	Bytes info(kInfoLabel.begin(), kInfoLabel.end());
	info.insert(info.end(), e.begin(), e.end());
	info.insert(info.end(), t.begin(), t.end());
	EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
	EvpKdfCtxPtr ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
	if (!ctx)
		return opensslError("HKDF");
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t *>(z.data()), z.size()),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t *>(nonce.data()), nonce.size()),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
		OSSL_PARAM_construct_end(),
	};
	SecureBuffer k(32);
	if (EVP_KDF_derive(ctx.get(), k.data(), k.size(), params) != 1)
		return opensslError("HKDF-SHA256");
	return k;
}

Result<Bytes> seal(ByteView key, ByteView iv, std::string_view aad, ByteView plain)
{
	EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
	int len = 0;
	Bytes out(plain.size() + kTagSize);
	if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), iv.data()) != 1 ||
	    EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t *>(aad.data()),
			      static_cast<int>(aad.size())) != 1 ||
	    EVP_EncryptUpdate(ctx.get(), out.data(), &len, plain.data(), static_cast<int>(plain.size())) != 1 ||
	    EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, out.data() + plain.size()) != 1)
		return opensslError("AES-256-GCM encryption");
	return out;
}

Result<SecureBuffer> open(ByteView key, ByteView iv, std::string_view aad, ByteView sealed)
{
	if (sealed.size() < kTagSize || iv.size() != kIvSize)
		return Error(ErrorCode::InvalidData, "wrapped secrets: ciphertext or iv too short");
	size_t n = sealed.size() - kTagSize;
	SecureBuffer out(n);
	EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
	int len = 0;
	if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), iv.data()) != 1 ||
	    EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t *>(aad.data()),
			      static_cast<int>(aad.size())) != 1 ||
	    EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(), static_cast<int>(n)) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, const_cast<uint8_t *>(sealed.data() + n)) != 1)
		return opensslError("AES-256-GCM decryption");
	if (EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &len) != 1) {
		clearOpensslErrors();
		return Error(ErrorCode::VerificationFailed,
			     "wrapped secrets do not open: not for this key, nonce or launch, or altered");
	}
	return out;
}

} // namespace

Result<EvpPkeyPtr> p256KeyFromPoint(ByteView point)
{
	if (point.size() != kTdxTeeKeySize || point[0] != 0x04)
		return Error(ErrorCode::InvalidData, "a P-256 public key must be a 65-byte uncompressed point");
	char group[] = "prime256v1";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t *>(point.data()),
						  point.size()),
		OSSL_PARAM_construct_end(),
	};
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
	EVP_PKEY *raw = nullptr;
	if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
	    EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		clearOpensslErrors();
		return Error(ErrorCode::InvalidData, "not a point on P-256");
	}
	EvpPkeyPtr key(raw);
	EvpPkeyCtxPtr check(EVP_PKEY_CTX_new(key.get(), nullptr));
	if (!check || EVP_PKEY_public_check(check.get()) != 1) {
		clearOpensslErrors();
		return Error(ErrorCode::InvalidData, "not a point on P-256");
	}
	return key;
}

Result<Bytes> p256PointOf(EVP_PKEY *key)
{
	Bytes point(kTdxTeeKeySize);
	size_t len = 0;
	if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(), &len) != 1 ||
	    len != point.size())
		return opensslError("P-256 public key encoding");
	return point;
}

Result<TdxWrappedSecrets> wrapTdxSecrets(ByteView teePublicKey, ByteView nonce, std::string_view launchId,
					 ByteView secretTable)
{
	EvpPkeyPtr tee = CVM_TRY(p256KeyFromPoint(teePublicKey));
	EvpPkeyPtr eph(EVP_EC_gen("P-256"));
	if (!eph)
		return opensslError("P-256 key generation");
	TdxWrappedSecrets w;
	w.ephemeralPublicKey = CVM_TRY(p256PointOf(eph.get()));
	SecureBuffer z = CVM_TRY(ecdh(eph.get(), tee.get()));
	SecureBuffer k = CVM_TRY(deriveKey(z.view(), nonce, w.ephemeralPublicKey, teePublicKey));
	w.iv.resize(kIvSize);
	if (RAND_bytes(w.iv.data(), static_cast<int>(w.iv.size())) != 1)
		return opensslError("random iv");
	w.ciphertext = CVM_TRY(seal(k.view(), w.iv, launchId, secretTable));
	return w;
}

Result<SecureBuffer> unwrapTdxSecrets(EVP_PKEY *teeKey, ByteView nonce, std::string_view launchId,
				      const TdxWrappedSecrets &wrapped)
{
	EvpPkeyPtr eph = CVM_TRY(p256KeyFromPoint(wrapped.ephemeralPublicKey));
	Bytes teePoint = CVM_TRY(p256PointOf(teeKey));
	SecureBuffer z = CVM_TRY(ecdh(teeKey, eph.get()));
	SecureBuffer k = CVM_TRY(deriveKey(z.view(), nonce, wrapped.ephemeralPublicKey, teePoint));
	return open(k.view(), wrapped.iv, launchId, wrapped.ciphertext);
}

} // namespace cvm::attest
