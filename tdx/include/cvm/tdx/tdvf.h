// SPDX-License-Identifier: Apache-2.0
//
// TDVF metadata: the table in an OVMF/TDVF (or td-shim) image that tells the
// VMM which parts of the image go where in guest memory and which pages are
// measured into MRTD (TDVF Design Guide, "TDVF Metadata").
//
// Located through the OVMF GUIDed table entry e47a6535-984a-4798-865e-4685a7bf8ec2,
// whose 4 data bytes hold the descriptor's offset *from the end* of the image;
// td-shim images without that table keep the descriptor's absolute offset in
// the u32 at size-0x20. The descriptor ("TDVF", length, version 1, n) is
// followed by n 32-byte section entries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/tdx/image.h"

namespace cvm::tdx {

// Whose loading rules to apply. They differ in which images they accept and
// in how they measure them (see mrtd.h and docs/tdx.md).
enum class TdvfLoader {
	// QEMU (>= 10.1, hw/i386/tdvf.c + target/i386/kvm/tdx.c) with KVM: only
	// section types 0-3, at least 2 sections, a TD_HOB section, OVMF table
	// required. The default: it is how a TD is actually launched here.
	Qemu,
	// td-shim's reference tool (td-shim-tee-info-hash): td-shim section types
	// too, the size-0x20 pointer fallback, metadata GUID required.
	TdShim,
};

const char *tdvfLoaderName(TdvfLoader loader); // "qemu", "td-shim"

namespace tdvf {
constexpr uint32_t kTypeBfv = 0;
constexpr uint32_t kTypeCfv = 1;
constexpr uint32_t kTypeTdHob = 2;
constexpr uint32_t kTypeTempMem = 3;
constexpr uint32_t kTypePermMem = 4;     // td-shim
constexpr uint32_t kTypePayload = 5;     // td-shim
constexpr uint32_t kTypePayloadParam = 6; // td-shim
constexpr uint32_t kTypeTdInfo = 7;      // td-shim
constexpr uint32_t kTypeTdParams = 8;    // td-shim

constexpr uint32_t kAttrMrExtend = 1u << 0; // pages are also TDH.MR.EXTENDed
constexpr uint32_t kAttrPageAug = 1u << 1;  // td-shim: added later by PAGE.AUG, not measured

constexpr uint64_t kPageSize = 4096;
} // namespace tdvf

struct TdvfSection {
	uint32_t dataOffset = 0;     // in the image
	uint32_t rawDataSize = 0;    // bytes in the image
	uint64_t memoryAddress = 0;  // guest physical address
	uint64_t memoryDataSize = 0; // bytes in guest memory (page multiple)
	uint32_t type = 0;
	uint32_t attributes = 0;

	bool mrExtend() const { return attributes & tdvf::kAttrMrExtend; }
	bool pageAug() const { return attributes & tdvf::kAttrPageAug; }
};

enum class TdvfLocation { OvmfTable, TdShimPointer };

struct TdvfMetadata {
	TdvfLocation location = TdvfLocation::OvmfTable;
	uint64_t descriptorOffset = 0; // absolute offset of "TDVF" in the image
	bool guidPresent = false;      // the metadata GUID precedes the descriptor
	uint32_t version = 0;
	std::vector<TdvfSection> sections;
};

// Finds and validates the metadata with every offset and length checked
// against the image and the loader's rules. Messages name the section and
// the rule ("section 2 (TD_HOB): RawDataSize 0x1000 must be 0").
Result<TdvfMetadata> parseTdvfMetadata(const ImageReader &image, TdvfLoader loader = TdvfLoader::Qemu);

// "BFV", "CFV", "TD_HOB", "TEMP_MEM", ... or "type N".
std::string tdvfSectionTypeName(uint32_t type);
// "MR.EXTEND|PAGE.AUG", "none", with unknown bits as hex.
std::string tdvfAttributesText(uint32_t attributes);

} // namespace cvm::tdx
