// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-owner"

#include "digests.h"

#include <optional>
#include <string>

#include "cvm/sev/launch_digest.h"

namespace cvm::owner {

DigestInputs::~DigestInputs()
{
	for (gchar *p : { firmware, kernel, initrd, cmdline, vmsaCpu0, vmsaCpu1 })
		g_free(p);
}

std::vector<GOptionEntry> digestInputEntries(DigestInputs &i)
{
	return {
		{ "firmware", 0, 0, G_OPTION_ARG_FILENAME, &i.firmware, "Compute the digest: OVMF (CODE) image", "F" },
		{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &i.kernel, "Direct-boot kernel (kernel hashes)", "F" },
		{ "initrd", 0, 0, G_OPTION_ARG_FILENAME, &i.initrd, "Direct-boot initrd", "F" },
		{ "cmdline", 0, 0, G_OPTION_ARG_FILENAME, &i.cmdline, "Kernel command line, exactly as given (bytes)", "S" },
		{ "num-cpus", 0, 0, G_OPTION_ARG_INT, &i.numCpus, "SEV-ES: vCPU count", "N" },
		{ "cpu-family", 0, 0, G_OPTION_ARG_INT, &i.cpuFamily, "SEV-ES: vCPU family", "N" },
		{ "cpu-model", 0, 0, G_OPTION_ARG_INT, &i.cpuModel, "SEV-ES: vCPU model", "N" },
		{ "cpu-stepping", 0, 0, G_OPTION_ARG_INT, &i.cpuStepping, "SEV-ES: vCPU stepping", "N" },
		{ "vmsa-cpu0", 0, 0, G_OPTION_ARG_FILENAME, &i.vmsaCpu0, "SEV-ES: VMSA of vCPU 0", "F" },
		{ "vmsa-cpu1", 0, 0, G_OPTION_ARG_FILENAME, &i.vmsaCpu1, "SEV-ES: VMSA of the other vCPUs", "F" },
	};
}

namespace {

std::optional<std::string> opt(const gchar *s)
{
	return s ? std::optional<std::string>(s) : std::nullopt;
}

Error usage(const std::string &message)
{
	return Error(ErrorCode::InvalidArgument, message);
}

// The SEV-ES half: vCPU count and either VMSA files or the CPU signature the
// pages are generated for.
Status sevEsInputs(const DigestInputs &i, sev::LaunchDigestInputs &in)
{
	bool sku = i.cpuFamily >= 0 || i.cpuModel >= 0 || i.cpuStepping >= 0;
	bool vmsaFiles = i.vmsaCpu0 || i.vmsaCpu1;
	if (!i.sevEs) {
		if (sku || vmsaFiles || i.numCpus != 1)
			return usage("--num-cpus, --cpu-family/model/stepping and --vmsa-cpu0/1 are for "
				     "--scheme amd-sev-es (policy bit 0x4)");
		return {};
	}
	if (i.numCpus < 1 || i.numCpus > 4096)
		return usage("--num-cpus must be 1..4096");
	in.numCpus = static_cast<unsigned>(i.numCpus);
	if (sku && vmsaFiles)
		return usage("give either --vmsa-cpu0/1 files or --cpu-family/model/stepping, not both");
	if (sku) {
		if (i.cpuFamily < 0 || i.cpuModel < 0 || i.cpuStepping < 0)
			return usage("--cpu-family, --cpu-model and --cpu-stepping go together");
		if (i.cpuFamily > 0xfff || i.cpuModel > 0xff || i.cpuStepping > 0xf)
			return usage("--cpu-family (0-4095), --cpu-model (0-255), --cpu-stepping (0-15) out of range");
		in.cpuSku = sev::CpuSku{ static_cast<uint32_t>(i.cpuFamily), static_cast<uint32_t>(i.cpuModel),
					 static_cast<uint32_t>(i.cpuStepping) };
	} else if (!vmsaFiles) {
		return usage("SEV-ES measures the vCPUs' initial state: give --cpu-family/--cpu-model/--cpu-stepping "
			     "of the host CPU, or --vmsa-cpu0 (and --vmsa-cpu1) files");
	}
	in.vmsaCpu0 = opt(i.vmsaCpu0);
	in.vmsaCpu1 = opt(i.vmsaCpu1);
	return {};
}

} // namespace

Result<std::vector<Bytes>> computeLaunchDigests(const DigestInputs &i)
{
	if (!i.firmware)
		return usage("--firmware is required to compute a launch digest");
	if ((i.initrd || i.cmdline) && !i.kernel)
		return usage("--initrd and --cmdline are measured with a direct-boot --kernel only");
	sev::LaunchDigestInputs in;
	in.firmware = i.firmware;
	in.kernel = opt(i.kernel);
	in.initrd = opt(i.initrd);
	in.cmdline = opt(i.cmdline);
	in.sevEs = i.sevEs;
	CVM_CHECK(sevEsInputs(i, in));
	auto report = sev::computeLaunchDigest(in);
	if (!report)
		return report.error().withContext("computing the launch digest");
	g_debug("launch digest %s over %llu firmware bytes, %u VMSA page(s)", toHex(report->launchDigest).c_str(),
		static_cast<unsigned long long>(report->firmwareSize), report->vmsaCount);
	return std::vector<Bytes>{ Bytes(report->launchDigest.begin(), report->launchDigest.end()) };
}

} // namespace cvm::owner
