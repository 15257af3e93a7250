// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/appraisal.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cvm/common/digest.h"
#include "cvm/common/json.h"

namespace cvm::tdx {

namespace {

std::string hex64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
	return buf;
}

ValueCheck digestCheck(const std::string &name, const std::string &tag, const Sha384Digest &actual,
		       const std::vector<Sha384Digest> &accepted)
{
	ValueCheck c{ name, false, {}, tag };
	for (const auto &a : accepted)
		if (a == actual)
			c.passed = true;
	if (c.passed)
		c.detail = toHex(actual);
	else if (accepted.size() == 1)
		c.detail = "the quote has " + toHex(actual) + ", expected " + toHex(accepted[0]);
	else
		c.detail = "the quote has " + toHex(actual) + ", which is none of the " +
			   std::to_string(accepted.size()) + " accepted values";
	return c;
}

ValueCheck u64Check(const std::string &name, uint64_t actual, uint64_t expected)
{
	ValueCheck c{ name, actual == expected, {}, "policy-mismatch" };
	c.detail = c.passed ? hex64(actual) : "the quote has " + hex64(actual) + ", expected " + hex64(expected);
	return c;
}

void measurementChecks(const TdReportBody &b, const ReferenceValues &ref, std::vector<ValueCheck> &out)
{
	if (!ref.mrtd.empty())
		out.push_back(digestCheck("tdx.mrtd", "measurement-mismatch", b.mrTd, ref.mrtd));
	for (size_t i = 0; i < 4; ++i)
		if (ref.rtmr[i])
			out.push_back(digestCheck("tdx.rtmr" + std::to_string(i), "measurement-mismatch", b.rtmr[i],
						  { *ref.rtmr[i] }));
	if (ref.mrConfigId)
		out.push_back(digestCheck("tdx.mrconfigid", "config-mismatch", b.mrConfigId, { *ref.mrConfigId }));
	if (ref.mrOwner)
		out.push_back(digestCheck("tdx.mrowner", "config-mismatch", b.mrOwner, { *ref.mrOwner }));
	if (ref.mrOwnerConfig)
		out.push_back(digestCheck("tdx.mrownerconfig", "config-mismatch", b.mrOwnerConfig,
					  { *ref.mrOwnerConfig }));
	if (ref.tdAttributes)
		out.push_back(u64Check("tdx.td-attributes", b.tdAttributes, *ref.tdAttributes));
	if (ref.xfam)
		out.push_back(u64Check("tdx.xfam", b.xfam, *ref.xfam));
}

ValueCheck reportDataCheck(const TdReportBody &b, ByteView nonce, ByteView boundData, ReportDataBinding binding)
{
	ValueCheck c{ "report-data", false, {}, "nonce-mismatch" };
	auto expected = expectedReportData(binding, nonce, boundData);
	if (!expected) {
		c.detail = expected.error().message();
		return c;
	}
	c.passed = constantTimeEqual(*expected, b.reportData);
	c.detail = c.passed ? "binds the nonce"
			    : std::string("the report data does not bind this nonce (expected ") +
				      (binding == ReportDataBinding::Sha512 ? "SHA-512(nonce || bound data)"
									    : "nonce || bound data || zeros") +
				      "): a replayed or foreign quote";
	return c;
}

JsonNodePtr valuesJson(const std::vector<ValueCheck> &values)
{
	JsonArrayPtr a(json_array_new());
	for (const auto &v : values) {
		json::ObjectBuilder b;
		b.setString("check", v.name).setBool("passed", v.passed).setString("detail", v.detail);
		if (!v.passed)
			b.setString("code", v.tag);
		json_array_add_element(a.get(), b.build().release());
	}
	JsonNodePtr n(json_node_alloc());
	json_node_init_array(n.get(), a.get());
	return n;
}

} // namespace

Result<std::array<uint8_t, 64>> expectedReportData(ReportDataBinding binding, ByteView nonce, ByteView boundData)
{
	if (nonce.empty())
		return Error(ErrorCode::InvalidArgument, "the nonce is empty");
	std::array<uint8_t, 64> out{};
	if (binding == ReportDataBinding::Sha512) {
		Bytes d = CVM_TRY(digest(DigestAlgorithm::Sha512, { nonce, boundData }));
		std::memcpy(out.data(), d.data(), out.size());
		return out;
	}
	if (nonce.size() + boundData.size() > out.size())
		return Error(ErrorCode::InvalidArgument,
			     "nonce and bound data (" + std::to_string(nonce.size() + boundData.size()) +
				     " bytes) do not fit the 64-byte report data");
	std::memcpy(out.data(), nonce.data(), nonce.size());
	if (!boundData.empty())
		std::memcpy(out.data() + nonce.size(), boundData.data(), boundData.size());
	return out;
}

bool Appraisal::ok() const
{
	return verification.ok() &&
	       std::all_of(values.begin(), values.end(), [](const ValueCheck &v) { return v.passed; });
}

Status Appraisal::status() const
{
	CVM_CHECK(verification.status());
	for (const auto &v : values)
		if (!v.passed)
			return Error(ErrorCode::VerificationFailed, v.name + ": " + v.detail, v.tag);
	return {};
}

JsonNodePtr Appraisal::toJson() const
{
	json::ObjectBuilder b;
	b.setString("verdict", ok() ? "ok" : "failed")
		.setNode("quote", verification.toJson())
		.setNode("values", valuesJson(values));
	return b.build();
}

Appraisal appraiseQuote(const Quote &quote, const ReferenceValues &reference, ByteView nonce, ByteView boundData,
			const AppraisalOptions &options)
{
	Appraisal a;
	a.verification = verifyQuote(quote, options.verify);
	const TdReportBody &b = quote.body;
	bool debug = b.tdAttributes & tdattr::kDebug;
	a.values.push_back({ "debug", !debug || options.allowDebug,
			     debug ? (options.allowDebug ? "debug TD (allowed)"
							 : "the TD runs in debug mode: the host can read its memory")
				   : "not a debug TD",
			     "policy-mismatch" });
	measurementChecks(b, reference, a.values);
	a.values.push_back(reportDataCheck(b, nonce, boundData, options.binding));
	return a;
}

} // namespace cvm::tdx
