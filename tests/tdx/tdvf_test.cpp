// SPDX-License-Identifier: Apache-2.0
//
// TDVF metadata and MRTD on synthetic images built from the spec layout:
// every validation rule, and the properties that pin the measurement down
// (what changes MRTD and what does not). The MRTD values themselves are
// cross-checked against td-shim's tool in mrtd_ovmf_test and the interop test.
#include <catch2/catch.hpp>

#include "cvm/tdx/mrtd.h"
#include "tdx_test_support.h"

using namespace cvm;
using namespace cvm::tdx;
using namespace cvm::test::tdx;

namespace {

ImageSpec standardSpec()
{
	ImageSpec spec;
	spec.size = 64 * 1024;
	spec.descriptorOffset = 56 * 1024;
	// BFV: 32 KiB at 0, CFV: 8 KiB at 32 KiB.
	spec.sections = qemuSections(0, 0x8000, 0x8000, 0x2000);
	return spec;
}

Result<MrtdResult> mrtdOf(const Bytes &img, TdvfLoader loader = TdvfLoader::Qemu, uint64_t maxPages = 1 << 18)
{
	MemoryImage image(img);
	MrtdOptions o;
	o.loader = loader;
	o.maxPages = maxPages;
	return computeMrtd(image, o);
}

std::string errorOf(const Bytes &img, TdvfLoader loader = TdvfLoader::Qemu)
{
	auto r = mrtdOf(img, loader);
	REQUIRE_FALSE(r.ok());
	return r.error().message();
}

} // namespace

TEST_CASE("a well-formed image parses with both loaders and they agree")
{
	Bytes img = buildTdvfImage(standardSpec());
	MemoryImage image(img);
	auto md = parseTdvfMetadata(image);
	REQUIRE(md.ok());
	CHECK(md->location == TdvfLocation::OvmfTable);
	CHECK(md->descriptorOffset == 56 * 1024);
	CHECK(md->guidPresent);
	REQUIRE(md->sections.size() == 4);
	CHECK(md->sections[0].mrExtend());
	CHECK(tdvfSectionTypeName(md->sections[2].type) == "TD_HOB");

	auto q = mrtdOf(img, TdvfLoader::Qemu);
	auto t = mrtdOf(img, TdvfLoader::TdShim);
	REQUIRE(q.ok());
	REQUIRE(t.ok());
	CHECK(q->mrtd == t->mrtd);
	CHECK(q->pagesAdded == 8 + 2 + 2 + 6);
	CHECK(q->pagesExtended == 8);
}

TEST_CASE("MRTD covers extended pages' contents and every page's address, nothing else")
{
	ImageSpec spec = standardSpec();
	Bytes img = buildTdvfImage(spec);
	Sha384Digest base = mrtdOf(img)->mrtd;

	Bytes bfvByte = img;
	bfvByte[0x1234] ^= 1; // inside the extended BFV
	CHECK(mrtdOf(bfvByte)->mrtd != base);

	Bytes cfvByte = img;
	cfvByte[0x8000 + 10] ^= 1; // the CFV is added, not extended
	CHECK(mrtdOf(cfvByte)->mrtd == base);

	Bytes outside = img;
	outside[0xa000] ^= 1; // in no section
	CHECK(mrtdOf(outside)->mrtd == base);

	ImageSpec moved = spec;
	moved.sections[3].memoryAddress += 0x10000; // TEMP_MEM elsewhere
	CHECK(mrtdOf(buildTdvfImage(moved))->mrtd != base);

	ImageSpec reordered = spec;
	std::swap(reordered.sections[2], reordered.sections[3]); // metadata order matters
	CHECK(mrtdOf(buildTdvfImage(reordered))->mrtd != base);
}

