// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "platform_certs.h"

#include <openssl/pem.h>

#include <algorithm>

#include "cvm/sev/amd_cert.h"
#include "cvm/sev/cert.h"
#include "cvm/sev/chain.h"
#include "cvm/sev/trust.h"
#include "cvm/sim/platform.h"
#include "cvm/sev/kdf.h"

namespace cvm::sim::internal {

namespace {

struct BioFree {
	void operator()(BIO *b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

Result<EvpPkeyPtr> rsa4096()
{
	EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(4096)));
	if (!key)
		return opensslError("generating an RSA-4096 key");
	return key;
}

} // namespace

Result<HierarchyKeys> generateHierarchyKeys()
{
	HierarchyKeys k;
	k.ark = CVM_TRY(rsa4096());
	k.ask = CVM_TRY(rsa4096());
	k.cek = CVM_TRY(sev::generateP384Key());
	k.oca = CVM_TRY(sev::generateP384Key());
	k.pek = CVM_TRY(sev::generateP384Key());
	k.pdh = CVM_TRY(sev::generateP384Key());
	return k;
}

Result<HierarchyCerts> signHierarchy(const HierarchyKeys &keys, const sev::PlatformVersion &version,
				     ByteView arkKeyId, ByteView askKeyId)
{
	using sev::Algorithm;
	using sev::KeyUsage;
	sev::AmdKeyId arkId{}, askId{};
	std::copy_n(arkKeyId.begin(), arkId.size(), arkId.begin());
	std::copy_n(askKeyId.begin(), askId.size(), askId.begin());
	uint8_t maj = version.apiMajor, min = version.apiMinor;

	sev::AmdCert ark = CVM_TRY(sev::AmdCert::create(arkId, arkId, KeyUsage::Ark, keys.ark.get()));
	CVM_CHECK(ark.sign(keys.ark.get()));
	sev::AmdCert ask = CVM_TRY(sev::AmdCert::create(askId, arkId, KeyUsage::Ask, keys.ask.get()));
	CVM_CHECK(ask.sign(keys.ark.get()));

	sev::SevCert cek = CVM_TRY(sev::SevCert::create(KeyUsage::Cek, Algorithm::EcdsaSha256, keys.cek.get(), maj, min));
	CVM_CHECK(cek.signWithAsk(keys.ask.get()));
	sev::SevCert oca = CVM_TRY(sev::SevCert::create(KeyUsage::Oca, Algorithm::EcdsaSha256, keys.oca.get(), maj, min));
	CVM_CHECK(oca.sign(keys.oca.get(), KeyUsage::Oca, Algorithm::EcdsaSha256));
	// Real PEKs carry the OCA signature in slot 1 and the CEK's in slot 2.
	sev::SevCert pek = CVM_TRY(sev::SevCert::create(KeyUsage::Pek, Algorithm::EcdsaSha256, keys.pek.get(), maj, min));
	CVM_CHECK(pek.signWith(oca, keys.oca.get()));
	CVM_CHECK(pek.signWith(cek, keys.cek.get()));
	sev::SevCert pdh = CVM_TRY(sev::SevCert::create(KeyUsage::Pdh, Algorithm::EcdhSha256, keys.pdh.get(), maj, min));
	CVM_CHECK(pdh.signWith(pek, keys.pek.get()));

	HierarchyCerts c;
	c.ark = ark.bytes();
	c.ask = ask.bytes();
	c.cekSigned = cek.bytes();
	cek.clearSignature(KeyUsage::Ask);
	c.cekUnsigned = cek.bytes();
	c.oca = oca.bytes();
	c.pek = pek.bytes();
	c.pdh = pdh.bytes();
	return c;
}

Status checkSevCertKey(ByteView cert, EVP_PKEY *key, const char *what)
{
	auto parsed = sev::SevCert::parse(cert);
	if (!parsed)
		return parsed.error().withContext(what);
	if (EVP_PKEY_eq(parsed->publicKey(), key) != 1)
		return Error(ErrorCode::InvalidData,
			     std::string(what) + ": the certificate does not hold the stored private key's public key");
	return {};
}

Status verifyStoredChain(const std::string &stateDir, ByteView ark, ByteView ask, ByteView cek, ByteView oca,
			 ByteView pek, ByteView pdh, const std::string &chipIdHex)
{
	auto fail = [&](const std::string &why) {
		return Error(ErrorCode::InvalidData, "the certificate chain in " + stateDir + " does not verify: " + why);
	};
	auto chain = sev::makePlatformChain(pdh, pek, oca, cek);
	auto arkCert = sev::AmdCert::parse(ark);
	auto askCert = sev::AmdCert::parse(ask);
	if (!chain || !arkCert || !askCert)
		return fail(!chain ? chain.error().message()
				   : (!arkCert ? arkCert.error().message() : askCert.error().message()));
	auto roots = sev::makeRoots(kTestRootGeneration, std::move(arkCert).value(), std::move(askCert).value(),
				    sev::TrustMode::AsGiven, stateDir);
	if (!roots)
		return fail(roots.error().message());
	sev::ChainOptions options;
	options.chipIdHex = chipIdHex;
	std::optional<sev::SevCert> kdsCek;
	if (chain->cek.isUnsigned()) {
		auto cached = sev::loadCachedCek(stateDir + "/kds", chipIdHex);
		if (!cached)
			return fail(cached.error().message());
		kdsCek = std::move(cached).value();
		options.signedCek = kdsCek ? &*kdsCek : nullptr;
	}
	sev::ChainVerdict verdict = sev::verifyChain(*chain, *roots, options);
	if (!verdict.valid())
		return fail(verdict.failure);
	return {};
}

Result<SecureBuffer> privateKeyPem(EVP_PKEY *key)
{
	BioPtr bio(BIO_new(BIO_s_secmem()));
	if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
		return opensslError("writing a private key");
	char *data = nullptr;
	long len = BIO_get_mem_data(bio.get(), &data);
	return SecureBuffer(ByteView(reinterpret_cast<const uint8_t *>(data), static_cast<size_t>(len)));
}

Result<EvpPkeyPtr> privateKeyFromPem(ByteView pem, const char *what)
{
	BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
	EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
	if (!key)
		return opensslError(std::string("reading the ") + what + " private key", ErrorCode::InvalidData);
	return key;
}

} // namespace cvm::sim::internal
