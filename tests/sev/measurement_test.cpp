// SPDX-License-Identifier: Apache-2.0
//
// LAUNCH_MEASURE against sevctl's published vectors (virtee/sevctl
// tests/measurementbuild.rs @ 8b47f3a6: TIK tests/data/measurement/tik1.bin,
// expected blobs as printed there). Where sevctl's vector starts from its
// 4 KiB trimmed RHEL OVMF (not redistributed here), the launch digest below is
// SHA-256 of the data sevctl measures, computed once from those files; the
// VMSA pages themselves are checked in launch_digest_test.cpp.
#include <catch2/catch.hpp>

#include "cvm/sev/measurement.h"
#include "sev_test_support.h"

using namespace cvm;
using namespace cvm::sev;

namespace {

const Bytes kTik = fromHex("3569cf61a32a602b87185ac6e0f55913").value();

struct Vector {
	const char *what;
	PlatformVersion version;
	uint32_t policy;
	const char *launchDigestHex;
	const char *blob; // base64 MEASURE || MNONCE
};

const Vector kVectors[] = {
	{ "--launch-digest given", { 1, 40, 40 }, 0x03,
	  "c64bd101fc9a4a2ce0a27c408d9200911f139a895469b04a40a6fa2890830d23",
	  "lswbxWxI9gckya16JQvdFtpYmNO4b+3inAPpqsgoBI7DE/q1EcIWsVBbGy6pkDxA" },
	{ "firmware (SHA-256 of the trimmed OVMF)", { 1, 40, 40 }, 0x03,
	  "2f6fc6065f4abc131eb4fb2b5090a542636eae84a94c0db0fdd5f405cb372ff5",
	  "oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA" },
	{ "firmware + kernel hashes", { 1, 40, 40 }, 0x03,
	  "4b47fec6f851487c33714c8a00a832a1b705ad0a7cac4a647388eccfa9f0c570",
	  "h3auYbWQnVW7EGLWN4Hf9SN0oEYMPU2sK4bLnefWPwvDE/q1EcIWsVBbGy6pkDxA" },
	{ "SEV-ES, 4 vCPUs", { 1, 49, 6 }, 0x05,
	  "847b5ab6db136ea67dc5a95478ebe7e5ebbe93e9e74bdb1284165f9007a4e367",
	  "/o0nzDKE5XgtVnUZWPhUea/WZYrTKLExR7KCwuMdbActvpWfXTFk21KMZIAAhQny" },
};

} // namespace

TEST_CASE("the measurement reproduces sevctl's vectors")
{
	for (const auto &v : kVectors) {
		INFO(v.what);
		Bytes ld = fromHex(v.launchDigestHex).value();
		auto blob = LaunchMeasurement::fromBase64(v.blob);
		REQUIRE(blob.ok());
		auto measure = computeMeasure(kTik, v.version, v.policy, ld, blob->mnonce);
		REQUIRE(measure.ok());
		CHECK(*measure == blob->measure);
		CHECK(verifyMeasurement(kTik, v.version, v.policy, ld, *blob).value());
		CHECK(blob->toBase64() == v.blob);
	}
}

