// SPDX-License-Identifier: Apache-2.0
//
// The OVMF footer GUID table ("reset vector GUIDed table") at the end of an
// OVMF image, where QEMU finds the SEV areas:
//
//   [end-48, end-32)  footer GUID 96b582de-1fb2-45f7-baea-a366c55a082d
//   [end-50, end-48)  u16 total table length (this u16 and the GUID included)
//   before that, entries read backwards: data || u16 entry length || GUID,
//   the entry length counting data + 18.
//
// Every length is checked against what precedes it; a table whose entries do
// not tile it exactly, or that names a GUID twice, is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm::sev {

namespace ovmf_guid {
const Guid &footer();          // 96b582de-1fb2-45f7-baea-a366c55a082d
const Guid &sevHashTable();    // 7255371f-3a3b-4b04-927b-1da6efa8d454 {u32 base, u32 size}
const Guid &sevSecret();       // 4c2eb361-7d9b-4cc3-8081-127c90d3d294 {u32 base, u32 size}
const Guid &sevEsResetBlock(); // 00f771de-1a7e-4fcb-890e-68c77e2fb44e u32 AP reset address
const Guid &sevMetadata();     // dc886566-984a-4798-a75e-5585a7bf67cc (SNP)
const Guid &tdxMetadata();     // e47a6535-984a-4798-865e-4685a7bf8ec2
} // namespace ovmf_guid

// A guest-physical area named by the table.
struct GuestArea {
	uint32_t base = 0;
	uint32_t size = 0;
};

struct OvmfTableEntry {
	Guid guid;
	Bytes data;
};

// The largest number of bytes the table can occupy at the end of an image
// (u16 length + the 32-byte gap after the footer GUID).
inline constexpr size_t kOvmfTableMaxTail = 0xffff + 32;

class OvmfFooterTable
{
public:
	// `image` is the whole image or any tail of it (the table is read from its
	// end). NotFound when there is no footer GUID; InvalidData when the table
	// is inconsistent.
	static Result<OvmfFooterTable> parse(ByteView image);
	// Reads only the tail of the file.
	static Result<OvmfFooterTable> readFile(const std::string &path);

	// In the order QEMU walks them: the entry next to the footer first.
	const std::vector<OvmfTableEntry> &entries() const { return entries_; }
	const OvmfTableEntry *find(const Guid &guid) const;

	// The SEV hash-table area; nullopt when the entry is absent or zero-sized
	// (the firmware cannot measure a direct-boot kernel). InvalidData when the
	// entry is not 8 bytes.
	Result<std::optional<GuestArea>> sevHashTableArea() const;
	// The launch-secret area (sev-inject-launch-secret's default GPA).
	Result<std::optional<GuestArea>> sevSecretArea() const;
	// The SEV-ES AP reset address; nullopt when absent.
	Result<std::optional<uint32_t>> sevEsResetAddress() const;

private:
	std::vector<OvmfTableEntry> entries_;
};

// Serialises entries (entries[0] next to the footer) into table || u16 total
// || footer GUID: the bytes that end 32 bytes before the end of an image. For
// tests and for building firmware fixtures.
Bytes buildOvmfFooterTable(const std::vector<OvmfTableEntry> &entries);

} // namespace cvm::sev
