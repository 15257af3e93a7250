// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/quote_sign.h"

#include <cstring>

#include "cvm/common/digest.h"
#include "ecdsa_p256.h"

namespace cvm::tdx {

Result<Bytes> signQuote(Quote quote, const QuoteSigner &signer)
{
	if (!signer.attestationKey || !signer.pckKey)
		return Error(ErrorCode::InvalidArgument, "signing a quote needs an attestation key and a PCK key");
	Bytes ak = CVM_TRY(internal::p256PublicKeyXY(signer.attestationKey));
	std::memcpy(quote.attestationKey.data(), ak.data(), ak.size());

	Bytes binding = CVM_TRY(digest(DigestAlgorithm::Sha256, { ak, quote.qeAuthData }));
	quote.qeReport.reportData.fill(0);
	std::memcpy(quote.qeReport.reportData.data(), binding.data(), binding.size());
	Bytes qeSig = CVM_TRY(internal::signEcdsaSha256(signer.pckKey, encodeQeReport(quote.qeReport)));
	std::memcpy(quote.qeReportSignature.data(), qeSig.data(), qeSig.size());
	quote.pckChainPem = signer.pckChainPem;

	Bytes sig = CVM_TRY(internal::signEcdsaSha256(signer.attestationKey, encodeQuoteSignedRegion(quote)));
	std::memcpy(quote.signature.data(), sig.data(), sig.size());
	return encodeQuote(quote);
}

} // namespace cvm::tdx
