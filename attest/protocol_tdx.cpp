// SPDX-License-Identifier: Apache-2.0
//
// intel-tdx registrations ("tdx-reference") and the TDX launch / quote bodies.
#define G_LOG_DOMAIN "cvm-attest"

#include "cvm/attest/protocol_tdx.h"

#include "cvm/common/json.h"
#include "cvm/tdx/launch_config.h"
#include "protocol_internal.h"

namespace cvm::attest {

namespace detail {

Result<tdx::ReferenceValues> parseTdxReference(JsonObject *obj, bool strict)
{
	JsonObject *member = CVM_TRY(json::getObject(obj, "tdx-reference"));
	// A whole reference document (cvm-launch tdx reference --json) or its
	// "reference-values" object.
	std::string text = json::serialize(member);
	auto doc = tdx::referenceDocumentFromJson(text);
	if (!doc)
		return Error(ErrorCode::InvalidData, "member 'tdx-reference': " + doc.error().message());
	if (strict && doc->values.mrtd.empty())
		return Error(ErrorCode::InvalidData,
			     "member 'tdx-reference' must name at least one tdx.mrtd (else any firmware would pass)");
	if (doc->values.mrtd.size() > kMaxLaunchDigests)
		return Error(ErrorCode::InvalidData, "member 'tdx-reference' lists more than " +
							     std::to_string(kMaxLaunchDigests) + " MRTDs");
	return doc->values;
}

void addTdxReference(json::ObjectBuilder &b, const tdx::ReferenceValues &ref)
{
	b.setNode("tdx-reference", tdx::referenceValuesToJson(ref));
}

} // namespace detail

using namespace detail;

Result<TdxQuoteRequest> parseTdxQuoteRequest(JsonObject *obj)
{
	CVM_CHECK(onlyMembers(obj, { "quote", "tee-public-key" }));
	TdxQuoteRequest r;
	r.quote = CVM_TRY(getBase64Bounded(obj, "quote", 1, kMaxTdxQuote));
	r.teePublicKey = CVM_TRY(getBase64Bounded(obj, "tee-public-key", kTdxTeeKeySize, kTdxTeeKeySize));
	if (r.teePublicKey[0] != 0x04)
		return Error(ErrorCode::InvalidData,
			     "member 'tee-public-key' must be an uncompressed P-256 point (first byte 0x04)");
	return r;
}

JsonNodePtr tdxQuoteRequestToJson(const TdxQuoteRequest &request)
{
	json::ObjectBuilder b;
	b.setBase64("quote", request.quote);
	b.setBase64("tee-public-key", request.teePublicKey);
	return b.build();
}

JsonNodePtr tdxLaunchResponseToJson(const TdxLaunchResponse &r)
{
	json::ObjectBuilder b;
	b.setString("launch-id", r.launchId);
	b.setBase64("nonce", r.nonce);
	b.setString("report-data", kTdxReportDataBinding);
	b.setString("expires", formatTime(r.expiresAt));
	b.setNode("launch-config", tdx::referenceValuesToJson(tdx::launchValuesOf(r.launchConfig)));
	return b.build();
}

Result<TdxLaunchResponse> parseTdxLaunchResponse(JsonObject *obj)
{
	TdxLaunchResponse r;
	r.launchId = CVM_TRY(json::getString(obj, "launch-id"));
	r.nonce = CVM_TRY(getBase64Bounded(obj, "nonce", kTdxNonceSize, kTdxNonceSize));
	r.expiresAt = CVM_TRY(getOptionalTime(obj, "expires")).value_or(0);
	if (json_object_has_member(obj, "launch-config")) {
		JsonObject *config = CVM_TRY(json::getObject(obj, "launch-config"));
		auto values = tdx::referenceValuesFromJson(config);
		if (!values)
			return values.error().withContext("member 'launch-config'");
		// Only launch configuration (whether QEMU accepts it is the
		// orchestrator's check, with a message for the admin).
		if (auto st = tdx::checkLaunchValuesOnly(*values); !st)
			return st.error().withContext("member 'launch-config'");
		r.launchConfig = std::move(values).value();
	}
	return r;
}

JsonNodePtr tdxQuoteResponseToJson(const TdxQuoteResponse &r)
{
	json::ObjectBuilder b;
	b.setBool("secret", r.hasSecret);
	if (r.hasSecret) {
		json::ObjectBuilder w;
		w.setString("algorithm", "ECDH-P256+HKDF-SHA256+AES-256-GCM");
		w.setBase64("ephemeral-public-key", r.secrets.ephemeralPublicKey);
		w.setBase64("iv", r.secrets.iv);
		w.setBase64("ciphertext", r.secrets.ciphertext);
		b.setObject("wrapped-secrets", std::move(w));
	}
	return b.build();
}

Result<TdxQuoteResponse> parseTdxQuoteResponse(JsonObject *obj)
{
	TdxQuoteResponse r;
	r.hasSecret = CVM_TRY(json::getBool(obj, "secret"));
	if (!r.hasSecret)
		return r;
	JsonObject *w = CVM_TRY(json::getObject(obj, "wrapped-secrets"));
	r.secrets.ephemeralPublicKey = CVM_TRY(getBase64Bounded(w, "ephemeral-public-key", kTdxTeeKeySize, kTdxTeeKeySize));
	r.secrets.iv = CVM_TRY(getBase64Bounded(w, "iv", 12, 12));
	r.secrets.ciphertext = CVM_TRY(getBase64Bounded(w, "ciphertext", 16, kMaxSecretsTotal + 4096));
	return r;
}

} // namespace cvm::attest
