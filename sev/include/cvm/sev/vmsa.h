// SPDX-License-Identifier: Apache-2.0
//
// SEV-ES initial vCPU save areas (VMSA pages), measured by
// LAUNCH_UPDATE_VMSA in vCPU order after the firmware (and hashes table).
//
// buildVmsa() writes the page exactly as libvirt's virt-qemu-sev-validate
// generates it for QEMU/KVM: the AMD64 INIT state, KVM's EFER.SVME, CR4.MCE
// and PAT, QEMU's segment attributes, RDX = the vCPU's CPUID(1).EAX
// signature; MXCSR, x87 FCW and SEV features zero. The BSP starts at the
// architectural reset vector, the APs at the SEV-ES reset block address from
// the OVMF footer table. The same pages as sevctl's captured vmsa0/vmsa1.bin.
//
// Hosts differ (Linux >= 6.10 sets MXCSR 0x1f80 and FCW 0x37f; some kernels
// set SEV features such as DebugSwap): VmsaOptions exposes those fields, and
// VMSA files captured from the real host remain the most reliable input.
#pragma once

#include <cstdint>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/sev/ovmf.h"

namespace cvm::sev {

inline constexpr size_t kVmsaSize = 4096;
// The BSP's reset vector: CS base 0xffff0000, RIP 0xfff0.
inline constexpr uint32_t kBspResetAddress = 0xfffffff0;

// CPUID(1).EAX for a family/model/stepping, the way virt-qemu-sev-validate
// encodes it (extended family above 0xf, extended model from model >> 4).
uint32_t cpuSignature(uint32_t family, uint32_t model, uint32_t stepping);

struct VmsaOptions {
	uint32_t cpuSignature = 0; // RDX at reset
	uint32_t mxcsr = 0;
	uint16_t x87Fcw = 0;
	uint64_t sevFeatures = 0;
};

// One 4096-byte VMSA page for a vCPU starting at `resetAddress`.
Bytes buildVmsa(uint32_t resetAddress, const VmsaOptions &options);

struct VmsaPages {
	Bytes bsp; // vCPU 0
	Bytes ap;  // every other vCPU
};

// The BSP and AP pages for this firmware. Fails (InvalidData) when the table
// has no SEV-ES reset block.
Result<VmsaPages> buildVmsas(const OvmfFooterTable &table, const VmsaOptions &options);

} // namespace cvm::sev
