// SPDX-License-Identifier: Apache-2.0
//
// Verification of a TD quote's signatures up to Intel's SGX Root CA:
//   attestation-key-signature  ECDSA P-256 (SHA-256) by the attestation key
//                              over header || [v5 body descriptor] || body
//   qe-report-binding          QE report data = SHA-256(attestation key ||
//                              QE auth data) || 32 zero bytes
//   qe-report-signature        ECDSA P-256 (SHA-256) over the QE report by the
//                              PCK certificate's key
//   root-ca                    the trust anchor: by default the certificate in
//                              the quote's chain whose SHA-256 (DER) is Intel's
//                              SGX Root CA fingerprint; or a configured root
//   pck-chain                  PCK leaf -> intermediate(s) -> anchor, with
//                              OpenSSL's X509 verification (signatures, CA
//                              flags, path length, validity times)
// Every check is run and reported, so a failure names exactly what failed.
//
// Not done here: TCB evaluation (TCB info, QE identity, PCK/root CRLs from
// Intel's PCS). A passing verdict says the quote was produced by a quoting
// enclave holding a genuine Intel PCK key, not that the platform's TCB is
// up to date.
//
// Certificate validity time: checked at `atTime` when set, else at the
// current time. There is deliberately no way to switch time checks off: an
// expired PCK certificate means the host has not refreshed its collateral.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/gptr.h"
#include "cvm/tdx/quote.h"

namespace cvm::tdx {

// SHA-256 of the DER of Intel's SGX Root CA ("Intel SGX Root CA", valid
// 2018-05-21 to 2049-12-31): 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3.
extern const std::array<uint8_t, 32> kIntelSgxRootCaSha256;

struct QuoteVerifyOptions {
	// A trust anchor to use instead of the pinned Intel root (DER). Tests and
	// private PKIs set it; then `rootSha256` is not consulted.
	std::optional<Bytes> rootCaDer;
	// The pinned root, looked up by fingerprint in the quote's own chain.
	std::array<uint8_t, 32> rootSha256 = kIntelSgxRootCaSha256;
	// Seconds since the epoch at which certificate validity is checked.
	std::optional<int64_t> atTime;
};

// Parses a root CA given as PEM or DER (for QuoteVerifyOptions::rootCaDer).
Result<Bytes> loadRootCertificate(ByteView pemOrDer);

enum class QuoteCheckId {
	AttestationKeySignature,
	QeReportBinding,
	QeReportSignature,
	RootCa,
	PckChain,
};

// "attestation-key-signature", "qe-report-binding", ...: also the Error tag.
const char *quoteCheckName(QuoteCheckId id);

struct QuoteCheck {
	QuoteCheckId id;
	bool passed = false;
	std::string detail; // why it failed, or what it established
};

struct CertificateInfo {
	std::string subject;
	std::string issuer;
	std::string notBefore; // ISO 8601, UTC
	std::string notAfter;
	std::array<uint8_t, 32> sha256{};
};

struct QuoteVerification {
	std::vector<QuoteCheck> checks;       // in the order above
	std::vector<CertificateInfo> pckChain; // as carried in the quote, leaf first

	bool ok() const;
	// The first failed check as Error(VerificationFailed, "<name>: <detail>",
	// tag <name>), or success.
	Status status() const;
	// {"verdict": "ok"|"failed", "checks": [...], "pck-chain": [...],
	//  "tcb-evaluated": false}
	JsonNodePtr toJson() const;
};

QuoteVerification verifyQuote(const Quote &quote, const QuoteVerifyOptions &options = {});

} // namespace cvm::tdx
