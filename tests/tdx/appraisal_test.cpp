// SPDX-License-Identifier: Apache-2.0
//
// Appraisal of a quote for a launch: quote checks, debug TDs, reference
// values, and the report data binding the AS nonce. Quotes are signed by a
// test PCK chain here, because real hardware cannot sign our nonces.
#include <catch2/catch.hpp>

#include "cvm/tdx/appraisal.h"
#include "tdx_test_support.h"

using namespace cvm;
using namespace cvm::tdx;
using namespace cvm::test::tdx;

namespace {

const TestPki &pki()
{
	static TestPki p = makeTestPki();
	return p;
}

const Bytes kNonce = Bytes(32, 0x5a);

AppraisalOptions options(ReportDataBinding binding = ReportDataBinding::Sha512)
{
	AppraisalOptions o;
	o.verify.rootCaDer = pki().rootDer();
	o.verify.atTime = kTestNow;
	o.binding = binding;
	return o;
}

// A quote whose TD put `reportData` into its report.
Quote quoteWith(std::array<uint8_t, 64> reportData, uint64_t tdAttributes = tdattr::kSeptVeDisable)
{
	Quote q = sampleQuote(4);
	q.body.reportData = reportData;
	q.body.tdAttributes = tdAttributes;
	return parseQuote(signWith(pki(), q)).value();
}

ReferenceValues referenceFor(const Quote &q)
{
	ReferenceValues r;
	r.mrtd = { q.body.mrTd };
	for (size_t i = 0; i < 4; ++i)
		r.rtmr[i] = q.body.rtmr[i];
	r.mrConfigId = q.body.mrConfigId;
	r.mrOwner = q.body.mrOwner;
	r.mrOwnerConfig = q.body.mrOwnerConfig;
	r.tdAttributes = q.body.tdAttributes;
	r.xfam = q.body.xfam;
	return r;
}

std::string failedTag(const Appraisal &a)
{
	Status s = a.status();
	REQUIRE_FALSE(s.ok());
	return s.error().tag();
}

} // namespace

TEST_CASE("report data binding: SHA-512(nonce || data) or the raw nonce")
{
	auto sha = expectedReportData(ReportDataBinding::Sha512, asBytes("nonce"), asBytes("key"));
	REQUIRE(sha.ok());
	CHECK(Bytes(sha->begin(), sha->end()) == digestOf(0x000d, asBytes("noncekey")));
	auto raw = expectedReportData(ReportDataBinding::Raw, asBytes("nonce"), asBytes("key"));
	REQUIRE(raw.ok());
	CHECK(std::string(raw->begin(), raw->begin() + 8) == "noncekey");
	CHECK(std::all_of(raw->begin() + 8, raw->end(), [](uint8_t b) { return b == 0; }));
	CHECK(expectedReportData(ReportDataBinding::Raw, Bytes(64, 1)).ok());
	CHECK_THAT(expectedReportData(ReportDataBinding::Raw, Bytes(60, 1), Bytes(5, 1)).error().message(),
		   Catch::Contains("do not fit"));
	CHECK_THAT(expectedReportData(ReportDataBinding::Sha512, {}).error().message(), Catch::Contains("empty"));
}

TEST_CASE("a quote that binds the nonce and matches the reference values passes")
{
	Quote q = quoteWith(expectedReportData(ReportDataBinding::Sha512, kNonce).value());
	Appraisal a = appraiseQuote(q, referenceFor(q), kNonce, {}, options());
	for (const auto &v : a.values)
		INFO(v.name << ": " << v.detail);
	CHECK(a.ok());
	CHECK(a.status().ok());
	CHECK(a.values.size() == 1 + 1 + 4 + 3 + 2 + 1); // debug, MRTD, RTMRs, MR*, attributes, report data
	JsonNodePtr j = a.toJson();
	CHECK(std::string(json_object_get_string_member(json_node_get_object(j.get()), "verdict")) == "ok");

	// Empty reference values check only the quote, debug and the nonce.
	Appraisal minimal = appraiseQuote(q, ReferenceValues(), kNonce, {}, options());
	CHECK(minimal.ok());
	CHECK(minimal.values.size() == 2);
}

