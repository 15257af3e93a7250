// SPDX-License-Identifier: Apache-2.0
//
// MRTD: the build-time measurement the TDX module accumulates while the VMM
// adds the TDVF sections to the TD (TDH.MEM.PAGE.ADD, TDH.MR.EXTEND), computed
// here from the firmware image alone so that it can be published as a
// reference value.
//
// For every section, in metadata order, and every 4 KiB page at gpa:
//   SHA-384 update with a 128-byte record "MEM.PAGE.ADD" | u64 gpa at 16 | zeros
//   if the section has MR.EXTEND, for each 256-byte chunk k of the page:
//     a 128-byte record "MR.EXTEND" | u64 (gpa + 256 k) at 16 | zeros, then the chunk
// (KVM's KVM_TDX_INIT_MEM_REGION adds a page and then extends it, page by page.)
//
// The two loaders differ in what the page contents are and which pages are added:
//   Qemu    BFV/CFV pages come from the image: MemoryDataSize bytes read from
//           DataOffset (no zero padding); TEMP_MEM pages are zeros; every section
//           is PAGE.ADDed (QEMU ignores PAGE.AUG); a TD_HOB section with
//           MR.EXTEND is refused, its content depends on the VM's memory map.
//   TdShim  RawDataSize bytes from the image, zero padded to MemoryDataSize;
//           sections with PAGE.AUG are not PAGE.ADDed (td-shim-tee-info-hash).
// For stock OVMF (RawDataSize == MemoryDataSize, no PAGE.AUG) both agree.
#pragma once

#include <cstdint>

#include "cvm/common/error.h"
#include "cvm/tdx/image.h"
#include "cvm/tdx/tdvf.h"
#include "cvm/tdx/types.h"

namespace cvm::tdx {

struct MrtdOptions {
	TdvfLoader loader = TdvfLoader::Qemu;
	// Refuse images that add more pages than this (default: 1 GiB of guest
	// memory) rather than hash for minutes; real TDVF images add a few MiB.
	uint64_t maxPages = uint64_t(1) << 18;
};

struct MrtdResult {
	Sha384Digest mrtd{};
	TdvfMetadata metadata;
	uint64_t pagesAdded = 0;    // TDH.MEM.PAGE.ADD records
	uint64_t pagesExtended = 0; // pages measured by TDH.MR.EXTEND (16 records each)
};

// Parses the metadata (with the loader's rules) and computes MRTD.
Result<MrtdResult> computeMrtd(const ImageReader &image, const MrtdOptions &options = {});

} // namespace cvm::tdx