TEST_CASE("QEMU reads MemoryDataSize bytes from the image; td-shim zero-pads after RawDataSize")
{
	ImageSpec spec = standardSpec();
	spec.sections[0].rawDataSize = 0x7000; // last BFV page not in the raw data
	Bytes img = buildTdvfImage(spec);
	auto q = mrtdOf(img, TdvfLoader::Qemu);
	auto t = mrtdOf(img, TdvfLoader::TdShim);
	REQUIRE(q.ok());
	REQUIRE(t.ok());
	CHECK(q->mrtd != t->mrtd);

	// With zeros in the image past RawDataSize the two readings coincide.
	std::fill(img.begin() + 0x7000, img.begin() + 0x8000, 0);
	CHECK(mrtdOf(img, TdvfLoader::Qemu)->mrtd == mrtdOf(img, TdvfLoader::TdShim)->mrtd);
	// ... and QEMU's reading follows the image's bytes there.
	Bytes changed = img;
	changed[0x7800] = 1;
	CHECK(mrtdOf(changed, TdvfLoader::Qemu)->mrtd != mrtdOf(img, TdvfLoader::Qemu)->mrtd);
	CHECK(mrtdOf(changed, TdvfLoader::TdShim)->mrtd == mrtdOf(img, TdvfLoader::TdShim)->mrtd);
}

TEST_CASE("PAGE.AUG sections are skipped by td-shim and added by QEMU")
{
	ImageSpec spec = standardSpec();
	Bytes plain = buildTdvfImage(spec);
	spec.sections[3].attributes = tdvf::kAttrPageAug;
	Bytes aug = buildTdvfImage(spec);
	CHECK(mrtdOf(aug, TdvfLoader::Qemu)->mrtd == mrtdOf(plain, TdvfLoader::Qemu)->mrtd);
	auto t = mrtdOf(aug, TdvfLoader::TdShim);
	REQUIRE(t.ok());
	CHECK(t->mrtd != mrtdOf(plain, TdvfLoader::TdShim)->mrtd);
	CHECK(t->pagesAdded == 8 + 2 + 2);
}

TEST_CASE("extended TEMP_MEM is zeros; an extended TD_HOB cannot be predicted")
{
	ImageSpec spec = standardSpec();
	spec.sections[3].attributes = tdvf::kAttrMrExtend;
	Bytes img = buildTdvfImage(spec);
	auto q = mrtdOf(img, TdvfLoader::Qemu);
	REQUIRE(q.ok());
	CHECK(q->pagesExtended == 8 + 6);
	CHECK(q->mrtd == mrtdOf(img, TdvfLoader::TdShim)->mrtd);

	spec = standardSpec();
	spec.sections[2].attributes = tdvf::kAttrMrExtend;
	auto hob = mrtdOf(buildTdvfImage(spec), TdvfLoader::Qemu);
	REQUIRE_FALSE(hob.ok());
	CHECK(hob.error().code() == ErrorCode::Unsupported);
	CHECK_THAT(hob.error().message(), Catch::Contains("TD_HOB") && Catch::Contains("memory map"));
}

TEST_CASE("td-shim images: the size-0x20 pointer, the metadata GUID, td-shim section types")
{
	ImageSpec spec = standardSpec();
	spec.ovmfTable = false;
	spec.sections.push_back({ 0, 0, 0, 0, tdvf::kTypeTdInfo, 0 });
	Bytes img = buildTdvfImage(spec);
	MemoryImage image(img);
	auto md = parseTdvfMetadata(image, TdvfLoader::TdShim);
	REQUIRE(md.ok());
	CHECK(md->location == TdvfLocation::TdShimPointer);
	CHECK(md->sections.size() == 5);
	CHECK(mrtdOf(img, TdvfLoader::TdShim).ok());
	// QEMU needs the OVMF table, and knows no TD_INFO.
	CHECK_THAT(errorOf(img, TdvfLoader::Qemu), Catch::Contains("no OVMF GUIDed table"));

	spec.metadataGuid = false;
	CHECK_THAT(errorOf(buildTdvfImage(spec), TdvfLoader::TdShim), Catch::Contains("metadata GUID"));
	spec.ovmfTable = true;
	spec.sections.pop_back();
	CHECK(mrtdOf(buildTdvfImage(spec), TdvfLoader::Qemu).ok()); // QEMU does not look at the GUID
}