TEST_CASE("each mismatch fails with its name and tag")
{
	Quote q = quoteWith(expectedReportData(ReportDataBinding::Sha512, kNonce).value());
	ReferenceValues good = referenceFor(q);
	Sha384Digest other{};
	other.fill(0xee);

	ReferenceValues r = good;
	r.mrtd = { other, other };
	Appraisal a = appraiseQuote(q, r, kNonce, {}, options());
	CHECK(failedTag(a) == "measurement-mismatch");
	CHECK_THAT(a.status().error().message(), Catch::Contains("tdx.mrtd") && Catch::Contains("none of the 2"));
	r.mrtd = { other, q.body.mrTd }; // any of the accepted values
	CHECK(appraiseQuote(q, r, kNonce, {}, options()).ok());

	r = good;
	r.rtmr[2] = other;
	a = appraiseQuote(q, r, kNonce, {}, options());
	CHECK(failedTag(a) == "measurement-mismatch");
	CHECK_THAT(a.status().error().message(), Catch::StartsWith("tdx.rtmr2: "));

	r = good;
	r.mrConfigId = other;
	CHECK(failedTag(appraiseQuote(q, r, kNonce, {}, options())) == "config-mismatch");
	r = good;
	r.mrOwnerConfig = other;
	CHECK(failedTag(appraiseQuote(q, r, kNonce, {}, options())) == "config-mismatch");
	r = good;
	r.tdAttributes = 0;
	CHECK(failedTag(appraiseQuote(q, r, kNonce, {}, options())) == "policy-mismatch");
	r = good;
	r.xfam = 3;
	CHECK(failedTag(appraiseQuote(q, r, kNonce, {}, options())) == "policy-mismatch");
}

TEST_CASE("the nonce must be bound, with the binding the AS expects")
{
	Quote q = quoteWith(expectedReportData(ReportDataBinding::Sha512, kNonce, asBytes("pubkey")).value());
	ReferenceValues r = referenceFor(q);
	CHECK(appraiseQuote(q, r, kNonce, asBytes("pubkey"), options()).ok());
	Appraisal other = appraiseQuote(q, r, Bytes(32, 0x5b), asBytes("pubkey"), options());
	CHECK(failedTag(other) == "nonce-mismatch");
	CHECK(failedTag(appraiseQuote(q, r, kNonce, {}, options())) == "nonce-mismatch");
	CHECK(failedTag(appraiseQuote(q, r, kNonce, asBytes("pubkey"), options(ReportDataBinding::Raw))) ==
	      "nonce-mismatch");

	Quote raw = quoteWith(expectedReportData(ReportDataBinding::Raw, kNonce).value());
	CHECK(appraiseQuote(raw, referenceFor(raw), kNonce, {}, options(ReportDataBinding::Raw)).ok());
}

TEST_CASE("debug TDs are refused unless allowed")
{
	auto rd = expectedReportData(ReportDataBinding::Sha512, kNonce).value();
	Quote q = quoteWith(rd, tdattr::kDebug | tdattr::kSeptVeDisable);
	Appraisal a = appraiseQuote(q, ReferenceValues(), kNonce, {}, options());
	CHECK(failedTag(a) == "policy-mismatch");
	CHECK_THAT(a.status().error().message(), Catch::StartsWith("debug: "));
	AppraisalOptions allow = options();
	allow.allowDebug = true;
	CHECK(appraiseQuote(q, ReferenceValues(), kNonce, {}, allow).ok());
}

TEST_CASE("a quote that does not verify fails before any value")
{
	Quote q = quoteWith(expectedReportData(ReportDataBinding::Sha512, kNonce).value());
	AppraisalOptions intel = options();
	intel.verify.rootCaDer.reset(); // the Intel pin: our test chain is refused
	Appraisal a = appraiseQuote(q, referenceFor(q), kNonce, {}, intel);
	CHECK_FALSE(a.ok());
	CHECK(failedTag(a) == "root-ca");
	// The values are still evaluated and reported.
	CHECK(std::all_of(a.values.begin(), a.values.end(), [](const ValueCheck &v) { return v.passed; }));
}
