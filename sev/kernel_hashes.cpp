// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/kernel_hashes.h"

#include <algorithm>

#include "cvm/common/digest.h"

namespace cvm::sev {

namespace {

// One table entry: GUID || u16 length (50) || SHA-256.
struct EntryLayout {
	Field guid;
	Field length;
	Field hash;
};

constexpr size_t kEntrySize = 16 + 2 + 32;

constexpr EntryLayout entryAt(size_t offset)
{
	return { { offset, 16 }, { offset + 16, 2 }, { offset + 18, 32 } };
}

namespace layout {
constexpr Field kGuid{ 0x00, 16 };
constexpr Field kLength{ 0x10, 2 };
constexpr EntryLayout kCmdline = entryAt(0x12);
constexpr EntryLayout kInitrd = entryAt(0x44);
constexpr EntryLayout kKernel = entryAt(0x76);
static_assert(kKernel.hash.end() == kSevHashTableSize);
} // namespace layout

const Guid &tableGuid()
{
	static const Guid g = Guid::parse("9438d606-4f22-4cc9-b479-a793d411fd21").value();
	return g;
}
const Guid &cmdlineGuid()
{
	static const Guid g = Guid::parse("97d02dd8-bd20-4c94-aa78-e7714d36ab2a").value();
	return g;
}
const Guid &initrdGuid()
{
	static const Guid g = Guid::parse("44baf731-3a2f-4bd7-9af1-41e29169781d").value();
	return g;
}
const Guid &kernelGuid()
{
	static const Guid g = Guid::parse("4de79437-abd2-427f-b835-d5b172d2045b").value();
	return g;
}

Digest256 toDigest(const Bytes &b)
{
	Digest256 d;
	std::copy(b.begin(), b.end(), d.begin());
	return d;
}

void storeEntry(Bytes &out, const EntryLayout &e, const Guid &guid, const Digest256 &hash)
{
	storeBytes(out, e.guid.offset, guid.bytes);
	storeLe16(out, e.length.offset, kEntrySize);
	storeBytes(out, e.hash.offset, hash);
}

Result<Digest256> loadEntry(ByteView table, const EntryLayout &e, const Guid &guid, const char *what)
{
	if (!(Guid::fromBytes(slice(table, e.guid)) == guid))
		return Error(ErrorCode::InvalidData, std::string("SEV hashes table: the ") + what +
							     " entry has GUID " +
							     Guid::fromBytes(slice(table, e.guid)).toString());
	if (loadLe16(table, e.length.offset) != kEntrySize)
		return Error(ErrorCode::InvalidData, std::string("SEV hashes table: the ") + what +
							     " entry length is not 50");
	Digest256 d;
	ByteView h = slice(table, e.hash);
	std::copy(h.begin(), h.end(), d.begin());
	return d;
}

} // namespace

Result<Digest256> hashCmdline(std::string_view cmdline)
{
	static const uint8_t kNul = 0;
	Bytes d = CVM_TRY(digest(DigestAlgorithm::Sha256, { asBytes(cmdline), ByteView(&kNul, 1) }));
	return toDigest(d);
}

Result<KernelHashes> hashKernelFiles(const std::string &kernel, const std::optional<std::string> &initrd,
				     const std::optional<std::string> &cmdline)
{
	KernelHashes h;
	h.kernel = toDigest(CVM_TRY(digestFile(DigestAlgorithm::Sha256, kernel)));
	h.initrd = toDigest(initrd ? CVM_TRY(digestFile(DigestAlgorithm::Sha256, *initrd))
				   : CVM_TRY(sha256(ByteView())));
	h.cmdline = CVM_TRY(hashCmdline(cmdline ? std::string_view(*cmdline) : std::string_view()));
	return h;
}

Bytes buildSevHashTable(const KernelHashes &hashes)
{
	Bytes out(kPaddedSevHashTableSize, 0);
	storeBytes(out, layout::kGuid.offset, tableGuid().bytes);
	storeLe16(out, layout::kLength.offset, kSevHashTableSize);
	storeEntry(out, layout::kCmdline, cmdlineGuid(), hashes.cmdline);
	storeEntry(out, layout::kInitrd, initrdGuid(), hashes.initrd);
	storeEntry(out, layout::kKernel, kernelGuid(), hashes.kernel);
	return out;
}

Result<KernelHashes> parseSevHashTable(ByteView table)
{
	if (table.size() != kSevHashTableSize && table.size() != kPaddedSevHashTableSize)
		return Error(ErrorCode::InvalidData, "SEV hashes table must be 168 or 176 bytes, not " +
							     std::to_string(table.size()));
	if (!(Guid::fromBytes(slice(table, layout::kGuid)) == tableGuid()))
		return Error(ErrorCode::InvalidData, "SEV hashes table: wrong table GUID");
	if (loadLe16(table, layout::kLength.offset) != kSevHashTableSize)
		return Error(ErrorCode::InvalidData, "SEV hashes table: length field is not 168");
	for (size_t i = kSevHashTableSize; i < table.size(); ++i)
		if (table[i] != 0)
			return Error(ErrorCode::InvalidData, "SEV hashes table: non-zero padding");
	KernelHashes h;
	h.cmdline = CVM_TRY(loadEntry(table, layout::kCmdline, cmdlineGuid(), "cmdline"));
	h.initrd = CVM_TRY(loadEntry(table, layout::kInitrd, initrdGuid(), "initrd"));
	h.kernel = CVM_TRY(loadEntry(table, layout::kKernel, kernelGuid(), "kernel"));
	return h;
}

} // namespace cvm::sev
