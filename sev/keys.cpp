// SPDX-License-Identifier: Apache-2.0
//
// RSA and EC keys from/to the little-endian certificate encodings, and the
// two signature schemes of SEV and AMD certificates (RSASSA-PSS, ECDSA), all
// through OpenSSL 3's EVP and OSSL_PARAM interfaces.
#include "cvm/sev/keys.h"

#include <algorithm>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

namespace cvm::sev {

namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslFree<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OsslFree<OSSL_PARAM, OSSL_PARAM_free>>;

const EVP_MD *evpDigest(DigestAlgorithm digest)
{
	switch (digest) {
	case DigestAlgorithm::Sha256: return EVP_sha256();
	case DigestAlgorithm::Sha384: return EVP_sha384();
	case DigestAlgorithm::Sha512: return EVP_sha512();
	}
	return nullptr;
}

Bytes reversed(ByteView in)
{
	return Bytes(in.rbegin(), in.rend());
}

// Sets up a DigestSign/DigestVerify context; PSS parameters for RSA keys.
Result<EvpMdCtxPtr> digestContext(EVP_PKEY *key, DigestAlgorithm digest, bool sign)
{
	EvpMdCtxPtr ctx(EVP_MD_CTX_new());
	EVP_PKEY_CTX *pctx = nullptr;
	if (!ctx)
		return opensslError("cannot allocate a digest context");
	int rc = sign ? EVP_DigestSignInit(ctx.get(), &pctx, evpDigest(digest), nullptr, key)
		      : EVP_DigestVerifyInit(ctx.get(), &pctx, evpDigest(digest), nullptr, key);
	if (rc != 1)
		return opensslError(sign ? "cannot start signing" : "cannot start verifying");
	if (isRsaKey(key) &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, evpDigest(digest)) != 1))
		return opensslError("cannot set up RSA-PSS");
	return ctx;
}

Result<Bytes> signDer(EVP_PKEY *key, DigestAlgorithm digest, ByteView message)
{
	EvpMdCtxPtr ctx = CVM_TRY(digestContext(key, digest, true));
	size_t len = 0;
	if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1)
		return opensslError("signing failed");
	Bytes sig(len);
	if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1)
		return opensslError("signing failed");
	sig.resize(len);
	return sig;
}

Status verifyRaw(EVP_PKEY *key, DigestAlgorithm digest, ByteView message, ByteView signature)
{
	EvpMdCtxPtr ctx = CVM_TRY(digestContext(key, digest, false));
	int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size());
	clearOpensslErrors();
	if (rc != 1)
		return Error(ErrorCode::VerificationFailed, "signature does not verify");
	return {};
}

} // namespace

Result<EvpPkeyPtr> rsaPublicKeyFromLe(ByteView modulusLe, ByteView exponentLe, unsigned modulusBits)
{
	BignumPtr n(BN_lebin2bn(modulusLe.data(), static_cast<int>(modulusLe.size()), nullptr));
	BignumPtr e(BN_lebin2bn(exponentLe.data(), static_cast<int>(exponentLe.size()), nullptr));
	if (!n || !e)
		return opensslError("cannot load an RSA key");
	if (static_cast<unsigned>(BN_num_bits(n.get())) != modulusBits)
		return Error(ErrorCode::InvalidData, "RSA modulus has " + std::to_string(BN_num_bits(n.get())) +
							     " significant bits, expected " + std::to_string(modulusBits));
	if (!BN_is_odd(e.get()) || BN_is_one(e.get()))
		return Error(ErrorCode::InvalidData, "RSA public exponent must be odd and greater than 1");
	if (BN_cmp(e.get(), n.get()) >= 0)
		return Error(ErrorCode::InvalidData, "RSA public exponent is not below the modulus");

	ParamBldPtr bld(OSSL_PARAM_BLD_new());
	if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
		return opensslError("cannot build RSA parameters");
	ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
	EVP_PKEY *raw = nullptr;
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
	    EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
		return opensslError("cannot create an RSA public key", ErrorCode::InvalidData);
	return EvpPkeyPtr(raw);
}

