// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/kdf.h"

#include <algorithm>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "cvm/common/digest.h"
#include "crypto_internal.h"

namespace cvm::sev {

namespace internal {

Status aes128Ctr(ByteView key, ByteView iv, ByteView in, MutableByteView out)
{
	if (key.size() != 16 || iv.size() != 16 || out.size() != in.size())
		return Error(ErrorCode::Internal, "AES-128-CTR needs a 16-byte key and IV");
	// Fetched once (EVP_aes_128_ctr() would look it up again at every init).
	static EVP_CIPHER *cipher = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
	EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
	int len = 0;
	if (!ctx || !cipher || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data()) != 1)
		return opensslError("cannot set up AES-128-CTR");
	// EVP_EncryptUpdate takes an int length; the callers' buffers are small,
	// but keep the loop honest for any size.
	size_t done = 0;
	while (done < in.size()) {
		int n = static_cast<int>(std::min<size_t>(in.size() - done, 1u << 30));
		if (EVP_EncryptUpdate(ctx.get(), out.data() + done, &len, in.data() + done, n) != 1 || len != n)
			return opensslError("AES-128-CTR failed");
		done += static_cast<size_t>(n);
	}
	return {};
}

Result<Bytes> hmacSha256(ByteView key, std::initializer_list<ByteView> parts)
{
	return hmac(DigestAlgorithm::Sha256, key, parts);
}

Status requireSize(ByteView value, size_t size, std::string_view what)
{
	if (value.size() != size)
		return Error(ErrorCode::InvalidArgument, std::string(what) + " must be " + std::to_string(size) +
								 " bytes, not " + std::to_string(value.size()));
	return {};
}

} // namespace internal

namespace {

constexpr size_t kPrfSize = 32;

const EC_GROUP *p384Group()
{
	static EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_secp384r1);
	return group;
}

} // namespace

Result<SecureBuffer> kdf(ByteView key, size_t outLen, std::string_view label, ByteView context)
{
	if (outLen == 0 || outLen > 255 * kPrfSize)
		return Error(ErrorCode::InvalidArgument, "KDF output length out of range");
	Bytes lengthBits;
	appendLe32(lengthBits, static_cast<uint32_t>(outLen * 8));
	static const uint8_t kSeparator = 0;

	SecureBuffer out(outLen);
	for (uint32_t i = 1; (i - 1) * kPrfSize < outLen; ++i) {
		Bytes counter;
		appendLe32(counter, i);
		Bytes block = CVM_TRY(internal::hmacSha256(
			key, { counter, asBytes(label), ByteView(&kSeparator, 1), context, lengthBits }));
		size_t off = (i - 1) * kPrfSize;
		size_t n = std::min(kPrfSize, outLen - off);
		std::copy_n(block.begin(), n, out.data() + off);
		secureWipe(block);
	}
	return out;
}

Result<ChannelKeys> deriveChannelKeys(ByteView sharedSecret, ByteView nonce)
{
	SecureBuffer master = CVM_TRY(kdf(sharedSecret, 16, kLabelMasterSecret, nonce));
	ChannelKeys keys;
	keys.kek = CVM_TRY(kdf(master, 16, kLabelKek, {}));
	keys.kik = CVM_TRY(kdf(master, 16, kLabelKik, {}));
	return keys;
}

Result<EvpPkeyPtr> generateP384Key()
{
	EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
	if (!key)
		return opensslError("cannot generate a P-384 key");
	return key;
}

