// SPDX-License-Identifier: Apache-2.0
//
// Internal: the PCK certificate chain of a quote — PEM parsing, choice of the
// trust anchor (pinned fingerprint or configured root) and X509 verification.
#pragma once

#include <vector>

#include "cvm/common/ossl.h"
#include "cvm/tdx/quote_verify.h"

namespace cvm::tdx::internal {

// All certificates of a PEM bundle, in order. Fails on no certificate, a
// damaged PEM block, or more than 8 certificates.
Result<std::vector<X509Ptr>> parsePemChain(std::string_view pem);

CertificateInfo certificateInfo(X509 *cert);
std::array<uint8_t, 32> certificateSha256(X509 *cert);

struct ChainVerdict {
	QuoteCheck root{ QuoteCheckId::RootCa };
	QuoteCheck chain{ QuoteCheckId::PckChain };
};

// Picks the anchor and verifies chain[0] (the PCK leaf) up to it.
ChainVerdict verifyPckChain(const std::vector<X509Ptr> &chain, const QuoteVerifyOptions &options);

} // namespace cvm::tdx::internal
