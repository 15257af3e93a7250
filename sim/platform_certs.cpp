// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "platform_certs.h"

#include <openssl/pem.h>

#include "cvm/sev/kdf.h"
#include "cvm/sev/session.h"

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

// TEMPORARY until sev-certs' construction API is merged: the PDH in its
// final shape (ECDH P-384, usage PDH) but unsigned; the rest placeholders.
Result<HierarchyCerts> signHierarchy(const HierarchyKeys &keys, const sev::PlatformVersion &,
				     ByteView, ByteView)
{
	HierarchyCerts c;
	c.pdh = CVM_TRY(sev::makeGodhCertificate(keys.pdh.get()));
	c.pek = CVM_TRY(sev::makeGodhCertificate(keys.pek.get()));
	c.oca = CVM_TRY(sev::makeGodhCertificate(keys.oca.get()));
	c.cekSigned = CVM_TRY(sev::makeGodhCertificate(keys.cek.get()));
	c.cekUnsigned = c.cekSigned;
	c.ark = Bytes(16, 0);
	c.ask = Bytes(16, 0);
	return c;
}

Status checkSevCertKey(ByteView cert, EVP_PKEY *key, const char *what)
{
	auto pub = sev::pdhPublicKey(cert);
	if (!pub)
		return pub.error().withContext(what);
	if (EVP_PKEY_eq(pub->get(), key) != 1)
		return Error(ErrorCode::InvalidData,
			     std::string(what) + ": the certificate does not hold the stored private key's public key");
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
