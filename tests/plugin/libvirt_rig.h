// SPDX-License-Identifier: Apache-2.0
//
// The libvirt suite's rig: the shared system libvirtd whose default emulator
// is cvm-sev-shim (CVM_TEST_SEV_SHIM=1 scripts/test-services start BUILDDIR),
// this build's hook, a real cvm-attestd, a guarded domain cvmt-plugin-lv-PID
// defined for the test and undefined after it. Helpers to prove nothing is
// left behind, and to restart or freeze the libvirtd scripts/test-services
// started (only that one).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "cvm/common/bytes.h"
#include "cvm/common/file.h"
#include "daemon_process.h"
#include "launch_rig.h"
#include "test_support.h"

namespace cvm::test {

inline constexpr const char *kLibvirtUri = "qemu:///system";
inline constexpr const char *kHookStateDir = "/run/cvm-launch";   // the hook's (default configuration)

CommandResult virsh(std::vector<std::string> args);

struct LibvirtRig {
	std::string platform;   // the shim's simulated platform (exit 77 without it)
	TempDir dir;
	std::unique_ptr<DaemonProcess> as;
	Bytes luksKey = Bytes(32);
	std::string name = "cvmt-plugin-lv-" + std::to_string(getpid());
	std::string vm = "lv-" + std::to_string(getpid());

	LibvirtRig();
	~LibvirtRig();
	CommandResult owner(std::vector<std::string> args);
	void registerVm(const std::vector<std::string> &reference = { "--firmware", "/usr/share/OVMF/OVMF_CODE.fd" });
	std::vector<std::string> startArgv(const std::vector<std::string> &extra = {}) const;
	CommandResult start(const std::vector<std::string> &extra = {});
	std::unique_ptr<Background> startInBackground(const std::vector<std::string> &extra = {});
	std::string state();
	std::string uuid();
	std::string recordPath() { return std::string(kHookStateDir) + "/" + uuid() + ".json"; }
	std::string audit() { return owner({ "audit", "--vm", vm }).out; }
	// The secret table the guest received, as the simulator holds it.
	Bytes guestSecret();
	// The domain's QEMU (through the shim): "-name guest=NAME,...".
	std::vector<int> qemuProcesses() const { return processesMentioning("guest=" + name + ","); }
	// Shut off, no QEMU, no record (the hook may still be finishing), and
	// the LUKS key in none of `r`, the QEMU log, the AS log.
	void checkNothingLeft(const CommandResult &r);
};

// The libvirtd scripts/test-services started ($STATE/libvirtd.pid), when it
// is the one answering; nullopt when libvirtd runs some other way (tests that
// restart or freeze it then skip that case, with a warning).
std::optional<pid_t> testServicesLibvirtd();
// scripts/test-services stop, then start with the same hook build and shim.
// True when the new libvirtd answers.
bool restartTestServicesLibvirtd();

// SIGSTOP of a process for the life of the object (SIGCONT at the end, even
// when the test fails).
class Frozen
{
public:
	explicit Frozen(pid_t pid);
	~Frozen();
	void thaw();

private:
	pid_t pid_;
	bool frozen_ = false;
};

} // namespace cvm::test
