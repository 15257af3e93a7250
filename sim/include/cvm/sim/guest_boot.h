// SPDX-License-Identifier: Apache-2.0
//
// What QEMU does to a SEV guest between KVM init and the first QMP command
// (target/i386/sev.c, hw/i386/pc_sysfw.c, x86.c): LAUNCH_START with the
// sev-guest object's files, LAUNCH_UPDATE_DATA of pflash unit 0 / -bios,
// of the SEV hashes table (kernel-hashes=on with -kernel), LAUNCH_UPDATE_VMSA
// per vCPU for SEV-ES, then LAUNCH_MEASURE. Errors carry QEMU's texts so the
// process can print them as QEMU would before exiting 1.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cvm/common/error.h"
#include "cvm/sim/guest_launch.h"
#include "cvm/sim/platform.h"
#include "cvm/sim/qemu_options.h"

namespace cvm::sim {

struct GuestBootConfig {
	SevGuestObject sev;
	std::string firmware;
	std::optional<std::string> kernel, initrd, append;
	unsigned vcpus = 1;
	uint32_t cpuSignature = 0x800f12; // EPYC-v4
	// Stop after LAUNCH_START + updates (no measure): tests of launch-update.
	bool skipMeasure = false;
	// Fault knob wrong-measurement (GuestLaunch::setCorruptMeasurement).
	bool corruptMeasurement = false;
};

struct BootedGuest {
	std::unique_ptr<GuestLaunch> launch;
	// The OVMF secret area (sev-inject-launch-secret's default gpa), if any.
	std::optional<uint64_t> secretAreaBase;
	std::optional<uint32_t> secretAreaSize;
};

// Each failure's message is QEMU's stderr line(s) without the program name:
// "sev_launch_start: LAUNCH_START ret=1 fw_error=11 'Bad measurement'" etc.
Result<BootedGuest> bootSevGuest(const Platform &platform, const GuestBootConfig &config);

} // namespace cvm::sim
