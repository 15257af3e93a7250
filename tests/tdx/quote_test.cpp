// SPDX-License-Identifier: Apache-2.0
//
// Quotes made here (v4, v5 with TDX 1.0 and 1.5 bodies) signed by a test PCK
// hierarchy generated in the test: every field round-trips, they verify with
// the test root configured, and every structural and cryptographic error
// path is reported as what it is.
#include <catch2/catch.hpp>

#include <set>

#include "cvm/tdx/quote_sign.h"
#include "cvm/tdx/quote_verify.h"
#include "tdx_test_support.h"

using namespace cvm;
using namespace cvm::tdx;
using namespace cvm::test::tdx;

namespace {

QuoteVerifyOptions testRoot(const TestPki &pki)
{
	QuoteVerifyOptions o;
	o.rootCaDer = pki.rootDer();
	o.atTime = kTestNow;
	return o;
}

std::set<std::string> failures(const Bytes &bytes, const QuoteVerifyOptions &o)
{
	auto q = parseQuote(bytes);
	REQUIRE(q.ok());
	std::set<std::string> out;
	for (const auto &c : verifyQuote(*q, o).checks)
		if (!c.passed)
			out.insert(quoteCheckName(c.id));
	return out;
}

std::string detailOf(const Bytes &bytes, const QuoteVerifyOptions &o, QuoteCheckId id)
{
	auto q = parseQuote(bytes);
	REQUIRE(q.ok());
	for (const auto &c : verifyQuote(*q, o).checks)
		if (c.id == id)
			return c.detail;
	return {};
}

std::string parseError(const Bytes &bytes)
{
	auto q = parseQuote(bytes);
	REQUIRE_FALSE(q.ok());
	CHECK(q.error().code() == ErrorCode::InvalidData);
	return q.error().message();
}

const TestPki &pki()
{
	static TestPki p = makeTestPki();
	return p;
}

// Offsets in a signed v4 sample quote (32 bytes of QE auth data).
constexpr size_t kSigLen = 632;
constexpr size_t kCertType = 636 + 128;
constexpr size_t kCertSize = kCertType + 2;
constexpr size_t kQeAuthLen = kCertType + 6 + 384 + 64;
constexpr size_t kPckType = kQeAuthLen + 2 + 32;
constexpr size_t kPckSize = kPckType + 2;

} // namespace

TEST_CASE("quotes of every version and body type round-trip and verify")
{
	struct Kind {
		uint16_t version, bodyType;
		size_t bodyOffset, bodySize;
	};
	for (Kind k : { Kind{ 4, 2, 48, 584 }, Kind{ 5, 2, 54, 584 }, Kind{ 5, 3, 54, 648 } }) {
		INFO("v" << k.version << " body type " << k.bodyType);
		Quote sample = sampleQuote(k.version, k.bodyType);
		Bytes bytes = signWith(pki(), sample);
		auto q = parseQuote(bytes);
		REQUIRE(q.ok());
		CHECK(q->header.version == k.version);
		CHECK(q->bodyType == k.bodyType);
		CHECK(q->signedRegion.size() == k.bodyOffset + k.bodySize);
		CHECK(q->body.mrTd == sample.body.mrTd);
		CHECK(q->body.rtmr[3] == sample.body.rtmr[3]);
		CHECK(q->body.reportData == sample.body.reportData);
		CHECK(q->body.tdAttributes == sample.body.tdAttributes);
		CHECK(q->body.xfam == sample.body.xfam);
		CHECK(q->body.mrServiceTd == sample.body.mrServiceTd);
		CHECK(q->header.userData == sample.header.userData);
		CHECK(q->qeReport.mrSigner == sample.qeReport.mrSigner);
		CHECK(q->qeAuthData == sample.qeAuthData);
		CHECK(q->trailingBytes == 0);
		// The MRTD field sits where the spec puts it.
		CHECK(Bytes(bytes.begin() + k.bodyOffset + 136, bytes.begin() + k.bodyOffset + 184) ==
		      Bytes(sample.body.mrTd.begin(), sample.body.mrTd.end()));
		QuoteVerification v = verifyQuote(*q, testRoot(pki()));
		for (const auto &c : v.checks)
			INFO(quoteCheckName(c.id) << ": " << c.detail);
		CHECK(v.ok());
		// Without the test root configured, the Intel pin refuses it.
		QuoteVerifyOptions intel;
		intel.atTime = kTestNow;
		CHECK(failures(bytes, intel) == std::set<std::string>{ "root-ca", "pck-chain" });
	}
}

TEST_CASE("bytes after the quote are counted and ignored")
{
	Bytes bytes = signWith(pki(), sampleQuote(4));
	size_t size = bytes.size();
	bytes.resize(size + 100, 0);
	auto q = parseQuote(bytes);
	REQUIRE(q.ok());
	CHECK(q->size == size);
	CHECK(q->trailingBytes == 100);
	CHECK(verifyQuote(*q, testRoot(pki())).ok());
}