TEST_CASE("the OVMF table and the metadata location are checked")
{
	ImageSpec spec = standardSpec();
	Bytes img = buildTdvfImage(spec);
	size_t n = img.size();

	SECTION("no footer GUID")
	{
		img[n - 48] ^= 1;
		CHECK_THAT(errorOf(img), Catch::Contains("no OVMF GUIDed table"));
	}
	SECTION("total length smaller than the footer")
	{
		storeLe16(img, n - 50, 10);
		CHECK_THAT(errorOf(img), Catch::Contains("smaller than its own footer"));
	}
	SECTION("total length past the start of the image")
	{
		storeLe16(img, n - 50, 0xffff);
		Bytes small(img.end() - 4096, img.end()); // a 4 KiB image cannot hold 64 KiB of table
		CHECK_THAT(errorOf(small), Catch::Contains("before the start of the image"));
	}
	SECTION("an entry shorter than its trailer")
	{
		storeLe16(img, n - 50 - 16 - 2, 5); // the TDX entry's length
		CHECK_THAT(errorOf(img), Catch::Contains("less than its 18-byte trailer"));
	}
	SECTION("an entry longer than the table")
	{
		storeLe16(img, n - 50 - 16 - 2, 500);
		CHECK_THAT(errorOf(img), Catch::Contains("only"));
	}
	SECTION("no TDX metadata entry")
	{
		img[n - 50 - 16] ^= 1; // the TDX entry's GUID
		CHECK_THAT(errorOf(img), Catch::Contains("no TDX metadata entry"));
	}
	SECTION("the offset entry's data is not 4 bytes")
	{
		spec.offsetEntryDataSize = 8;
		CHECK_THAT(errorOf(buildTdvfImage(spec)), Catch::Contains("8 data bytes, expected 4"));
	}
	SECTION("the descriptor offset lies outside the image")
	{
		storeLe32(img, n - 50 - 18 - 4, static_cast<uint32_t>(n + 100));
		CHECK_THAT(errorOf(img), Catch::Contains("outside the image"));
	}
	SECTION("images smaller than a page have no table")
	{
		Bytes tiny(img.end() - 2048, img.end());
		CHECK_THAT(errorOf(tiny), Catch::Contains("no OVMF GUIDed table"));
	}
}

TEST_CASE("the descriptor is checked")
{
	ImageSpec spec = standardSpec();
	SECTION("signature")
	{
		Bytes img = buildTdvfImage(spec);
		img[spec.descriptorOffset] = 'X';
		CHECK_THAT(errorOf(img), Catch::Contains("no \"TDVF\" signature"));
	}
	SECTION("version")
	{
		spec.version = 2;
		CHECK_THAT(errorOf(buildTdvfImage(spec)), Catch::Contains("version 2"));
	}
	SECTION("length")
	{
		spec.lengthAdjust = 32;
		CHECK_THAT(errorOf(buildTdvfImage(spec)), Catch::Contains("does not match 4 sections"));
	}
	SECTION("QEMU needs two sections")
	{
		spec.sections.resize(1);
		CHECK_THAT(errorOf(buildTdvfImage(spec)), Catch::Contains("1 sections (at least 2"));
	}
	SECTION("entries past the end of the image")
	{
		spec.descriptorOffset = spec.size - 120; // 4 entries need 144 bytes
		CHECK_THAT(errorOf(buildTdvfImage(spec)), Catch::Contains("run past the end"));
	}
}

