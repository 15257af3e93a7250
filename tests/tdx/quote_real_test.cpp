// SPDX-License-Identifier: Apache-2.0
//
// The real production TD quote (v4, Sapphire Rapids) from go-tdx-guest's
// public test data, in the shared fixtures: parsed by its own lengths (it
// carries 39 bytes of junk), verified up to the pinned Intel SGX Root CA, and
// tampered with one byte in each region to see the right check fail.
#include <catch2/catch.hpp>

#include <set>

#include "cvm/tdx/quote_verify.h"
#include "tdx_test_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::tdx;

namespace {

// Offsets in a v4 quote with 32 bytes of QE auth data.
constexpr size_t kSigData = 48 + 584 + 4;     // 636
constexpr size_t kAttestationKey = kSigData + 64;
constexpr size_t kQeReport = kSigData + 128 + 6;
constexpr size_t kQeReportSig = kQeReport + 384;
constexpr size_t kQeAuthData = kQeReportSig + 64 + 2;

// Verification "at" a time inside every certificate's validity.
constexpr int64_t kAt = cvm::test::tdx::kTestNow;

Bytes quoteBytes()
{
	cvm::test::requireFixtures();
	return cvm::test::readFixture("tdx/tdx_prod_quote_SPR_E4.dat");
}

QuoteVerifyOptions at(int64_t t)
{
	QuoteVerifyOptions o;
	o.atTime = t;
	return o;
}

std::set<std::string> failures(const Bytes &bytes, const QuoteVerifyOptions &options = at(kAt))
{
	auto q = parseQuote(bytes);
	REQUIRE(q.ok());
	std::set<std::string> out;
	for (const auto &c : verifyQuote(*q, options).checks)
		if (!c.passed)
			out.insert(quoteCheckName(c.id));
	return out;
}

// Offset of a base64 character in the middle of the second-to-last full line
// of the n-th certificate's PEM (inside its signature).
size_t signatureChar(const Bytes &bytes, int n)
{
	std::string s(bytes.begin(), bytes.end());
	size_t end = 0;
	for (int i = 0; i <= n; ++i)
		end = s.find("-----END CERTIFICATE-----", end + 1);
	REQUIRE(end != std::string::npos);
	size_t lastLineStart = s.rfind('\n', end - 2) + 1;
	size_t prevLineStart = s.rfind('\n', lastLineStart - 2) + 1;
	return prevLineStart + 20;
}

Bytes flipped(Bytes b, size_t offset)
{
	b[offset] ^= 0x01;
	return b;
}

Bytes base64Changed(Bytes b, size_t offset)
{
	b[offset] = b[offset] == 'A' ? 'B' : 'A';
	return b;
}

} // namespace

TEST_CASE("the real v4 quote parses by its lengths")
{
	Bytes bytes = quoteBytes();
	auto q = parseQuote(bytes);
	REQUIRE(q.ok());
	CHECK(q->header.version == 4);
	CHECK(q->header.teeType == 0x81);
	CHECK(q->header.qeVendorId == quote::kIntelQeVendorId);
	CHECK(q->size == 4935);
	CHECK(q->trailingBytes == 39);
	CHECK(std::string(bytes.begin() + 4935, bytes.end()) == "\nextra bytes(only for testing purpose)\n");
	CHECK(q->body.tdAttributes == tdattr::kPks);
	CHECK_FALSE(q->body.teeTcbSvn2.has_value());
	CHECK(q->qeAuthData.size() == 32);
	CHECK(q->qeReport.isvProdId == 2); // the TD quoting enclave
	CHECK(q->pckChainPem.find("-----BEGIN CERTIFICATE-----") == 0);
	// The writer reproduces the quote byte for byte.
	Bytes again = encodeQuote(*q);
	CHECK(again == Bytes(bytes.begin(), bytes.begin() + 4935));
	JsonNodePtr j = quoteToJson(*q);
	JsonObject *body = json_object_get_object_member(json_node_get_object(j.get()), "body");
	CHECK(std::string(json_object_get_string_member(body, "mrtd")) == toHex(q->body.mrTd));
}

TEST_CASE("the real v4 quote verifies up to the pinned Intel SGX Root CA")
{
	Bytes bytes = quoteBytes();
	auto q = parseQuote(bytes);
	REQUIRE(q.ok());
	QuoteVerification v = verifyQuote(*q, at(kAt));
	for (const auto &c : v.checks)
		INFO(quoteCheckName(c.id) << ": " << c.detail);
	CHECK(v.ok());
	CHECK(v.status().ok());
	REQUIRE(v.pckChain.size() == 3);
	CHECK(v.pckChain[0].subject.find("CN=Intel SGX PCK Certificate") != std::string::npos);
	CHECK(v.pckChain[2].sha256 == kIntelSgxRootCaSha256);
	JsonNodePtr j = v.toJson();
	JsonObject *o = json_node_get_object(j.get());
	CHECK(std::string(json_object_get_string_member(o, "verdict")) == "ok");
	CHECK_FALSE(json_object_get_boolean_member(o, "tcb-evaluated"));
}