TEST_CASE("any change to an input makes the measurement fail")
{
	const Vector &v = kVectors[3];
	Bytes ld = fromHex(v.launchDigestHex).value();
	LaunchMeasurement m = LaunchMeasurement::fromBase64(v.blob).value();
	auto verify = [&](ByteView tik, PlatformVersion ver, uint32_t policy, ByteView digest,
			  const LaunchMeasurement &mm) { return verifyMeasurement(tik, ver, policy, digest, mm).value(); };
	REQUIRE(verify(kTik, v.version, v.policy, ld, m));
	for (size_t bit = 0; bit < 256; bit += 37) {
		Bytes d = ld;
		d[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
		CHECK_FALSE(verify(kTik, v.version, v.policy, d, m));
	}
	Bytes tik = kTik;
	tik[15] ^= 1;
	CHECK_FALSE(verify(tik, v.version, v.policy, ld, m));
	CHECK_FALSE(verify(kTik, { 1, 49, 7 }, v.policy, ld, m));
	CHECK_FALSE(verify(kTik, { 1, 48, 6 }, v.policy, ld, m));
	CHECK_FALSE(verify(kTik, { 0, 49, 6 }, v.policy, ld, m));
	CHECK_FALSE(verify(kTik, v.version, v.policy ^ 0x01000000, ld, m));
	LaunchMeasurement nonce = m;
	nonce.mnonce[0] ^= 1;
	CHECK_FALSE(verify(kTik, v.version, v.policy, ld, nonce));
	LaunchMeasurement measure = m;
	measure.measure[31] ^= 0x80;
	CHECK_FALSE(verify(kTik, v.version, v.policy, ld, measure));
}

TEST_CASE("the 48-byte blob: layout, lengths and base64")
{
	Bytes raw = test::randomBytes(48);
	auto m = LaunchMeasurement::parse(raw);
	REQUIRE(m.ok());
	CHECK(Bytes(m->measure.begin(), m->measure.end()) == Bytes(raw.begin(), raw.begin() + 32));
	CHECK(Bytes(m->mnonce.begin(), m->mnonce.end()) == Bytes(raw.begin() + 32, raw.end()));
	CHECK(m->serialize() == raw);
	CHECK_FALSE(LaunchMeasurement::parse(Bytes(47)).ok());
	CHECK_FALSE(LaunchMeasurement::parse(Bytes(49)).ok());
	CHECK_FALSE(LaunchMeasurement::fromBase64("not base64!").ok());
	CHECK_FALSE(LaunchMeasurement::fromBase64(toBase64(Bytes(32))).ok());
}

TEST_CASE("input sizes are checked")
{
	Bytes ld(32), nonce(16);
	CHECK_FALSE(computeMeasure(Bytes(15), {}, 0, ld, nonce).ok());
	CHECK_FALSE(computeMeasure(kTik, {}, 0, Bytes(31), nonce).ok());
	CHECK_FALSE(computeMeasure(kTik, {}, 0, ld, Bytes(17)).ok());
}

TEST_CASE("the platform's measurement has a fresh nonce and verifies")
{
	Bytes tik = test::randomBytes(16), ld = test::randomBytes(32);
	PlatformVersion ver{ 1, 55, 21 };
	auto a = measureLaunch(tik, ver, 0x5, ld);
	auto b = measureLaunch(tik, ver, 0x5, ld);
	REQUIRE(a.ok());
	REQUIRE(b.ok());
	CHECK_FALSE(a->mnonce == b->mnonce);
	CHECK(verifyMeasurement(tik, ver, 0x5, ld, *a).value());
	CHECK(verifyMeasurement(tik, ver, 0x5, ld, *b).value());
}

TEST_CASE("matching against several reference digests finds the right one")
{
	Bytes tik = test::randomBytes(16);
	PlatformVersion ver{ 1, 51, 3 };
	std::vector<Bytes> digests;
	for (int i = 0; i < 5; ++i)
		digests.push_back(test::randomBytes(32));
	for (size_t i = 0; i < digests.size(); ++i) {
		auto m = measureLaunch(tik, ver, 1, digests[i]).value();
		auto found = matchMeasurement(tik, ver, 1, digests, m);
		REQUIRE(found.ok());
		REQUIRE(found->has_value());
		CHECK(**found == i);
	}
	auto stranger = measureLaunch(tik, ver, 1, test::randomBytes(32)).value();
	auto none = matchMeasurement(tik, ver, 1, digests, stranger);
	REQUIRE(none.ok());
	CHECK_FALSE(none->has_value());
	CHECK_FALSE(matchMeasurement(tik, ver, 1, {}, stranger)->has_value());
	// A malformed reference digest is an error, not a silent mismatch.
	CHECK_FALSE(matchMeasurement(tik, ver, 1, { Bytes(31) }, stranger).ok());
}
