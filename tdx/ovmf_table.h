// SPDX-License-Identifier: Apache-2.0
//
// Internal: the OVMF "reset vector GUIDed table" at the end of an OVMF image.
// sev/ovmf.h parses the same table (SEV secret area, SEV-ES reset block) and
// also writes it; they stay apart for now: sev/ and tdx/ are siblings (neither
// may use the other), sev's parser works on an image in memory while this one
// reads through ImageReader (files are read in bounded pieces), and a shared
// version would belong in common/ with both fuzz targets re-pointed — a
// refactor of two parsers for ~90 lines, not worth its risk yet.
//
// Layout (read backwards from the end of the image):
//   [size-48, size-32)  footer GUID 96b582de-1fb2-45f7-baea-a366c55a082d
//   [size-50, size-48)  u16 total table length, footer GUID and this u16 included
//   before that, entries walked backwards, each  [data][u16 entry length][GUID]
//   where the entry length counts data + 2 + 16.
#pragma once

#include <optional>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/tdx/image.h"

namespace cvm::tdx::internal {

struct OvmfTableEntry {
	Guid guid;
	uint64_t dataOffset = 0; // absolute offset of the data in the image
	Bytes data;
};

// The table's entries, last entry of the image first (the order QEMU walks it).
// nullopt when the image has no footer GUID (not OVMF, or no table); an error
// when the footer is there but the table is inconsistent.
Result<std::optional<std::vector<OvmfTableEntry>>> readOvmfTable(const ImageReader &image);

// The first entry with `guid`, or nullptr.
const OvmfTableEntry *findOvmfEntry(const std::vector<OvmfTableEntry> &entries, const Guid &guid);

} // namespace cvm::tdx::internal
