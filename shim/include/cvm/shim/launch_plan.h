// SPDX-License-Identifier: Apache-2.0
//
// What the shim reads out of QEMU's command line and how it rewrites it for
// the real QEMU:
//  - the QMP monitors to proxy: "-chardev socket,id=X,fd=N|path=P,server=on"
//    with "-mon chardev=X,mode=control" (libvirt's domains) and
//    "-qmp unix:PATH,server=on,wait=off" (libvirt's capability probe,
//    cvm-launch); each is replaced by a connected socket the shim hands QEMU;
//  - -daemonize and -pidfile, which the shim performs itself (libvirt tracks
//    and kills the pid it is given: that must be the shim);
//  - the SEV guest: "-object sev-guest,..." (or its JSON form) named by
//    "-machine ...,confidential-guest-support=ID" (or memory-encryption=ID),
//    removed from QEMU's command line, with the firmware (pflash unit 0 through
//    libvirt's -blockdev chain, -drive if=pflash or -bios), the direct kernel
//    boot files, the vCPU count and CPU model that its launch measures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/shim/qemu_argv.h"

namespace cvm::shim {

struct MonitorSpec {
	enum class Kind {
		ChardevFd,   // -chardev socket,fd=N (listening or connected, libvirt)
		ChardevPath, // -chardev socket,path=P,server=on
		QmpUnix,     // -qmp unix:P,server=on (libvirt's probe)
	};
	Kind kind = Kind::ChardevFd;
	size_t optionIndex = 0;   // the -chardev or -qmp option in the argv
	std::string chardevId;    // for the chardev kinds
	int fd = -1;              // ChardevFd
	std::string path;         // ChardevPath, QmpUnix
	bool pretty = false;      // -qmp-pretty / -mon pretty=on
};

struct SevGuestSpec {
	std::string id;                 // the object id ("lsec0")
	uint32_t policy = 0x1;          // QEMU's default policy (no debug)
	std::optional<uint32_t> cbitpos;
	std::optional<uint32_t> reducedPhysBits;
	std::string dhCertFile;         // base64 files (libvirt: dh_cert.base64, session.base64)
	std::string sessionFile;
	bool kernelHashes = false;
	std::string sevDevice;          // "sev-device" (ignored: the simulator is the device)

	std::string firmware;           // pflash unit 0 or -bios: what LAUNCH_UPDATE measures
	std::string kernel, initrd, cmdline;
	unsigned vcpus = 1;             // -smp (for SEV-ES VMSAs)
	std::string cpuModel;           // -cpu, first element
	std::string machineType;        // -machine type
};

struct LaunchPlan {
	std::vector<QemuOption> options;     // the argv as given
	std::vector<MonitorSpec> monitors;   // QMP monitors the shim proxies
	bool daemonize = false;
	bool startPaused = false;            // -S (QEMU runs the guest at once without it)
	std::optional<std::string> pidfile;
	std::optional<SevGuestSpec> sev;

	// Options the rewrite drops (-daemonize, -pidfile, the sev-guest object)
	// or changes (the machine, the monitors).
	std::vector<size_t> dropped;
	std::optional<size_t> machineIndex;
};

// Reads the options. Fails on a command line that QEMU would refuse for the
// SEV parts (two sev-guest objects, confidential-guest-support naming an
// object that is not there, a sev-guest without a firmware, bad numbers).
Result<LaunchPlan> analyzeQemuArgv(std::vector<QemuOption> options);

// QEMU's argv (without argv[0]) for `plan`: the SEV object, the machine's
// confidential-guest-support, -daemonize and -pidfile removed, and monitor i
// replaced by "-chardev socket,id=...,fd=monitorFds[i]" (a connected socket)
// (plus "-mon ...,mode=control" for a -qmp). monitorFds.size() must equal
// plan.monitors.size().
std::vector<std::string> rewriteForQemu(const LaunchPlan &plan, const std::vector<int> &monitorFds);

} // namespace cvm::shim
