// SPDX-License-Identifier: Apache-2.0
// Fuzzes the TD quote parser (v4/v5, signature data, certification data types
// 6 and 5) and, for what parses, the JSON view, the writer and the
// verification (ECDSA keys and the PEM chain are untrusted input too).
#include <cstdint>

#include "cvm/tdx/quote.h"
#include "cvm/tdx/quote_verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::tdx;
	auto q = parseQuote(cvm::ByteView(data, size));
	if (!q.ok())
		return 0;
	if (q->size + q->trailingBytes != size)
		__builtin_trap();
	(void)quoteToJson(*q);
	// The writer re-encodes what the parser read; that parses to the same
	// signed region and QE report fields (the QE report's reserved areas are
	// not kept: see encodeQeReport).
	cvm::Bytes again = encodeQuote(*q);
	auto back = parseQuote(again);
	if (!back.ok() || back->signedRegion != q->signedRegion ||
	    encodeQeReport(back->qeReport) != encodeQeReport(q->qeReport) || back->qeAuthData != q->qeAuthData ||
	    back->pckChainPem != q->pckChainPem || back->signature != q->signature)
		__builtin_trap();
	QuoteVerifyOptions options;
	options.atTime = 1767225600;
	QuoteVerification v = verifyQuote(*q, options);
	(void)v.toJson();
	(void)v.status();
	return 0;
}