TEST_CASE("structural errors name the structure and the field")
{
	Bytes good = signWith(pki(), sampleQuote(4));
	auto with = [&good](size_t off, auto store) {
		Bytes b = good;
		store(b, off);
		return b;
	};
	CHECK_THAT(parseError(Bytes(good.begin(), good.begin() + 40)), Catch::Contains("TD quote is truncated: header"));
	CHECK_THAT(parseError(with(0, [](Bytes &b, size_t o) { storeLe16(b, o, 3); })),
		   Catch::Contains("version 3 (4 and 5 are TD quotes)"));
	CHECK_THAT(parseError(with(2, [](Bytes &b, size_t o) { storeLe16(b, o, 3); })),
		   Catch::Contains("attestation key type 3"));
	CHECK_THAT(parseError(with(4, [](Bytes &b, size_t o) { storeLe32(b, o, 0); })),
		   Catch::Contains("TEE type 0x0 is not TDX"));
	CHECK_THAT(parseError(Bytes(good.begin(), good.begin() + 300)), Catch::Contains("TD report body"));
	CHECK_THAT(parseError(Bytes(good.begin(), good.begin() + 634)), Catch::Contains("signature data size"));
	CHECK_THAT(parseError(with(kSigLen, [](Bytes &b, size_t o) { storeLe32(b, o, 100); })),
		   Catch::Contains("TD quote signature data is truncated"));
	CHECK_THAT(parseError(with(kCertType, [](Bytes &b, size_t o) { storeLe16(b, o, 5); })),
		   Catch::Contains("certification data type 5, expected 6 (QE report)"));
	CHECK_THAT(parseError(with(kCertSize, [](Bytes &b, size_t o) { storeLe32(b, o, loadLe32(b, o) + 1); })),
		   Catch::Contains("TD quote signature data is truncated: certification data"));
	CHECK_THAT(parseError(with(kQeAuthLen, [](Bytes &b, size_t o) { storeLe16(b, o, 0xffff); })),
		   Catch::Contains("QE report certification data is truncated: QE auth data"));
	CHECK_THAT(parseError(with(kPckType, [](Bytes &b, size_t o) { storeLe16(b, o, 6); })),
		   Catch::Contains("PCK certification data type 6, expected 5"));
	CHECK_THAT(parseError(with(kPckSize, [](Bytes &b, size_t o) { storeLe32(b, o, loadLe32(b, o) + 1); })),
		   Catch::Contains("PCK certificate chain"));
	CHECK_THAT(parseError(with(kPckSize, [](Bytes &b, size_t o) { storeLe32(b, o, loadLe32(b, o) - 1); })),
		   Catch::Contains("1 bytes after the PCK certificate chain"));
	CHECK_THAT(parseError(Bytes()), Catch::Contains("truncated"));
}

TEST_CASE("v5 body descriptors are checked")
{
	Bytes good = signWith(pki(), sampleQuote(5, quote::kBodyTypeTdx10));
	Bytes sgx = good;
	storeLe16(sgx, 48, 1);
	CHECK_THAT(parseError(sgx), Catch::Contains("body type 1 is an SGX enclave report"));
	Bytes unknown = good;
	storeLe16(unknown, 48, 7);
	CHECK_THAT(parseError(unknown), Catch::Contains("body type 7 is unknown"));
	Bytes size = good;
	storeLe32(size, 50, 648);
	CHECK_THAT(parseError(size), Catch::Contains("body type 2 has 584 bytes, the quote says 648"));
}

