// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-owner"

#include "digests.h"

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
		{ "cmdline", 0, 0, G_OPTION_ARG_STRING, &i.cmdline, "Kernel command line, exactly as given", "S" },
		{ "num-cpus", 0, 0, G_OPTION_ARG_INT, &i.numCpus, "SEV-ES: vCPU count", "N" },
		{ "cpu-family", 0, 0, G_OPTION_ARG_INT, &i.cpuFamily, "SEV-ES: vCPU family", "N" },
		{ "cpu-model", 0, 0, G_OPTION_ARG_INT, &i.cpuModel, "SEV-ES: vCPU model", "N" },
		{ "cpu-stepping", 0, 0, G_OPTION_ARG_INT, &i.cpuStepping, "SEV-ES: vCPU stepping", "N" },
		{ "vmsa-cpu0", 0, 0, G_OPTION_ARG_FILENAME, &i.vmsaCpu0, "SEV-ES: VMSA of vCPU 0", "F" },
		{ "vmsa-cpu1", 0, 0, G_OPTION_ARG_FILENAME, &i.vmsaCpu1, "SEV-ES: VMSA of the other vCPUs", "F" },
	};
}

Result<std::vector<Bytes>> computeLaunchDigests(const DigestInputs &)
{
	// TEMPORARY until sev/ provides the launch digest computation.
	return Error(ErrorCode::Unsupported,
		     "computing launch digests is not available in this build yet; give --launch-digest HEX");
}

} // namespace cvm::owner
