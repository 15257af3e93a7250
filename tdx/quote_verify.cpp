// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/quote_verify.h"

#include <algorithm>

#include <openssl/pem.h>

#include "cvm/common/digest.h"
#include "cvm/common/json.h"
#include "ecdsa_p256.h"
#include "pck_chain.h"

namespace cvm::tdx {

const std::array<uint8_t, 32> kIntelSgxRootCaSha256 = {
	0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
	0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3,
};

namespace {

using BioPtr = std::unique_ptr<BIO, OsslFree<BIO, BIO_free_all>>;

QuoteCheck attestationKeyCheck(const Quote &q)
{
	QuoteCheck c{ QuoteCheckId::AttestationKeySignature };
	auto key = internal::p256PublicKey(q.attestationKey);
	if (!key) {
		c.detail = "the attestation key is not usable: " + key.error().message();
		return c;
	}
	auto ok = internal::verifyEcdsaSha256(key->get(), q.signature, q.signedRegion);
	if (!ok)
		c.detail = ok.error().message();
	else if (!*ok)
		c.detail = "the signature over the quote header and TD report body does not verify "
			   "with the quote's attestation key";
	else {
		c.passed = true;
		c.detail = "header and TD report body signed by the attestation key";
	}
	return c;
}

QuoteCheck bindingCheck(const Quote &q)
{
	QuoteCheck c{ QuoteCheckId::QeReportBinding };
	auto h = digest(DigestAlgorithm::Sha256, { q.attestationKey, q.qeAuthData });
	if (!h) {
		c.detail = h.error().message();
		return c;
	}
	Bytes expected = *h;
	expected.resize(q.qeReport.reportData.size(), 0);
	if (!constantTimeEqual(expected, q.qeReport.reportData)) {
		c.detail = "the QE report data (" + toHex(ByteView(q.qeReport.reportData).subspan(0, 32)) +
			   "...) is not SHA-256(attestation key || QE auth data) (" +
			   toHex(ByteView(expected).subspan(0, 32)) +
			   ") followed by zeros: the attestation key is not the one the quoting enclave certified";
		return c;
	}
	c.passed = true;
	c.detail = "QE report data = SHA-256(attestation key || QE auth data)";
	return c;
}

QuoteCheck qeSignatureCheck(const Quote &q, const std::vector<X509Ptr> *chain, const std::string &chainError)
{
	QuoteCheck c{ QuoteCheckId::QeReportSignature };
	if (!chain) {
		c.detail = "no PCK certificate to check it with: " + chainError;
		return c;
	}
	EVP_PKEY *key = X509_get0_pubkey(chain->front().get());
	if (!internal::isP256Key(key)) {
		c.detail = "the PCK certificate's key is not an ECDSA P-256 key";
		return c;
	}
	auto ok = internal::verifyEcdsaSha256(key, q.qeReportSignature, q.qeReportBytes);
	if (!ok)
		c.detail = ok.error().message();
	else if (!*ok)
		c.detail = "the QE report signature does not verify with the PCK certificate's key";
	else {
		c.passed = true;
		c.detail = "QE report signed by the PCK certificate's key";
	}
	return c;
}

JsonNodePtr certificateJson(const CertificateInfo &info)
{
	json::ObjectBuilder b;
	b.setString("subject", info.subject)
		.setString("issuer", info.issuer)
		.setString("not-before", info.notBefore)
		.setString("not-after", info.notAfter)
		.setHex("sha256", info.sha256);
	return b.build();
}

} // namespace

Result<Bytes> loadRootCertificate(ByteView pemOrDer)
{
	X509Ptr cert;
	BioPtr bio(BIO_new_mem_buf(pemOrDer.data(), static_cast<int>(pemOrDer.size())));
	if (bio)
		cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
	if (!cert) {
		const unsigned char *p = pemOrDer.data();
		cert.reset(d2i_X509(nullptr, &p, static_cast<long>(pemOrDer.size())));
	}
	clearOpensslErrors();
	if (!cert)
		return Error(ErrorCode::InvalidData, "the root CA is neither a PEM nor a DER certificate");
	unsigned char *der = nullptr;
	int len = i2d_X509(cert.get(), &der);
	if (len <= 0)
		return opensslError("cannot encode the root CA");
	Bytes out(der, der + len);
	OPENSSL_free(der);
	return out;
}

const char *quoteCheckName(QuoteCheckId id)
{
	switch (id) {
	case QuoteCheckId::AttestationKeySignature:
		return "attestation-key-signature";
	case QuoteCheckId::QeReportBinding:
		return "qe-report-binding";
	case QuoteCheckId::QeReportSignature:
		return "qe-report-signature";
	case QuoteCheckId::RootCa:
		return "root-ca";
	case QuoteCheckId::PckChain:
		return "pck-chain";
	}
	return "?";
}

bool QuoteVerification::ok() const
{
	return !checks.empty() &&
	       std::all_of(checks.begin(), checks.end(), [](const QuoteCheck &c) { return c.passed; });
}

Status QuoteVerification::status() const
{
	for (const auto &c : checks)
		if (!c.passed)
			return Error(ErrorCode::VerificationFailed,
				     std::string(quoteCheckName(c.id)) + ": " + c.detail, quoteCheckName(c.id));
	if (checks.empty())
		return Error(ErrorCode::VerificationFailed, "the quote was not verified");
	return {};
}

JsonNodePtr QuoteVerification::toJson() const
{
	JsonArrayPtr checkArray(json_array_new());
	for (const auto &c : checks) {
		json::ObjectBuilder b;
		b.setString("check", quoteCheckName(c.id)).setBool("passed", c.passed).setString("detail", c.detail);
		json_array_add_element(checkArray.get(), b.build().release());
	}
	JsonArrayPtr chainArray(json_array_new());
	for (const auto &info : pckChain)
		json_array_add_element(chainArray.get(), certificateJson(info).release());
	JsonNodePtr checksNode(json_node_alloc());
	json_node_init_array(checksNode.get(), checkArray.get());
	JsonNodePtr chainNode(json_node_alloc());
	json_node_init_array(chainNode.get(), chainArray.get());

	json::ObjectBuilder out;
	out.setString("verdict", ok() ? "ok" : "failed")
		.setNode("checks", std::move(checksNode))
		.setNode("pck-chain", std::move(chainNode))
		.setBool("tcb-evaluated", false)
		.setString("note", "TCB status and collateral (TCB info, QE identity, CRLs) are not evaluated");
	return out.build();
}

QuoteVerification verifyQuote(const Quote &quote, const QuoteVerifyOptions &options)
{
	QuoteVerification v;
	v.checks.push_back(attestationKeyCheck(quote));
	v.checks.push_back(bindingCheck(quote));

	auto chain = internal::parsePemChain(quote.pckChainPem);
	std::string chainError = chain ? std::string() : chain.error().message();
	v.checks.push_back(qeSignatureCheck(quote, chain ? &*chain : nullptr, chainError));
	if (!chain) {
		v.checks.push_back({ QuoteCheckId::RootCa, false, "not checked: " + chainError });
		v.checks.push_back({ QuoteCheckId::PckChain, false, chainError });
		return v;
	}
	for (const auto &c : *chain)
		v.pckChain.push_back(internal::certificateInfo(c.get()));
	internal::ChainVerdict cv = internal::verifyPckChain(*chain, options);
	v.checks.push_back(cv.root);
	v.checks.push_back(cv.chain);
	return v;
}

} // namespace cvm::tdx
