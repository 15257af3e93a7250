// SPDX-License-Identifier: Apache-2.0
//
// The VMSA page (AMD APM vol. 2 "VMCB save state area", Linux struct
// sev_es_save_area). Only the fields a reset vCPU has non-zero are described.
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/vmsa.h"

#include <algorithm>

namespace cvm::sev {

namespace {

// A segment register: u16 selector, u16 attributes, u32 limit, u64 base.
constexpr size_t kEs = 0x00, kCs = 0x10, kSs = 0x20, kDs = 0x30, kFs = 0x40, kGs = 0x50;
constexpr size_t kGdtr = 0x60, kLdtr = 0x70, kIdtr = 0x80, kTr = 0x90;

namespace layout {
constexpr Field kEfer{ 0x0d0, 8 };
constexpr Field kCr4{ 0x148, 8 };
constexpr Field kCr0{ 0x158, 8 };
constexpr Field kDr7{ 0x160, 8 };
constexpr Field kDr6{ 0x168, 8 };
constexpr Field kRflags{ 0x170, 8 };
constexpr Field kRip{ 0x178, 8 };
constexpr Field kGPat{ 0x268, 8 };
constexpr Field kRdx{ 0x310, 8 };
constexpr Field kSevFeatures{ 0x3b0, 8 };
constexpr Field kXcr0{ 0x3e8, 8 };
constexpr Field kMxcsr{ 0x408, 4 };
constexpr Field kX87Fcw{ 0x410, 2 };
} // namespace layout

// Attribute bytes as QEMU's x86_cpu_reset sets them (descriptor bits 8-15, 20-23).
constexpr uint16_t kAttrCode = 0x9b;     // present, code, readable, accessed
constexpr uint16_t kAttrData = 0x93;     // present, data, writable, accessed
constexpr uint16_t kAttrLdt = 0x82;      // present, LDT
constexpr uint16_t kAttrBusyTss = 0x8b;  // present, busy 32-bit TSS

void segment(Bytes &page, size_t at, uint16_t selector, uint16_t attrib, uint32_t limit, uint64_t base)
{
	storeLe16(page, at, selector);
	storeLe16(page, at + 2, attrib);
	storeLe32(page, at + 4, limit);
	storeLe64(page, at + 8, base);
}

} // namespace

uint32_t cpuSignature(uint32_t family, uint32_t model, uint32_t stepping)
{
	stepping &= 0xf;
	model &= 0xff;
	family &= 0xfff;
	uint32_t sig = stepping;
	if (family > 0xf)
		sig |= 0xf00 | ((family - 0xf) << 20);
	else
		sig |= family << 8;
	sig |= ((model & 0xf) << 4) | ((model >> 4) << 16);
	return sig;
}

Bytes buildVmsa(uint32_t resetAddress, const VmsaOptions &o)
{
	Bytes page(kVmsaSize, 0);
	for (size_t seg : { kEs, kSs, kDs, kFs, kGs })
		segment(page, seg, 0, kAttrData, 0xffff, 0);
	segment(page, kCs, 0xf000, kAttrCode, 0xffff, resetAddress & 0xffff0000u);
	segment(page, kGdtr, 0, 0, 0xffff, 0);
	segment(page, kIdtr, 0, 0, 0xffff, 0);
	segment(page, kLdtr, 0, kAttrLdt, 0xffff, 0);
	segment(page, kTr, 0, kAttrBusyTss, 0xffff, 0);

	storeLe64(page, layout::kEfer.offset, 0x1000);  // EFER.SVME (KVM)
	storeLe64(page, layout::kCr4.offset, 0x40);     // CR4.MCE (KVM mirrors the host)
	storeLe64(page, layout::kCr0.offset, 0x10);     // CR0.ET
	storeLe64(page, layout::kDr7.offset, 0x400);
	storeLe64(page, layout::kDr6.offset, 0xffff0ff0);
	storeLe64(page, layout::kRflags.offset, 0x2);
	storeLe64(page, layout::kRip.offset, resetAddress & 0xffffu);
	storeLe64(page, layout::kGPat.offset, 0x0007040600070406ull);
	storeLe64(page, layout::kRdx.offset, o.cpuSignature);
	storeLe64(page, layout::kSevFeatures.offset, o.sevFeatures);
	storeLe64(page, layout::kXcr0.offset, 0x1);
	storeLe32(page, layout::kMxcsr.offset, o.mxcsr);
	storeLe16(page, layout::kX87Fcw.offset, o.x87Fcw);
	return page;
}

Result<VmsaPages> buildVmsas(const OvmfFooterTable &table, const VmsaOptions &options)
{
	std::optional<uint32_t> apReset = CVM_TRY(table.sevEsResetAddress());
	if (!apReset)
		return Error(ErrorCode::InvalidData,
			     "the firmware has no SEV-ES reset block in its OVMF footer table (not an SEV-ES capable OVMF)");
	VmsaPages pages;
	pages.bsp = buildVmsa(kBspResetAddress, options);
	pages.ap = buildVmsa(*apReset, options);
	return pages;
}

} // namespace cvm::sev
