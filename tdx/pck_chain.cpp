// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "pck_chain.h"

#include <cstring>
#include <ctime>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace cvm::tdx::internal {

namespace {

constexpr size_t kMaxCertificates = 8;

using BioPtr = std::unique_ptr<BIO, OsslFree<BIO, BIO_free_all>>;

struct X509StackFree {
	// The stack borrows its certificates: free the stack only.
	void operator()(STACK_OF(X509) *s) const { sk_X509_free(s); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

std::string nameText(const X509_NAME *name)
{
	BioPtr bio(BIO_new(BIO_s_mem()));
	if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0)
		return "?";
	char *data = nullptr;
	long len = BIO_get_mem_data(bio.get(), &data);
	return std::string(data, static_cast<size_t>(len));
}

std::string timeText(const ASN1_TIME *t)
{
	struct tm tm {};
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return "?";
	char buf[32];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

std::string describe(X509 *cert)
{
	return nameText(X509_get_subject_name(cert));
}

} // namespace

std::array<uint8_t, 32> certificateSha256(X509 *cert)
{
	std::array<uint8_t, 32> out{};
	unsigned int len = 0;
	X509_digest(cert, EVP_sha256(), out.data(), &len);
	return out;
}

CertificateInfo certificateInfo(X509 *cert)
{
	CertificateInfo info;
	info.subject = nameText(X509_get_subject_name(cert));
	info.issuer = nameText(X509_get_issuer_name(cert));
	info.notBefore = timeText(X509_get0_notBefore(cert));
	info.notAfter = timeText(X509_get0_notAfter(cert));
	info.sha256 = certificateSha256(cert);
	return info;
}

Result<std::vector<X509Ptr>> parsePemChain(std::string_view pem)
{
	BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
	if (!bio)
		return opensslError("cannot read the PCK certificate chain");
	std::vector<X509Ptr> certs;
	ERR_clear_error();
	while (X509 *c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
		certs.emplace_back(c);
		if (certs.size() > kMaxCertificates)
			return Error(ErrorCode::InvalidData, "the PCK certificate chain has more than " +
								     std::to_string(kMaxCertificates) + " certificates");
	}
	unsigned long err = ERR_peek_last_error();
	bool cleanEnd = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
	if (err && !cleanEnd)
		return opensslError("the PCK certificate chain has a damaged PEM block", ErrorCode::InvalidData);
	clearOpensslErrors();
	if (certs.empty())
		return Error(ErrorCode::InvalidData, "the PCK certificate chain holds no PEM certificate");
	return certs;
}

static X509 *findAnchor(const std::vector<X509Ptr> &chain, const QuoteVerifyOptions &options,
			X509Ptr &configured, QuoteCheck &root)
{
	if (options.rootCaDer) {
		const unsigned char *p = options.rootCaDer->data();
		configured.reset(d2i_X509(nullptr, &p, static_cast<long>(options.rootCaDer->size())));
		clearOpensslErrors();
		if (!configured) {
			root.detail = "the configured root CA is not a DER certificate";
			return nullptr;
		}
		root.passed = true;
		root.detail = "configured root " + describe(configured.get()) + " (SHA-256 " +
			      toHex(certificateSha256(configured.get())) + ")";
		return configured.get();
	}
	for (const auto &c : chain) {
		if (certificateSha256(c.get()) == options.rootSha256) {
			root.passed = true;
			root.detail = "pinned root " + describe(c.get()) + " (SHA-256 " + toHex(options.rootSha256) + ")";
			return c.get();
		}
	}
	X509 *last = chain.back().get();
	root.detail = "the chain does not contain the pinned root CA (SHA-256 " + toHex(options.rootSha256) +
		      "); its last certificate is " + describe(last) + " (SHA-256 " +
		      toHex(certificateSha256(last)) + ")";
	return nullptr;
}

static std::string verifyFailure(X509_STORE_CTX *ctx)
{
	int err = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *cert = X509_STORE_CTX_get_current_cert(ctx);
	std::string what = cert ? describe(cert) : std::string("?");
	std::string out = "certificate at depth " + std::to_string(depth) + " (" + what +
			  "): " + X509_verify_cert_error_string(err);
	if (cert && (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID))
		out += " (valid " + timeText(X509_get0_notBefore(cert)) + " to " +
		       timeText(X509_get0_notAfter(cert)) + ")";
	return out;
}

ChainVerdict verifyPckChain(const std::vector<X509Ptr> &chain, const QuoteVerifyOptions &options)
{
	ChainVerdict v;
	X509Ptr configured;
	X509 *anchor = findAnchor(chain, options, configured, v.root);
	X509 *leaf = chain.front().get();
	if (!anchor) {
		v.chain.detail = "not verified: no trusted root";
		return v;
	}
	if (X509_check_ca(leaf) != 0 || X509_cmp(leaf, anchor) == 0) {
		v.chain.detail = "the first certificate (" + describe(leaf) + ") is a CA, not a PCK certificate";
		return v;
	}

	X509StorePtr store(X509_STORE_new());
	X509StackPtr untrusted(sk_X509_new_null());
	X509StoreCtxPtr ctx(X509_STORE_CTX_new());
	bool ok = store && untrusted && ctx && X509_STORE_add_cert(store.get(), anchor) == 1;
	for (size_t i = 1; ok && i < chain.size(); ++i)
		ok = sk_X509_push(untrusted.get(), chain[i].get()) > 0;
	ok = ok && X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) == 1;
	if (!ok) {
		v.chain.detail = opensslError("cannot set up certificate verification").message();
		return v;
	}
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx.get());
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	if (options.atTime)
		X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*options.atTime));

	if (X509_verify_cert(ctx.get()) == 1) {
		v.chain.passed = true;
		STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx.get());
		v.chain.detail = std::to_string(sk_X509_num(built)) + " certificates from " + describe(leaf) +
				 " to the root, valid at " +
				 (options.atTime ? "the given time" : "the current time");
	} else {
		v.chain.detail = verifyFailure(ctx.get());
	}
	clearOpensslErrors();
	return v;
}

} // namespace cvm::tdx::internal
