// SPDX-License-Identifier: Apache-2.0
//
// MRTD of synthetic TDVF images against values computed by an independent
// implementation: td-shim's td_shim_tee_info_hash.py (confidential-containers/
// td-shim commit 125eeab, run by hand beside the project — it is not vendored
// and CI has no network; reproduction in docs/tdx.md). The images come from
// crossCheckImages() and are pinned by SHA-256, so a change to the builders
// cannot silently decouple the recorded values from their inputs.
//
// What the script showed (and the tests below assert):
//   - stock layout: both our loaders agree with it;
//   - PAGE.AUG: it skips PAGE.ADD like our td-shim loader (QEMU adds every section);
//   - td-shim pointer at size-0x20: it follows it like our td-shim loader (QEMU
//     requires the OVMF table);
//   - RawDataSize < MemoryDataSize: the *Python* script reads MemoryDataSize
//     bytes from the file, like QEMU, while the Rust tool td-shim-tee-info-hash
//     (src/tee_info_hash.rs: read RawDataSize, resize_with zeros) zero pads, which
//     our td-shim loader follows. The Rust behaviour is from reading its source,
//     not from a run (it needs crates.io);
//   - no metadata GUID before the descriptor: it refuses, like our td-shim loader.
#include <catch2/catch.hpp>

#include <map>

#include "cvm/common/digest.h"
#include "cvm/tdx/mrtd.h"
#include "tdx_test_support.h"

using namespace cvm;
using namespace cvm::tdx;
using namespace cvm::test::tdx;

namespace {

struct Recorded {
	const char *sha256; // of the image the script was run on
	const char *script; // its output; nullptr: it refused the image
};

const std::map<std::string, Recorded> kRecorded = {
	{ "ovmf-table",
	  { "f15b46116958586ab834ecc21a0f073ce64acb0361b60bc731cc76b6342dcd2d",
	    "07bb5801c81ab28a593b954fdbb2c13f40677396f2d1fba66856838fa2555487359a17725dc3a6c9e253c4f74b2288ce" } },
	{ "td-shim-pointer",
	  { "3f68794bb67a700eca3abc4ae4fbc9054aa4da3200eeaf8df7da49f3efb2131e",
	    "07bb5801c81ab28a593b954fdbb2c13f40677396f2d1fba66856838fa2555487359a17725dc3a6c9e253c4f74b2288ce" } },
	{ "page-aug",
	  { "d709f3fc0183b98908a476beff119b3fce45e5a4eedbde46a8c38677b3b7a0e9",
	    "e063f3face2cc36cdaa1ab211f162ae830dda3c57210b08b33d6a96ec3fb166f18c18d6ee59743ce7d2f1fd6da9cb90a" } },
	{ "raw-shorter-than-memory",
	  { "250d74284f6d1a369ec04af6c89e03dc17d00a52166ea2b045b852b0f13477c8",
	    "07bb5801c81ab28a593b954fdbb2c13f40677396f2d1fba66856838fa2555487359a17725dc3a6c9e253c4f74b2288ce" } },
	{ "no-metadata-guid", { "2165ac13e50bc6a7348959d8344d22b77f18b131ee45e30a367fc5558d803545", nullptr } },
};

Result<MrtdResult> mrtdOf(const Bytes &img, TdvfLoader loader)
{
	MemoryImage image(img);
	MrtdOptions o;
	o.loader = loader;
	return computeMrtd(image, o);
}

std::map<std::string, Bytes> images()
{
	std::map<std::string, Bytes> out;
	for (auto &[name, img] : crossCheckImages())
		out[name] = std::move(img);
	REQUIRE(out.size() == kRecorded.size());
	for (const auto &[name, img] : out) {
		INFO(name);
		REQUIRE(kRecorded.count(name) == 1);
		REQUIRE(toHex(sha256(img).value()) == kRecorded.at(name).sha256);
	}
	return out;
}

std::string hexOf(const Result<MrtdResult> &r)
{
	REQUIRE(r.ok());
	return toHex(r->mrtd);
}

} // namespace

TEST_CASE("the cross-checked images are the ones the script was run on")
{
	images();
}

TEST_CASE("our td-shim loader matches td_shim_tee_info_hash.py where the script and the Rust tool agree")
{
	auto img = images();
	for (const char *name : { "ovmf-table", "td-shim-pointer", "page-aug" }) {
		INFO(name);
		CHECK(hexOf(mrtdOf(img[name], TdvfLoader::TdShim)) == kRecorded.at(name).script);
	}
	CHECK_FALSE(mrtdOf(img["no-metadata-guid"], TdvfLoader::TdShim).ok());
}

TEST_CASE("our QEMU loader matches the script where QEMU and the script read the image alike")
{
	auto img = images();
	// Stock layout, and MemoryDataSize bytes read from the file past RawDataSize.
	for (const char *name : { "ovmf-table", "raw-shorter-than-memory" }) {
		INFO(name);
		CHECK(hexOf(mrtdOf(img[name], TdvfLoader::Qemu)) == kRecorded.at(name).script);
	}
	// QEMU adds PAGE.AUG sections: it differs from the script there.
	CHECK(hexOf(mrtdOf(img["page-aug"], TdvfLoader::Qemu)) != kRecorded.at("page-aug").script);
	CHECK(hexOf(mrtdOf(img["page-aug"], TdvfLoader::Qemu)) == kRecorded.at("ovmf-table").script);
	// QEMU needs the OVMF table; the GUID before the descriptor it does not check.
	CHECK_FALSE(mrtdOf(img["td-shim-pointer"], TdvfLoader::Qemu).ok());
	CHECK(mrtdOf(img["no-metadata-guid"], TdvfLoader::Qemu).ok());
}

TEST_CASE("zero padding after RawDataSize (the Rust tool's reading) changes MRTD when the image is not zero there")
{
	auto img = images();
	std::string padded = hexOf(mrtdOf(img["raw-shorter-than-memory"], TdvfLoader::TdShim));
	CHECK(padded != kRecorded.at("raw-shorter-than-memory").script);
	// With zeros in the image past RawDataSize every reading agrees.
	Bytes zeroed = img["raw-shorter-than-memory"];
	std::fill(zeroed.begin() + 0x1000, zeroed.begin() + 0x2000, 0);
	CHECK(hexOf(mrtdOf(zeroed, TdvfLoader::Qemu)) == padded);
}