TEST_CASE("sections are checked with QEMU's rules")
{
	ImageSpec spec = standardSpec();
	auto problem = [&spec]() { return errorOf(buildTdvfImage(spec)); };
	SECTION("RawDataSize above MemoryDataSize")
	{
		spec.sections[0].rawDataSize = 0x9000;
		CHECK_THAT(problem(), Catch::Contains("section 0 (BFV): RawDataSize 0x9000 exceeds"));
	}
	SECTION("unaligned address")
	{
		spec.sections[1].memoryAddress += 0x10;
		CHECK_THAT(problem(), Catch::Contains("section 1 (CFV): MemoryAddress") &&
					      Catch::Contains("not page aligned"));
	}
	SECTION("unaligned size")
	{
		spec.sections[3].memoryDataSize += 1;
		CHECK_THAT(problem(), Catch::Contains("MemoryDataSize 0x6001 is not page aligned"));
	}
	SECTION("a copied section without raw data")
	{
		spec.sections[1].rawDataSize = 0;
		CHECK_THAT(problem(), Catch::Contains("RawDataSize is 0"));
	}
	SECTION("raw data for TD_HOB")
	{
		spec.sections[2].rawDataSize = 0x1000;
		CHECK_THAT(problem(), Catch::Contains("section 2 (TD_HOB): RawDataSize 0x1000 must be 0"));
	}
	SECTION("a td-shim section type")
	{
		spec.sections[3].type = tdvf::kTypePermMem;
		CHECK_THAT(problem(), Catch::Contains("section 3 (PERM_MEM): QEMU supports only"));
	}
	SECTION("QEMU would copy past the end of the image")
	{
		spec.sections[1].dataOffset = spec.size - 0x1000;
		CHECK_THAT(problem(), Catch::Contains("past the end of the image"));
	}
	SECTION("no TD_HOB")
	{
		spec.sections[2].type = tdvf::kTypeTempMem;
		CHECK_THAT(problem(), Catch::Contains("no TD_HOB section"));
	}
	SECTION("overlapping sections")
	{
		spec.sections[3].memoryAddress = spec.sections[2].memoryAddress - 0x1000;
		CHECK_THAT(problem(), Catch::Contains("overlap in guest memory"));
	}
	SECTION("address overflow")
	{
		spec.sections[3].memoryAddress = 0xfffffffffffff000ull;
		CHECK_THAT(problem(), Catch::Contains("overflows"));
	}
}

TEST_CASE("sections are checked with td-shim's rules")
{
	ImageSpec spec = standardSpec();
	auto problem = [&spec]() { return errorOf(buildTdvfImage(spec), TdvfLoader::TdShim); };
	SECTION("unknown type")
	{
		spec.sections[3].type = 9;
		CHECK_THAT(problem(), Catch::Contains("unknown section type"));
	}
	SECTION("raw data past the end of the image")
	{
		spec.sections[0].dataOffset = spec.size - 0x1000;
		CHECK_THAT(problem(), Catch::Contains("runs past the end of the image"));
	}
	SECTION("raw above memory size")
	{
		spec.sections[1].rawDataSize = 0x3000;
		CHECK_THAT(problem(), Catch::Contains("exceeds MemoryDataSize"));
	}
	SECTION("td-shim accepts one section")
	{
		spec.sections.resize(1);
		CHECK(mrtdOf(buildTdvfImage(spec), TdvfLoader::TdShim).ok());
	}
}

TEST_CASE("an implausibly large TD image is refused rather than hashed for minutes")
{
	ImageSpec spec = standardSpec();
	spec.sections[3].memoryAddress = 1ull << 44;
	spec.sections[3].memoryDataSize = 1ull << 40;
	auto r = mrtdOf(buildTdvfImage(spec));
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().code() == ErrorCode::LimitExceeded);
	CHECK_FALSE(mrtdOf(buildTdvfImage(standardSpec()), TdvfLoader::Qemu, 10).ok());
}

TEST_CASE("names for section types and attributes")
{
	CHECK(tdvfSectionTypeName(tdvf::kTypeTempMem) == "TEMP_MEM");
	CHECK(tdvfSectionTypeName(42) == "type 42");
	CHECK(tdvfAttributesText(0) == "none");
	CHECK(tdvfAttributesText(3) == "MR.EXTEND|PAGE.AUG");
	CHECK(tdvfAttributesText(0x11) == "MR.EXTEND|0x10");
	CHECK(std::string(tdvfLoaderName(TdvfLoader::TdShim)) == "td-shim");
}