TEST_CASE("cryptographic failures are reported per check")
{
	QuoteVerifyOptions o = testRoot(pki());
	using S = std::set<std::string>;

	SECTION("an attestation key that is not a P-256 point")
	{
		Quote q = sampleQuote(4);
		Bytes bytes = signWith(pki(), q);
		std::fill(bytes.begin() + 700, bytes.begin() + 764, 0x01);
		CHECK(failures(bytes, o) == S{ "attestation-key-signature", "qe-report-binding" });
		CHECK_THAT(detailOf(bytes, o, QuoteCheckId::AttestationKeySignature), Catch::Contains("not usable"));
	}
	SECTION("a QE report signed by another key than the PCK certificate's")
	{
		TestPki other = makeTestPki();
		QuoteSigner signer{ pki().attestationKey.get(), other.pckKey.get(), pki().chainPem() };
		auto bytes = signQuote(sampleQuote(4), signer);
		REQUIRE(bytes.ok());
		CHECK(failures(*bytes, o) == S{ "qe-report-signature" });
	}
	SECTION("a chain from another root")
	{
		TestPki other = makeTestPki();
		QuoteSigner signer{ pki().attestationKey.get(), pki().pckKey.get(), other.chainPem() };
		auto bytes = signQuote(sampleQuote(4), signer);
		REQUIRE(bytes.ok());
		CHECK(failures(*bytes, o) == S{ "qe-report-signature", "pck-chain" });
	}
	SECTION("a chain without its intermediate")
	{
		QuoteSigner signer{ pki().attestationKey.get(), pki().pckKey.get(),
				    pki().pem(pki().pck.get()) + pki().pem(pki().root.get()) };
		auto bytes = signQuote(sampleQuote(4), signer);
		REQUIRE(bytes.ok());
		CHECK(failures(*bytes, o) == S{ "pck-chain" });
		CHECK_THAT(detailOf(*bytes, o, QuoteCheckId::PckChain), Catch::Contains("local issuer"));
	}
	SECTION("a PCK certificate signed by the root directly is fine")
	{
		PkiOptions po;
		po.leafSignedByRoot = true;
		TestPki direct = makeTestPki(po);
		Bytes bytes = signWith(direct, sampleQuote(4));
		CHECK(failures(bytes, testRoot(direct)).empty());
	}
	SECTION("an expired and a not yet valid PCK certificate")
	{
		PkiOptions po;
		po.leafNotAfter = kTestNow - 10;
		TestPki expired = makeTestPki(po);
		Bytes bytes = signWith(expired, sampleQuote(4));
		CHECK(failures(bytes, testRoot(expired)) == S{ "pck-chain" });
		CHECK_THAT(detailOf(bytes, testRoot(expired), QuoteCheckId::PckChain),
			   Catch::Contains("depth 0") && Catch::Contains("expired"));
		po = PkiOptions();
		po.leafNotBefore = kTestNow + 10;
		TestPki future = makeTestPki(po);
		CHECK_THAT(detailOf(signWith(future, sampleQuote(4)), testRoot(future), QuoteCheckId::PckChain),
			   Catch::Contains("not yet valid"));
	}
	SECTION("a CA certificate where the PCK certificate belongs")
	{
		PkiOptions po;
		po.leafIsCa = true;
		TestPki ca = makeTestPki(po);
		Bytes bytes = signWith(ca, sampleQuote(4));
		CHECK(failures(bytes, testRoot(ca)) == S{ "pck-chain" });
		CHECK_THAT(detailOf(bytes, testRoot(ca), QuoteCheckId::PckChain), Catch::Contains("is a CA"));
	}
	SECTION("a chain with no certificate, or a damaged one")
	{
		QuoteSigner signer{ pki().attestationKey.get(), pki().pckKey.get(), "no certificates here" };
		auto none = signQuote(sampleQuote(4), signer);
		REQUIRE(none.ok());
		CHECK(failures(*none, o) == S{ "qe-report-signature", "root-ca", "pck-chain" });
		CHECK_THAT(detailOf(*none, o, QuoteCheckId::PckChain), Catch::Contains("no PEM certificate"));

		std::string pem = pki().chainPem();
		pem.insert(pem.find('\n') + 5, "!!!!");
		signer.pckChainPem = pem;
		auto damaged = signQuote(sampleQuote(4), signer);
		REQUIRE(damaged.ok());
		CHECK_THAT(detailOf(*damaged, o, QuoteCheckId::PckChain), Catch::Contains("damaged PEM"));
	}
	SECTION("a non-P-256 PCK key")
	{
		EvpPkeyPtr rsa(EVP_RSA_gen(2048));
		REQUIRE(rsa);
		QuoteSigner signer{ pki().attestationKey.get(), rsa.get(), pki().chainPem() };
		CHECK_FALSE(signQuote(sampleQuote(4), signer).ok());
	}
}

TEST_CASE("the verdict reports the first failure with its check as tag")
{
	Bytes bytes = signWith(pki(), sampleQuote(4));
	bytes[100] ^= 1;
	auto q = parseQuote(bytes);
	REQUIRE(q.ok());
	QuoteVerification v = verifyQuote(*q, testRoot(pki()));
	CHECK_FALSE(v.ok());
	Status s = v.status();
	REQUIRE_FALSE(s.ok());
	CHECK(s.error().code() == ErrorCode::VerificationFailed);
	CHECK(s.error().tag() == "attestation-key-signature");
	CHECK_THAT(s.error().message(), Catch::StartsWith("attestation-key-signature: "));
	CHECK_FALSE(QuoteVerification().ok());
	CHECK_FALSE(QuoteVerification().status().ok());
}

TEST_CASE("TD attributes are named")
{
	CHECK(tdAttributesText(0) == "none");
	CHECK(tdAttributesText(tdattr::kSeptVeDisable | tdattr::kPks) == "SEPT_VE_DISABLE|PKS");
	CHECK(tdAttributesText(tdattr::kDebug | (1ull << 5)) == "DEBUG|0x20");
}
