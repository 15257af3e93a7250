// SPDX-License-Identifier: Apache-2.0
//
// The intel-tdx half of the attestation server API v1 (docs/api.md,
// "Intel TDX"):
//
//   PUT  /v1/vm/{id}                       {"scheme": "intel-tdx", "tdx-reference": {...}, ...}
//   POST /v1/vm/{id}/tdx/launch            {}  ->  201 TdxLaunchResponse (launch id + nonce
//                                          + the launch configuration the host must set)
//   POST /v1/vm/{id}/launch/{lid}/quote    TdxQuoteRequest  ->  200 TdxQuoteResponse
//   POST /v1/vm/{id}/launch/{lid}/end      as for SEV
//
// Binding: the TD generates a P-256 key pair and asks for a TD report with
//   report_data = SHA-512(nonce || tee-public-key)
// (tee-public-key: the 65-byte uncompressed SEC1 point), gets it quoted, and
// posts quote + public key. The AS verifies the quote (signatures, PCK chain
// to the configured root), appraises the TD against the registered reference
// values and the binding, and answers with the VM's secrets encrypted to that
// key (tdx_secrets.h), so only the TD that produced the report can read them
// even when the host relays the messages.
#pragma once

#include <cstdint>
#include <string>

#include "cvm/attest/protocol.h"

namespace cvm::attest {

inline constexpr size_t kTdxNonceSize = 32;
inline constexpr size_t kTdxTeeKeySize = 65; // 0x04 || x || y
inline constexpr size_t kMaxTdxQuote = 64 * 1024;
// What the response says the report data must be (informative).
inline constexpr std::string_view kTdxReportDataBinding = "sha512(nonce || tee-public-key)";

struct TdxLaunchResponse {
	std::string launchId;
	Bytes nonce; // kTdxNonceSize random bytes, single use
	int64_t expiresAt = 0;
	// "launch-config": what the host sets when it creates the TD, from the
	// registration (tdx::launchValuesOf: td-attributes, mrconfigid, mrowner,
	// mrownerconfig; absent members = QEMU's defaults). Not secret; the
	// quote appraisal checks the TD was created with exactly these, so a
	// host that changes them only gets its launch refused.
	tdx::ReferenceValues launchConfig;
};

struct TdxQuoteRequest {
	Bytes quote;        // TD quote v4/v5, as the QGS returned it
	Bytes teePublicKey; // kTdxTeeKeySize bytes
};

// The VM's secrets (the SEV secret-table encoding: GUID || u32 LE length ||
// bytes per entry) encrypted to the TD's key; see tdx_secrets.h.
struct TdxWrappedSecrets {
	Bytes ephemeralPublicKey; // kTdxTeeKeySize bytes
	Bytes iv;                 // 12 bytes
	Bytes ciphertext;         // AES-256-GCM, 16-byte tag appended
};

struct TdxQuoteResponse {
	bool hasSecret = false;
	TdxWrappedSecrets secrets;
};

Result<TdxQuoteRequest> parseTdxQuoteRequest(JsonObject *obj);
JsonNodePtr tdxQuoteRequestToJson(const TdxQuoteRequest &request);

JsonNodePtr tdxLaunchResponseToJson(const TdxLaunchResponse &response);
Result<TdxLaunchResponse> parseTdxLaunchResponse(JsonObject *obj);
JsonNodePtr tdxQuoteResponseToJson(const TdxQuoteResponse &response);
Result<TdxQuoteResponse> parseTdxQuoteResponse(JsonObject *obj);

} // namespace cvm::attest
