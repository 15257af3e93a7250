// SPDX-License-Identifier: Apache-2.0
//
// The OVMF footer table on Debian's images (ovmf 2022.11) and on synthetic
// tables built here: round trips, and every inconsistency refused.
#include <catch2/catch.hpp>

#include "cvm/sev/ovmf.h"
#include "sev_test_support.h"

using namespace cvm;
using namespace cvm::sev;

namespace {

Bytes area(uint32_t base, uint32_t size)
{
	Bytes b(8);
	storeLe32(b, 0, base);
	storeLe32(b, 4, size);
	return b;
}

Bytes u32(uint32_t v)
{
	Bytes b(4);
	storeLe32(b, 0, v);
	return b;
}

// An image of `size` bytes ending with `table` and the 32-byte reset-vector gap.
Bytes imageWith(ByteView table, size_t size = 8192)
{
	Bytes img(size, 0xcc);
	storeBytes(img, size - 32 - table.size(), table);
	return img;
}

std::vector<OvmfTableEntry> amdSevEntries()
{
	return {
		{ ovmf_guid::sevEsResetBlock(), u32(0x80b004) },
		{ ovmf_guid::sevSecret(), area(0x810000, 0xc00) },
		{ ovmf_guid::sevHashTable(), area(0x810c00, 0x400) },
	};
}

void requireInvalid(ByteView image, const char *what)
{
	INFO(what);
	auto t = OvmfFooterTable::parse(image);
	REQUIRE_FALSE(t.ok());
	CHECK(t.error().code() == ErrorCode::InvalidData);
}

} // namespace

TEST_CASE("Debian's OVMF images: SEV-ES reset block, no hash table or secret area")
{
	struct Expect {
		const char *path;
		uint32_t reset;
		size_t entries;
	};
	for (const Expect &e : { Expect{ test::kDebianOvmf, 0x80b004, 5 }, Expect{ test::kDebianOvmfCode, 0x80b004, 5 },
				 Expect{ test::kDebianOvmfCode4M, 0x808004, 3 } }) {
		INFO(e.path);
		test::requireFile(e.path);
		auto t = OvmfFooterTable::readFile(e.path);
		REQUIRE(t.ok());
		CHECK(t->entries().size() == e.entries);
		CHECK(t->entries().front().guid == ovmf_guid::sevEsResetBlock());
		CHECK(t->sevEsResetAddress().value() == e.reset);
		// 0/0 entries: present, but the firmware cannot measure a kernel.
		REQUIRE(t->find(ovmf_guid::sevHashTable()));
		CHECK(t->find(ovmf_guid::sevHashTable())->data == Bytes(8, 0));
		CHECK_FALSE(t->sevHashTableArea().value().has_value());
		CHECK_FALSE(t->sevSecretArea().value().has_value());

		// Parsing the whole image gives the same as reading the tail.
		Bytes image = readFile(e.path).value();
		auto whole = OvmfFooterTable::parse(image);
		REQUIRE(whole.ok());
		REQUIRE(whole->entries().size() == t->entries().size());
		for (size_t i = 0; i < whole->entries().size(); ++i)
			CHECK(whole->entries()[i].data == t->entries()[i].data);
	}
	auto t = OvmfFooterTable::readFile(test::kDebianOvmf).value();
	REQUIRE(t.find(ovmf_guid::sevMetadata()));
	CHECK(loadLe32(t.find(ovmf_guid::sevMetadata())->data, 0) == 0x52c);
	CHECK(t.find(ovmf_guid::tdxMetadata()));
}

TEST_CASE("the patched Debian image has a hash-table area and nothing else changed")
{
	auto dir = TempDir::create("cvm-sev-ovmf-").value();
	std::string path = test::writeKernelHashesFirmware(dir);
	auto t = OvmfFooterTable::readFile(path);
	REQUIRE(t.ok());
	auto a = t->sevHashTableArea().value();
	REQUIRE(a.has_value());
	CHECK(a->base == 0x810c00);
	CHECK(a->size == 0x400);
	Bytes patched = readFile(path).value(), original = readFile(test::kDebianOvmf).value();
	REQUIRE(patched.size() == original.size());
	size_t differing = 0;
	for (size_t i = 0; i < patched.size(); ++i)
		differing += patched[i] != original[i];
	CHECK(differing > 0);
	CHECK(differing <= 8);
}

