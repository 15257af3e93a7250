// SPDX-License-Identifier: Apache-2.0
//
// Appraisal of a TD quote for a launch: the quote verifies (quote_verify.h),
// its TD is not a debug TD, its measurements match the owner's reference
// values, and its report data binds the attestation server's nonce.
//
// Report-data binding (the TD computes it and passes it to TDG.MR.REPORT):
//   Sha512  report_data = SHA-512(nonce || bound data)   (the default)
//   Raw     report_data = nonce || bound data || zeros    (at most 64 bytes;
//           the convention of go-tdx-guest and GCE's tools)
// "Bound data" is optional extra the TD commits to, e.g. the public key the
// AS should wrap the secret for; empty by default.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/gptr.h"
#include "cvm/tdx/quote.h"
#include "cvm/tdx/quote_verify.h"
#include "cvm/tdx/reference.h"

namespace cvm::tdx {

enum class ReportDataBinding { Sha512, Raw };

// Fails on an empty nonce, or (Raw) when nonce and bound data exceed 64 bytes.
Result<std::array<uint8_t, 64>> expectedReportData(ReportDataBinding binding, ByteView nonce,
						   ByteView boundData = {});

struct AppraisalOptions {
	QuoteVerifyOptions verify;
	ReportDataBinding binding = ReportDataBinding::Sha512;
	// Debug TDs (TD attributes bit 0) expose their memory and registers to
	// the host; refused unless explicitly allowed.
	bool allowDebug = false;
};

// One comparison against the owner's expectations. Names: "tdx.mrtd",
// "tdx.rtmr0".., "tdx.mrconfigid", "tdx.mrowner", "tdx.mrownerconfig",
// "tdx.td-attributes", "tdx.xfam", "debug", "report-data".
struct ValueCheck {
	std::string name;
	bool passed = false;
	std::string detail;
	// The error tag for the AS: "measurement-mismatch" (MRTD, RTMRs),
	// "config-mismatch" (MRCONFIGID, MROWNER, MROWNERCONFIG),
	// "policy-mismatch" (attributes, XFAM, debug), "nonce-mismatch".
	std::string tag;
};

struct Appraisal {
	QuoteVerification verification;
	std::vector<ValueCheck> values;

	bool ok() const;
	// The first failure: a quote check (tag = its check name) or a value
	// check (tag as above), as Error(VerificationFailed).
	Status status() const;
	JsonNodePtr toJson() const;
};

Appraisal appraiseQuote(const Quote &quote, const ReferenceValues &reference, ByteView nonce,
			ByteView boundData = {}, const AppraisalOptions &options = {});

} // namespace cvm::tdx
