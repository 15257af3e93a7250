// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/launch_digest.h"

#include <algorithm>
#include <glib.h>

#include "cvm/common/file.h"
#include "crypto_internal.h"

namespace cvm::sev {

Result<LaunchDigest> LaunchDigest::create()
{
	return LaunchDigest(CVM_TRY(Hasher::create(DigestAlgorithm::Sha256)));
}

Status LaunchDigest::addData(ByteView data)
{
	return hasher_.update(data);
}

Result<uint64_t> LaunchDigest::addFile(const std::string &path)
{
	return updateFromFile(hasher_, path);
}

Status LaunchDigest::addVmsa(ByteView vmsa)
{
	if (vmsa.size() != kVmsaSize)
		return Error(ErrorCode::InvalidArgument, "a VMSA page must be 4096 bytes, not " +
								 std::to_string(vmsa.size()));
	return hasher_.update(vmsa);
}

Result<Digest256> LaunchDigest::finish()
{
	Bytes d = CVM_TRY(hasher_.finish());
	Digest256 out;
	std::copy(d.begin(), d.end(), out.begin());
	return out;
}

namespace {

Status checkInputs(const LaunchDigestInputs &in)
{
	auto usage = [](const std::string &m) { return Error(ErrorCode::InvalidArgument, m); };
	if (in.firmware.empty())
		return usage("the firmware image is required");
	if (!in.kernel && (in.initrd || in.cmdline))
		return usage("an initrd or command line is measured only with a kernel");
	bool files = in.vmsaCpu0 || in.vmsaCpu1;
	if (!in.sevEs) {
		if (files || in.cpuSku)
			return usage("VMSA inputs are measured only for SEV-ES");
		return {};
	}
	if (in.numCpus < 1)
		return usage("SEV-ES needs the number of vCPUs (at least 1)");
	if (files && in.cpuSku)
		return usage("give either VMSA files or the CPU family/model/stepping, not both");
	if (!files && !in.cpuSku)
		return usage("SEV-ES needs the VMSA files or the CPU family/model/stepping");
	if (files && !in.vmsaCpu0)
		return usage("a VMSA for the additional vCPUs also needs the boot vCPU's VMSA");
	if (files && in.numCpus > 1 && !in.vmsaCpu1)
		return usage("SEV-ES with more than one vCPU needs the VMSA of the additional vCPUs");
	return {};
}

Result<Bytes> readVmsa(const std::string &path)
{
	Bytes page = CVM_TRY(readFile(path, kVmsaSize + 1));
	if (page.size() != kVmsaSize)
		return Error(ErrorCode::InvalidData, path + ": a VMSA must be 4096 bytes, not " +
							     std::to_string(page.size()));
	return page;
}

Status requireHashArea(const OvmfFooterTable &table, const std::string &firmware)
{
	auto unsupported = [&](const std::string &why) {
		return internal::tagged(ErrorCode::Unsupported,
					firmware + " cannot measure a direct-boot kernel: " + why +
						" (use an OVMF built for SEV kernel hashes, e.g. the AmdSev build)",
					kTagKernelHashesUnsupported);
	};
	std::optional<GuestArea> area = CVM_TRY(table.sevHashTableArea());
	if (!area)
		return unsupported("its SEV hash-table entry is absent or zero");
	if (area->size < kPaddedSevHashTableSize)
		return unsupported("its SEV hash-table area (" + std::to_string(area->size) +
				   " bytes) is smaller than the 176-byte table");
	return {};
}

Result<VmsaPages> vmsaPages(const LaunchDigestInputs &in, const std::optional<OvmfFooterTable> &table)
{
	if (in.cpuSku) {
		VmsaOptions o = in.vmsaOptions;
		o.cpuSignature = cpuSignature(in.cpuSku->family, in.cpuSku->model, in.cpuSku->stepping);
		return buildVmsas(*table, o);
	}
	VmsaPages pages;
	pages.bsp = CVM_TRY(readVmsa(*in.vmsaCpu0));
	if (in.vmsaCpu1)
		pages.ap = CVM_TRY(readVmsa(*in.vmsaCpu1));
	return pages;
}

} // namespace

Result<LaunchDigestReport> computeLaunchDigest(const LaunchDigestInputs &in)
{
	CVM_CHECK(checkInputs(in));
	std::optional<OvmfFooterTable> table;
	if (in.kernel || in.cpuSku) {
		auto t = OvmfFooterTable::readFile(in.firmware);
		if (!t && t.error().code() == ErrorCode::NotFound && in.kernel)
			return internal::tagged(ErrorCode::Unsupported,
						in.firmware + " cannot measure a direct-boot kernel: " +
							t.error().message(),
						kTagKernelHashesUnsupported);
		if (!t)
			return std::move(t).error();
		table = std::move(t).value();
	}
	if (in.kernel)
		CVM_CHECK(requireHashArea(*table, in.firmware));

	LaunchDigestReport report;
	std::optional<VmsaPages> pages;
	if (in.sevEs)
		pages = CVM_TRY(vmsaPages(in, table));
	if (in.kernel)
		report.kernelHashes = CVM_TRY(hashKernelFiles(*in.kernel, in.initrd, in.cmdline));

	LaunchDigest ld = CVM_TRY(LaunchDigest::create());
	report.firmwareSize = CVM_TRY(ld.addFile(in.firmware));
	if (report.kernelHashes)
		CVM_CHECK(ld.addData(buildSevHashTable(*report.kernelHashes)));
	if (pages) {
		CVM_CHECK(ld.addVmsa(pages->bsp));
		for (unsigned i = 1; i < in.numCpus; ++i)
			CVM_CHECK(ld.addVmsa(pages->ap));
		report.vmsaCount = in.numCpus;
	}
	report.launchDigest = CVM_TRY(ld.finish());
	g_debug("launch digest of %s: %s", in.firmware.c_str(), toHex(report.launchDigest).c_str());
	return report;
}

} // namespace cvm::sev
