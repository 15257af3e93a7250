// SPDX-License-Identifier: Apache-2.0
//
// The QMP-path launch with real components: a simulated SEV platform
// (cvm-sev-sim init, once per program), the real cvm-attestd as a process,
// the VM registered with the real cvm-owner, and `cvm-launch qemu` driving
// cvm-sev-sim. Helpers to prove nothing is left behind: no process that
// mentions the run's directory, no session file, no secret in any log.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/file.h"
#include "daemon_process.h"
#include "test_support.h"

namespace cvm::test {

inline constexpr uint64_t kSecretGpa = 0x80f000;

// A platform created on first use in a temp dir kept for the program.
const std::string &simPlatformDir();

struct LaunchRig {
	TempDir dir = std::move(TempDir::create("cvmt-plugin-qmp-").value());
	std::unique_ptr<DaemonProcess> as;
	Bytes luksKey;
	std::string vm = "vm-" + std::to_string(getpid());

	LaunchRig();
	// cvm-owner register for `firmware` with the LUKS key as secret.
	void registerVm(const std::string &firmware = "/usr/share/OVMF/OVMF_CODE.fd", unsigned maxLaunches = 1);
	// cvm-launch qemu [extra] -- cvm-sev-sim --state-dir P -bios FIRMWARE [simArgs]
	CommandResult launch(const std::vector<std::string> &extra, const std::string &server,
			     const std::string &firmware = "/usr/share/OVMF/OVMF_CODE.fd",
			     const std::vector<std::string> &simArgs = {}, const std::vector<std::string> &env = {});
	CommandResult owner(const std::vector<std::string> &args);
	std::string path(const std::string &name) const { return dir.file(name); }
	// On the command line of every simulator this rig starts (and of nothing else).
	std::string simNeedle() const { return "guest=" + dir.path() + "/sim"; }
};

// Processes whose command line contains `needle`.
std::vector<int> processesMentioning(const std::string &needle);
// Whether `haystack` contains `secret` raw, as hex or as base64.
bool containsSecret(std::string_view haystack, ByteView secret);

} // namespace cvm::test
