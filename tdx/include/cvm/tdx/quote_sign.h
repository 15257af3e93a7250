// SPDX-License-Identifier: Apache-2.0
//
// Signing a TD quote the way a quoting enclave does, with keys the caller
// holds. Real quotes come from Intel's QE with a PCK key fused into the
// platform; this is for simulators and tests, which need quotes that bind a
// fresh nonce and chain to a test root (configured with
// QuoteVerifyOptions::rootCaDer).
#pragma once

#include <string>

#include <openssl/evp.h>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/tdx/quote.h"

namespace cvm::tdx {

struct QuoteSigner {
	EVP_PKEY *attestationKey = nullptr; // P-256 private key
	EVP_PKEY *pckKey = nullptr;         // P-256 private key of the PCK certificate
	std::string pckChainPem;            // PCK certificate first, then its issuers
};

// Takes header, body type, body, QE report (except its report data), QE auth
// data from `quote`; sets the attestation key, the QE report binding, the QE
// report signature, the chain and the quote signature; returns the encoded
// quote. The header's version selects v4 or v5.
Result<Bytes> signQuote(Quote quote, const QuoteSigner &signer);

} // namespace cvm::tdx
