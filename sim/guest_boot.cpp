// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/guest_boot.h"

#include <glib.h>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/sev/kernel_hashes.h"
#include "cvm/sev/ovmf.h"
#include "cvm/sev/vmsa.h"
#include "cvm/sim/firmware_status.h"

namespace cvm::sim {

namespace {

constexpr const char *kContextFailed = "\nsev_kvm_init: failed to create encryption context";

Error fail(std::string text)
{
	return Error(ErrorCode::InvalidArgument, std::move(text));
}

// QEMU's sev_read_file_base64: g_file_get_contents + g_base64_decode (lenient).
Result<Bytes> readBase64File(const std::string &path)
{
	GError *raw = nullptr;
	gchar *text = nullptr;
	gsize size = 0;
	if (!g_file_get_contents(path.c_str(), &text, &size, &raw)) {
		GErrorPtr err(raw);
		return fail("SEV: Failed to read '" + path + "' (" + err->message + ")" + kContextFailed);
	}
	GCharPtr owned(text);
	gsize len = 0;
	guchar *data = g_base64_decode(text, &len);
	Bytes out(data, data + len);
	g_free(data);
	return out;
}

Result<LaunchStartParams> startParams(const SevGuestObject &sev)
{
	LaunchStartParams p;
	p.policy = sev.policy;
	p.handle = sev.handle;
	if (sev.dhCertFile)
		p.godhCert = CVM_TRY(readBase64File(*sev.dhCertFile));
	if (sev.sessionFile)
		p.session = CVM_TRY(readBase64File(*sev.sessionFile));
	return p;
}

// sev_encrypt_flash's failure (the firmware image and the hashes table alike):
// sev_launch_update_data's line, then its own.
std::string updateFailure(const Error &e)
{
	g_info("LAUNCH_UPDATE_DATA refused: %s", e.message().c_str());
	return "sev_launch_update_data: LAUNCH_UPDATE " + qemuFwErrorText(e) + "\nSEV: Failed to encrypt pflash rom";
}

Status checkPhysBits(const Platform &platform, const SevGuestObject &sev)
{
	uint32_t host = platform.identity().cbitpos;
	uint32_t requested = sev.cbitpos.value_or(0);
	if (requested != host)
		return fail("sev_kvm_init: cbitpos check failed, host '" + std::to_string(host) + "' requested '" +
			    std::to_string(requested) + "'");
	uint32_t rpb = sev.reducedPhysBits.value_or(0);
	if (rpb < 1)
		return fail("sev_kvm_init: reduced_phys_bits check failed, it should be >=1, requested '" +
			    std::to_string(rpb) + "'");
	return {};
}

Status measureKernelHashes(GuestLaunch &launch, const GuestBootConfig &config, const sev::OvmfFooterTable *table)
{
	auto area = table ? table->sevHashTableArea() : Result<std::optional<sev::GuestArea>>(std::nullopt);
	if (!area)
		return fail("SEV: " + area.error().message());
	if (!*area)
		return fail("SEV: kernel specified but guest firmware has no hashes table GUID");
	if ((*area)->size < sev::kPaddedSevHashTableSize) {
		GCharPtr text(g_strdup_printf("SEV: guest firmware hashes table area is invalid (base=0x%x size=0x%x)",
					      (*area)->base, (*area)->size));
		return fail(text.get());
	}
	auto hashes = sev::hashKernelFiles(*config.kernel, config.initrd, config.append);
	if (!hashes)
		return fail("SEV: " + hashes.error().message());
	Bytes tableBytes = sev::buildSevHashTable(*hashes);
	if (Status s = launch.updateData(tableBytes); !s)
		return fail(updateFailure(s.error()));
	return {};
}

Status measureVmsas(GuestLaunch &launch, const GuestBootConfig &config, const sev::OvmfFooterTable *table)
{
	if (!table || !table->find(sev::ovmf_guid::sevEsResetBlock()))
		return fail("SEV information block/Firmware GUID Table block not found in pflash rom");
	sev::VmsaOptions options;
	options.cpuSignature = config.cpuSignature;
	sev::VmsaPages pages = CVM_TRY(sev::buildVmsas(*table, options));
	for (unsigned cpu = 0; cpu < config.vcpus; ++cpu)
		if (Status s = launch.updateVmsa(cpu == 0 ? pages.bsp : pages.ap); !s)
			return fail("sev_launch_update_vmsa: LAUNCH_UPDATE_VMSA " + qemuFwErrorText(s.error()));
	return {};
}

} // namespace

Result<BootedGuest> bootSevGuest(const Platform &platform, const GuestBootConfig &config)
{
	CVM_CHECK(checkPhysBits(platform, config.sev));
	LaunchStartParams params = CVM_TRY(startParams(config.sev));
	auto launch = GuestLaunch::start(platform, params);
	if (!launch) {
		int status = firmwareStatus(launch.error()).value_or(static_cast<int>(FwStatus::InvalidParam));
		g_info("LAUNCH_START refused: %s", launch.error().message().c_str());
		return fail("sev_launch_start: LAUNCH_START ret=1 fw_error=" + std::to_string(status) + " '" +
			    fwStatusText(status) + "'" + kContextFailed);
	}
	BootedGuest guest;
	guest.launch = std::move(launch).value();
	guest.launch->setCorruptMeasurement(config.corruptMeasurement);

	auto image = readFile(config.firmware, 64u << 20);
	if (!image)
		return fail("Could not open '" + config.firmware + "': " + image.error().message());
	auto parsed = sev::OvmfFooterTable::parse(*image);
	const sev::OvmfFooterTable *table = parsed ? &*parsed : nullptr;
	if (Status s = guest.launch->updateData(*image); !s)
		return fail(updateFailure(s.error()));
	if (config.kernel && config.sev.kernelHashes)
		CVM_CHECK(measureKernelHashes(*guest.launch, config, table));
	if (guest.launch->sevEs())
		CVM_CHECK(measureVmsas(*guest.launch, config, table));
	if (table)
		if (auto area = table->sevSecretArea(); area && *area) {
			guest.secretAreaBase = (*area)->base;
			guest.secretAreaSize = (*area)->size;
		}
	if (!config.skipMeasure) {
		auto m = guest.launch->measure();
		if (!m)
			return fail("sev_launch_get_measure: LAUNCH_MEASURE: " + m.error().message());
	}
	return guest;
}

} // namespace cvm::sim