Result<EvpPkeyPtr> p384PublicKeyFromLe(ByteView qx, ByteView qy)
{
	auto coordinate = [](ByteView le, const char *name) -> Result<BignumPtr> {
		for (size_t i = 48; i < le.size(); ++i)
			if (le[i] != 0)
				return Error(ErrorCode::InvalidData,
					     std::string("P-384 ") + name + " coordinate is wider than 384 bits");
		BignumPtr bn(BN_lebin2bn(le.data(), static_cast<int>(std::min<size_t>(le.size(), 48)), nullptr));
		if (!bn)
			return opensslError("cannot load an EC coordinate");
		return bn;
	};
	BignumPtr x = CVM_TRY(coordinate(qx, "X"));
	BignumPtr y = CVM_TRY(coordinate(qy, "Y"));

	const EC_GROUP *group = p384Group();
	BignumPtr p(BN_new());
	BnCtxPtr bnCtx(BN_CTX_new());
	if (!group || !p || !bnCtx || EC_GROUP_get_curve(group, p.get(), nullptr, nullptr, bnCtx.get()) != 1)
		return opensslError("cannot load the P-384 curve");
	// OpenSSL would reduce coordinates modulo p; a certificate with x >= p is malformed.
	if (BN_cmp(x.get(), p.get()) >= 0 || BN_cmp(y.get(), p.get()) >= 0)
		return Error(ErrorCode::InvalidData, "P-384 point coordinate is not below the field prime");
	EcPointPtr point(EC_POINT_new(group));
	if (!point || EC_POINT_set_affine_coordinates(group, point.get(), x.get(), y.get(), bnCtx.get()) != 1) {
		clearOpensslErrors();
		return Error(ErrorCode::InvalidData, "the public key is not a point on P-384");
	}
	uint8_t encoded[97];
	if (EC_POINT_point2oct(group, point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded, sizeof(encoded),
			       bnCtx.get()) != sizeof(encoded))
		return opensslError("cannot encode a P-384 point");

	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char *>("P-384"), 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, encoded, sizeof(encoded)),
		OSSL_PARAM_construct_end(),
	};
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
	EVP_PKEY *raw = nullptr;
	if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
	    EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1)
		return opensslError("cannot build a P-384 public key");
	return EvpPkeyPtr(raw);
}

Result<P384Point> p384PointLe(EVP_PKEY *key)
{
	BIGNUM *x = nullptr;
	BIGNUM *y = nullptr;
	if (!key || EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
		BN_free(x);
		return opensslError("cannot read the EC public key's coordinates");
	}
	BignumPtr bx(x), by(y);
	char group[32] = {};
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), nullptr) != 1 ||
	    (std::string_view(group) != "secp384r1" && std::string_view(group) != "P-384"))
		return Error(ErrorCode::InvalidArgument, "the key is not on P-384");
	P384Point out;
	if (BN_bn2lebinpad(bx.get(), out.qx.data(), 48) != 48 || BN_bn2lebinpad(by.get(), out.qy.data(), 48) != 48)
		return opensslError("cannot encode the EC public key");
	return out;
}

Result<SecureBuffer> ecdhSharedSecret(EVP_PKEY *privateKey, EVP_PKEY *peerPublicKey)
{
	// EVP_PKEY_derive_set_peer() would run the full public-key check, whose
	// n·Q = O step costs about as much as the derivation itself. On P-384
	// (cofactor 1) a point on the curve is in the prime-order group, so the
	// quick check (not infinity, coordinates in range, on the curve) is the
	// whole validation; the peer keys here come from p384PublicKeyFromLe,
	// which checked it already, or from our own key generation.
	EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, peerPublicKey, nullptr));
	if (!check || EVP_PKEY_public_check_quick(check.get()) != 1) {
		clearOpensslErrors();
		return Error(ErrorCode::InvalidData, "the ECDH peer key is not a valid P-384 point");
	}
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, privateKey, nullptr));
	if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx.get(), peerPublicKey, 0) != 1)
		return opensslError("cannot set up ECDH");
	size_t len = 0;
	if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len != 48)
		return opensslError("ECDH on P-384 failed");
	SecureBuffer z(len);
	if (EVP_PKEY_derive(ctx.get(), z.data(), &len) != 1 || len != 48)
		return opensslError("ECDH on P-384 failed");
	return z;
}

} // namespace cvm::sev
