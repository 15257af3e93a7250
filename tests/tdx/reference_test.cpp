// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "cvm/common/json.h"
#include "cvm/tdx/reference.h"

using namespace cvm;
using namespace cvm::tdx;

namespace {

Sha384Digest pattern(uint8_t seed)
{
	Sha384Digest d{};
	for (size_t i = 0; i < d.size(); ++i)
		d[i] = static_cast<uint8_t>(seed + i);
	return d;
}

std::string errorOf(const std::string &text)
{
	auto r = referenceDocumentFromJson(text);
	REQUIRE_FALSE(r.ok());
	return r.error().message();
}

std::string hex96(char c)
{
	return std::string(96, c);
}

} // namespace

TEST_CASE("a reference document round-trips through JSON")
{
	ReferenceDocument d;
	d.values.mrtd = { pattern(1) };
	d.values.rtmr[0] = pattern(2);
	d.values.rtmr[3] = pattern(3);
	d.values.mrConfigId = pattern(4);
	d.values.tdAttributes = 0x10000000;
	d.values.xfam = 0x8000000000000000ull;
	d.tool = "cvm-launch 0.1.0";
	d.mrtdMethod = "qemu";
	ProvenanceInput in;
	in.role = "firmware";
	in.file = "/usr/share/ovmf/OVMF.fd";
	in.fingerprint.size = 2097152;
	in.fingerprint.sha256.fill(0xab);
	d.inputs.push_back(in);

	std::string text = json::serialize(referenceDocumentToJson(d).get(), true);
	CHECK(text.find("\"tdx.mrtd\" : \"" + toHex(pattern(1)) + "\"") != std::string::npos);
	CHECK(text.find("\"tdx.td-attributes\" : \"0x0000000010000000\"") != std::string::npos);
	CHECK(text.find("cvm-launch/tdx-reference/1") != std::string::npos);

	auto back = referenceDocumentFromJson(text);
	REQUIRE(back.ok());
	CHECK(back->values.mrtd == d.values.mrtd);
	CHECK(back->values.rtmr[0] == d.values.rtmr[0]);
	CHECK_FALSE(back->values.rtmr[1].has_value());
	CHECK(back->values.rtmr[3] == d.values.rtmr[3]);
	CHECK(back->values.mrConfigId == d.values.mrConfigId);
	CHECK_FALSE(back->values.mrOwner.has_value());
	CHECK(back->values.tdAttributes == d.values.tdAttributes);
	CHECK(back->values.xfam == d.values.xfam);
	CHECK(back->tool == d.tool);
	CHECK(back->mrtdMethod == "qemu");
	REQUIRE(back->inputs.size() == 1);
	CHECK(back->inputs[0].file == in.file);
	CHECK(back->inputs[0].fingerprint.size == in.fingerprint.size);
	CHECK(back->inputs[0].fingerprint.sha256 == in.fingerprint.sha256);
}

TEST_CASE("several accepted MRTDs, and bare reference-value objects")
{
	auto r = referenceDocumentFromJson("{\"tdx.mrtd\": [\"" + hex96('a') + "\", \"" + hex96('b') + "\"], "
					   "\"tdx.rtmr1\": \"" + hex96('C') + "\"}");
	REQUIRE(r.ok());
	CHECK(r->values.mrtd.size() == 2);
	CHECK(r->values.rtmr[1]->at(0) == 0xcc);
	CHECK(r->tool.empty());
	ReferenceValues v;
	v.mrtd = { pattern(1), pattern(2) };
	std::string text = json::serialize(referenceValuesToJson(v).get());
	CHECK(referenceDocumentFromJson(text)->values.mrtd == v.mrtd);
	CHECK(ReferenceValues().empty());
	CHECK_FALSE(v.empty());
}

TEST_CASE("bad reference values are refused with the member named")
{
	CHECK_THAT(errorOf("{\"tdx.mrdt\": \"" + hex96('a') + "\"}"), Catch::Contains("unknown reference value 'tdx.mrdt'"));
	CHECK_THAT(errorOf("{\"tdx.rtmr0\": \"abcd\"}"), Catch::Contains("tdx.rtmr0") && Catch::Contains("48-byte"));
	CHECK_THAT(errorOf("{\"tdx.rtmr0\": \"" + hex96('g') + "\"}"), Catch::Contains("not valid hex"));
	CHECK_THAT(errorOf("{\"tdx.rtmr0\": 5}"), Catch::Contains("must be a string"));
	CHECK_THAT(errorOf("{\"tdx.mrtd\": []}"), Catch::Contains("empty list"));
	CHECK_THAT(errorOf("{\"tdx.td-attributes\": \"10000000\"}"), Catch::Contains("not a 64-bit hex value"));
	CHECK_THAT(errorOf("{\"tdx.td-attributes\": \"0x-1\"}"), Catch::Contains("not a 64-bit hex value"));
	CHECK_THAT(errorOf("{\"tdx.xfam\": \"0x10000000000000000\"}"), Catch::Contains("not a 64-bit hex value"));
	CHECK_THAT(errorOf("{\"tdx.xfam\": 3}"), Catch::Contains("must be a string"));
	CHECK_THAT(errorOf("{\"format\": \"other/1\", \"reference-values\": {}}"), Catch::Contains("format \"other/1\""));
	CHECK_THAT(errorOf("{\"reference-values\": {}}"), Catch::Contains("format"));
	CHECK_THAT(errorOf("[1]"), Catch::Contains("object"));
	CHECK_THAT(errorOf("{\"format\": \"cvm-launch/tdx-reference/1\", \"reference-values\": {}, "
			   "\"provenance\": {\"tool\": \"x\", \"inputs\": [{\"role\": \"firmware\"}]}}"),
		   Catch::Contains("file"));
}

TEST_CASE("digests in hex and base64")
{
	CHECK(sha384DigestFromHex(hex96('0'), "x").ok());
	CHECK_THAT(sha384DigestFromHex("00", "mrowner").error().message(),
		   Catch::Contains("mrowner must be a 48-byte SHA-384 value, got 1 bytes"));
	CHECK(sha384DigestFromBase64(toBase64(pattern(9)), "x").value() == pattern(9));
	CHECK_THAT(sha384DigestFromBase64("@@@@", "mrconfigid").error().message(),
		   Catch::Contains("mrconfigid is not valid base64"));
}
