// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "ecdsa_p256.h"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

namespace cvm::tdx::internal {

namespace {

constexpr size_t kScalar = 32;

using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslFree<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslFree<OSSL_PARAM, OSSL_PARAM_free>>;

} // namespace

Result<EvpPkeyPtr> p256PublicKey(ByteView xy)
{
	if (xy.size() != 2 * kScalar)
		return Error(ErrorCode::InvalidData, "a P-256 public key has 64 bytes");
	uint8_t point[1 + 2 * kScalar];
	point[0] = 0x04; // uncompressed
	std::memcpy(point + 1, xy.data(), xy.size());

	OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		return opensslError("cannot describe a P-256 key");
	OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
		return opensslError("cannot set up a P-256 key");
	EVP_PKEY *key = nullptr;
	if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
		return opensslError("not a point on P-256", ErrorCode::InvalidData);
	return EvpPkeyPtr(key);
}

bool isP256Key(EVP_PKEY *key)
{
	char group[64] = {};
	size_t len = 0;
	return key && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	       EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1 &&
	       std::strcmp(group, "prime256v1") == 0;
}

Result<bool> verifyEcdsaSha256(EVP_PKEY *key, ByteView rs, ByteView message)
{
	if (rs.size() != 2 * kScalar)
		return Error(ErrorCode::InvalidData, "an ECDSA P-256 signature has 64 bytes");
	EcdsaSigPtr sig(ECDSA_SIG_new());
	BIGNUM *r = BN_bin2bn(rs.data(), kScalar, nullptr);
	BIGNUM *s = BN_bin2bn(rs.data() + kScalar, kScalar, nullptr);
	if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
		BN_free(r);
		BN_free(s);
		return opensslError("cannot build an ECDSA signature");
	}
	unsigned char *der = nullptr;
	int derLen = i2d_ECDSA_SIG(sig.get(), &der);
	if (derLen <= 0)
		return opensslError("cannot encode an ECDSA signature");
	std::unique_ptr<unsigned char, void (*)(unsigned char *)> derOwner(der, [](unsigned char *p) {
		OPENSSL_free(p);
	});

	EvpMdCtxPtr md(EVP_MD_CTX_new());
	if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
		return opensslError("cannot set up ECDSA verification");
	int rc = EVP_DigestVerify(md.get(), der, static_cast<size_t>(derLen), message.data(), message.size());
	clearOpensslErrors(); // a bad signature leaves an entry behind
	return rc == 1;
}

Result<Bytes> signEcdsaSha256(EVP_PKEY *key, ByteView message)
{
	EvpMdCtxPtr md(EVP_MD_CTX_new());
	size_t len = 0;
	if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
	    EVP_DigestSign(md.get(), nullptr, &len, message.data(), message.size()) != 1)
		return opensslError("cannot sign with ECDSA");
	Bytes der(len);
	if (EVP_DigestSign(md.get(), der.data(), &len, message.data(), message.size()) != 1)
		return opensslError("cannot sign with ECDSA");
	const unsigned char *p = der.data();
	EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
	if (!sig)
		return opensslError("cannot decode an ECDSA signature");
	Bytes out(2 * kScalar);
	if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), kScalar) != kScalar ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + kScalar, kScalar) != kScalar)
		return opensslError("cannot encode r || s");
	return out;
}

Result<Bytes> p256PublicKeyXY(EVP_PKEY *key)
{
	if (!isP256Key(key))
		return Error(ErrorCode::InvalidArgument, "not a P-256 key");
	uint8_t point[1 + 2 * kScalar];
	size_t len = 0;
	if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len) != 1 ||
	    len != sizeof(point) || point[0] != 0x04)
		return opensslError("cannot export a P-256 public key");
	return Bytes(point + 1, point + sizeof(point));
}

} // namespace cvm::tdx::internal