TEST_CASE("a synthetic table round-trips, in QEMU's walking order")
{
	Bytes table = buildOvmfFooterTable(amdSevEntries());
	CHECK(table.size() == 22 + 26 + 26 + 18);
	auto t = OvmfFooterTable::parse(imageWith(table));
	REQUIRE(t.ok());
	REQUIRE(t->entries().size() == 3);
	CHECK(t->entries()[0].guid == ovmf_guid::sevEsResetBlock());
	CHECK(t->sevEsResetAddress().value() == 0x80b004u);
	CHECK(t->sevSecretArea().value()->base == 0x810000u);
	CHECK(t->sevSecretArea().value()->size == 0xc00u);
	CHECK(t->sevHashTableArea().value()->base == 0x810c00u);
	// Exactly the table, without any image before it, also parses.
	Bytes bare = table;
	bare.resize(bare.size() + 32);
	CHECK(OvmfFooterTable::parse(bare).ok());
	// An empty table (footer only).
	auto empty = OvmfFooterTable::parse(imageWith(buildOvmfFooterTable({})));
	REQUIRE(empty.ok());
	CHECK(empty->entries().empty());
	CHECK_FALSE(empty->sevEsResetAddress().value().has_value());
}

TEST_CASE("no footer GUID: NotFound")
{
	for (size_t n : { 0, 10, 49, 50, 4096 }) {
		auto t = OvmfFooterTable::parse(Bytes(n, 0));
		REQUIRE_FALSE(t.ok());
		CHECK(t.error().code() == ErrorCode::NotFound);
	}
}

TEST_CASE("inconsistent tables are refused")
{
	Bytes table = buildOvmfFooterTable(amdSevEntries());
	const size_t totalAt = table.size() - 18; // offset of the u16 total in `table`

	Bytes t1 = table;
	storeLe16(t1, totalAt, 17);
	requireInvalid(imageWith(t1), "total smaller than the footer");

	Bytes t2 = table;
	storeLe16(t2, totalAt, 0xffff);
	requireInvalid(imageWith(t2, 4096), "total reaching before the image");

	Bytes t3 = table;
	storeLe16(t3, totalAt, static_cast<uint16_t>(table.size() + 5));
	requireInvalid(imageWith(t3), "5 stray bytes before the first entry");

	Bytes t4 = table;
	storeLe16(t4, totalAt - 18, 17); // the first-walked entry's length
	requireInvalid(imageWith(t4), "entry shorter than its trailer");

	Bytes t5 = table;
	storeLe16(t5, totalAt - 18, 200);
	requireInvalid(imageWith(t5), "entry longer than the table before it");

	Bytes t6 = table;
	storeLe16(t6, totalAt - 18, 26); // reset block claims 26: overlaps the next entry
	requireInvalid(imageWith(t6), "entries overlapping (lengths do not tile the table)");

	auto dup = amdSevEntries();
	dup.push_back({ ovmf_guid::sevSecret(), area(1, 2) });
	requireInvalid(imageWith(buildOvmfFooterTable(dup)), "duplicate GUID");
}

TEST_CASE("entry data of the wrong size is refused where it is used")
{
	std::vector<OvmfTableEntry> entries = {
		{ ovmf_guid::sevEsResetBlock(), Bytes(8) },
		{ ovmf_guid::sevHashTable(), Bytes(4) },
		{ ovmf_guid::sevSecret(), Bytes(12) },
	};
	auto t = OvmfFooterTable::parse(imageWith(buildOvmfFooterTable(entries)));
	REQUIRE(t.ok());
	CHECK_FALSE(t->sevEsResetAddress().ok());
	CHECK_FALSE(t->sevHashTableArea().ok());
	CHECK_FALSE(t->sevSecretArea().ok());
	// A zero base or zero size is "no area".
	auto z = OvmfFooterTable::parse(imageWith(buildOvmfFooterTable(
		{ { ovmf_guid::sevHashTable(), area(0x810c00, 0) }, { ovmf_guid::sevSecret(), area(0, 0xc00) } })));
	REQUIRE(z.ok());
	CHECK_FALSE(z->sevHashTableArea().value().has_value());
	CHECK_FALSE(z->sevSecretArea().value().has_value());
}

TEST_CASE("every truncation of a real image's tail is refused or parsed, never read out of bounds")
{
	test::requireFile(test::kDebianOvmf);
	Bytes image = readFile(test::kDebianOvmf).value();
	ByteView tail = ByteView(image).last(256);
	auto full = OvmfFooterTable::parse(tail);
	REQUIRE(full.ok());
	for (size_t n = 0; n <= tail.size(); ++n) {
		auto t = OvmfFooterTable::parse(tail.last(n));
		// 136 = the table's total length + the 32-byte gap.
		if (n >= 136 + 32)
			CHECK(t.ok());
		else
			CHECK_FALSE(t.ok());
	}
}

TEST_CASE("reading a file that is not there, or a directory")
{
	CHECK(OvmfFooterTable::readFile("/nonexistent/ovmf.fd").error().code() == ErrorCode::NotFound);
	CHECK_FALSE(OvmfFooterTable::readFile("/").ok());
}
