// SPDX-License-Identifier: Apache-2.0
//
// The launch digest (LD): the firmware's running SHA-256 over every
// LAUNCH_UPDATE_DATA and LAUNCH_UPDATE_VMSA buffer in command order. With
// QEMU and OVMF:
//
//   SEV:     LD = SHA-256(FW || [padded hashes table])
//   SEV-ES:  LD = SHA-256(FW || [padded hashes table] || VMSA_0 || ... || VMSA_{n-1})
//
// FW is the whole pflash unit 0 image (OVMF_CODE with split images; VARS are
// not measured). LaunchDigest is the incremental form (the simulator feeds it
// as it "loads" the guest); computeLaunchDigest() is the owner's whole
// computation from files, streaming every file in bounded chunks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/digest.h"
#include "cvm/common/error.h"
#include "cvm/sev/kernel_hashes.h"
#include "cvm/sev/measurement.h"
#include "cvm/sev/vmsa.h"

namespace cvm::sev {

// Error tag when the firmware cannot measure what was asked for (kernel hashes
// with an OVMF whose hash-table entry is absent or zero). ErrorCode::Unsupported.
inline constexpr std::string_view kTagKernelHashesUnsupported = "kernel-hashes-unsupported";

class LaunchDigest
{
public:
	static Result<LaunchDigest> create();

	// A LAUNCH_UPDATE_DATA buffer.
	Status addData(ByteView data);
	// A whole file as one LAUNCH_UPDATE_DATA (the firmware image); streamed.
	Result<uint64_t> addFile(const std::string &path);
	// A LAUNCH_UPDATE_VMSA page: exactly 4096 bytes.
	Status addVmsa(ByteView vmsa);

	// The digest; the object cannot be used afterwards.
	Result<Digest256> finish();

private:
	explicit LaunchDigest(Hasher h) : hasher_(std::move(h)) {}
	Hasher hasher_;
};

struct CpuSku {
	uint32_t family = 0;
	uint32_t model = 0;
	uint32_t stepping = 0;
};

struct LaunchDigestInputs {
	std::string firmware;
	// Direct kernel boot with kernel-hashes=on: the hashes table is measured.
	std::optional<std::string> kernel;
	std::optional<std::string> initrd;
	std::optional<std::string> cmdline;

	bool sevEs = false;
	unsigned numCpus = 0;                  // SEV-ES: >= 1
	// SEV-ES vCPU state: VMSA files (cpu1 required when numCpus > 1) ...
	std::optional<std::string> vmsaCpu0;
	std::optional<std::string> vmsaCpu1;
	// ... or pages generated for this CPU (VmsaOptions::cpuSignature is set from it).
	std::optional<CpuSku> cpuSku;
	VmsaOptions vmsaOptions;
};

// What was measured, for --json and logs (no secrets here).
struct LaunchDigestReport {
	Digest256 launchDigest{};
	uint64_t firmwareSize = 0;
	std::optional<KernelHashes> kernelHashes;
	unsigned vmsaCount = 0;
};

// Refuses (InvalidArgument) contradictory inputs, (Unsupported, tag
// kTagKernelHashesUnsupported) kernel hashes the firmware has no area for.
Result<LaunchDigestReport> computeLaunchDigest(const LaunchDigestInputs &inputs);

} // namespace cvm::sev