Result<RsaComponentsLe> rsaComponentsLe(EVP_PKEY *key, size_t width)
{
	if (!isRsaKey(key))
		return Error(ErrorCode::InvalidArgument, "not an RSA key");
	BIGNUM *n = nullptr;
	BIGNUM *e = nullptr;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		BN_free(n);
		return opensslError("cannot read the RSA public key");
	}
	BignumPtr bn(n), be(e);
	RsaComponentsLe out{ Bytes(width), Bytes(width) };
	if (BN_bn2lebinpad(bn.get(), out.modulus.data(), static_cast<int>(width)) < 0 ||
	    BN_bn2lebinpad(be.get(), out.exponent.data(), static_cast<int>(width)) < 0)
		return Error(ErrorCode::InvalidArgument, "RSA key is wider than " + std::to_string(width) + " bytes");
	return out;
}

Result<EvpPkeyPtr> generateRsaKey(unsigned bits)
{
	EVP_PKEY *raw = EVP_RSA_gen(bits);
	if (!raw)
		return opensslError("cannot generate an RSA key");
	return EvpPkeyPtr(raw);
}

bool isRsaKey(EVP_PKEY *key)
{
	return key && EVP_PKEY_is_a(key, "RSA");
}

bool isP384Key(EVP_PKEY *key)
{
	if (!key || !EVP_PKEY_is_a(key, "EC"))
		return false;
	char group[32] = {};
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), nullptr) != 1)
		return false;
	std::string_view g(group);
	return g == "secp384r1" || g == "P-384";
}

unsigned keyBits(EVP_PKEY *key)
{
	return key ? static_cast<unsigned>(EVP_PKEY_get_bits(key)) : 0;
}

bool samePublicKey(EVP_PKEY *a, EVP_PKEY *b)
{
	bool same = a && b && EVP_PKEY_eq(a, b) == 1;
	clearOpensslErrors();
	return same;
}

Result<Bytes> signRsaPss(EVP_PKEY *privateKey, DigestAlgorithm digest, ByteView message)
{
	if (!isRsaKey(privateKey))
		return Error(ErrorCode::InvalidArgument, "RSA-PSS needs an RSA key");
	Bytes be = CVM_TRY(signDer(privateKey, digest, message));
	return reversed(be);
}

Status verifyRsaPss(EVP_PKEY *publicKey, DigestAlgorithm digest, ByteView message, ByteView signatureLe)
{
	if (!isRsaKey(publicKey))
		return Error(ErrorCode::InvalidArgument, "RSA-PSS needs an RSA key");
	size_t modulusBytes = (keyBits(publicKey) + 7) / 8;
	if (signatureLe.size() != modulusBytes)
		return Error(ErrorCode::InvalidArgument, "RSA signature must be " + std::to_string(modulusBytes) + " bytes");
	return verifyRaw(publicKey, digest, message, reversed(signatureLe));
}

Result<EcdsaSignatureLe> signEcdsa(EVP_PKEY *privateKey, DigestAlgorithm digest, ByteView message)
{
	if (!isP384Key(privateKey))
		return Error(ErrorCode::InvalidArgument, "ECDSA needs a P-384 key");
	Bytes der = CVM_TRY(signDer(privateKey, digest, message));
	const unsigned char *p = der.data();
	EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
	if (!sig)
		return opensslError("cannot decode an ECDSA signature");
	EcdsaSignatureLe out;
	if (BN_bn2lebinpad(ECDSA_SIG_get0_r(sig.get()), out.r.data(), static_cast<int>(out.r.size())) < 0 ||
	    BN_bn2lebinpad(ECDSA_SIG_get0_s(sig.get()), out.s.data(), static_cast<int>(out.s.size())) < 0)
		return opensslError("cannot encode an ECDSA signature");
	return out;
}

Status verifyEcdsa(EVP_PKEY *publicKey, DigestAlgorithm digest, ByteView message, ByteView rLe, ByteView sLe)
{
	if (!isP384Key(publicKey))
		return Error(ErrorCode::InvalidArgument, "ECDSA needs a P-384 key");
	BignumPtr r(BN_lebin2bn(rLe.data(), static_cast<int>(rLe.size()), nullptr));
	BignumPtr s(BN_lebin2bn(sLe.data(), static_cast<int>(sLe.size()), nullptr));
	EcdsaSigPtr sig(ECDSA_SIG_new());
	if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1)
		return opensslError("cannot load an ECDSA signature");
	(void)r.release(); // owned by sig now
	(void)s.release();
	unsigned char *der = nullptr;
	int len = i2d_ECDSA_SIG(sig.get(), &der);
	if (len <= 0)
		return opensslError("cannot encode an ECDSA signature");
	Bytes derBytes(der, der + len);
	OPENSSL_free(der);
	return verifyRaw(publicKey, digest, message, derBytes);
}

} // namespace cvm::sev