TEST_CASE("one tampered byte in each region fails the check that covers it")
{
	Bytes b = quoteBytes();
	using S = std::set<std::string>;
	CHECK(failures(b).empty());
	CHECK(failures(flipped(b, 20)) == S{ "attestation-key-signature" });          // header
	CHECK(failures(flipped(b, 48 + 136)) == S{ "attestation-key-signature" });    // body: MRTD
	CHECK(failures(flipped(b, 48 + 520)) == S{ "attestation-key-signature" });    // body: report data
	CHECK(failures(flipped(b, kSigData + 5)) == S{ "attestation-key-signature" }); // quote signature
	CHECK(failures(flipped(b, kAttestationKey + 40)) ==
	      S{ "attestation-key-signature", "qe-report-binding" });
	CHECK(failures(flipped(b, kQeReport + 3)) == S{ "qe-report-signature" }); // QE report: CPUSVN
	CHECK(failures(flipped(b, kQeReport + 320)) == S{ "qe-report-signature", "qe-report-binding" });
	CHECK(failures(flipped(b, kQeReportSig + 10)) == S{ "qe-report-signature" });
	CHECK(failures(flipped(b, kQeAuthData + 7)) == S{ "qe-report-binding" });
	CHECK(failures(base64Changed(b, signatureChar(b, 0))) == S{ "pck-chain" }); // PCK certificate
	CHECK(failures(base64Changed(b, signatureChar(b, 1))) == S{ "pck-chain" }); // platform CA
	CHECK(failures(base64Changed(b, signatureChar(b, 2))) == S{ "root-ca", "pck-chain" }); // root
	CHECK(failures(flipped(b, b.size() - 5)).empty()); // the trailing junk is not part of the quote
}

TEST_CASE("a damaged structure is a parse error naming the structure")
{
	Bytes b = quoteBytes();
	Bytes len = b;
	storeLe32(len, 632, 100000);
	CHECK_THAT(parseQuote(len).error().message(), Catch::Contains("TD quote is truncated: signature data"));
	Bytes type = b;
	storeLe16(type, kSigData + 128, 5);
	CHECK_THAT(parseQuote(type).error().message(), Catch::Contains("certification data type 5, expected 6"));
	Bytes tee = b;
	tee[4] = 0;
	CHECK_THAT(parseQuote(tee).error().message(), Catch::Contains("TEE type 0x0 is not TDX"));
}

TEST_CASE("certificate validity is checked at the given time")
{
	Bytes b = quoteBytes();
	// The PCK certificate is valid from 2022-09-20 to 2029-09-20.
	auto q = parseQuote(b);
	REQUIRE(q.ok());
	QuoteVerification late = verifyQuote(*q, at(1893456000)); // 2030-01-01
	CHECK_FALSE(late.ok());
	CHECK_THAT(late.checks[4].detail, Catch::Contains("certificate has expired") &&
						   Catch::Contains("Intel SGX PCK Certificate"));
	CHECK(late.status().error().tag() == "pck-chain");
	QuoteVerification early = verifyQuote(*q, at(1577836800)); // 2020-01-01
	CHECK_THAT(early.checks[4].detail, Catch::Contains("not yet valid"));
}

TEST_CASE("the root is pinned by fingerprint, or configured")
{
	Bytes b = quoteBytes();
	auto q = parseQuote(b);
	REQUIRE(q.ok());
	QuoteVerifyOptions pin = at(kAt);
	pin.rootSha256.fill(0);
	QuoteVerification v = verifyQuote(*q, pin);
	CHECK(failures(b, pin) == std::set<std::string>{ "root-ca", "pck-chain" });
	CHECK_THAT(v.status().error().message(), Catch::Contains("root-ca: the chain does not contain the pinned root"));

	// The same root given explicitly (PEM of the quote's own last certificate).
	std::string pem = q->pckChainPem;
	size_t rootStart = pem.rfind("-----BEGIN CERTIFICATE-----");
	auto der = loadRootCertificate(asBytes(pem.substr(rootStart)));
	REQUIRE(der.ok());
	QuoteVerifyOptions configured = at(kAt);
	configured.rootCaDer = *der;
	configured.rootSha256.fill(0); // not consulted
	CHECK(verifyQuote(*q, configured).ok());

	// Another root: the chain does not lead there.
	auto other = cvm::test::tdx::makeTestPki();
	configured.rootCaDer = other.rootDer();
	CHECK(failures(b, configured) == std::set<std::string>{ "pck-chain" });
	CHECK_FALSE(loadRootCertificate(asBytes("not a certificate")).ok());
}
