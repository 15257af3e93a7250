// SPDX-License-Identifier: Apache-2.0
//
// The QMP-path launch with real components: a simulated SEV platform
// (cvm-sev-sim init, once per program), the real cvm-attestd as a process,
// the VM registered with the real cvm-owner, and `cvm-launch qemu` driving
// cvm-sev-sim. Helpers to prove nothing is left behind: no process that
// mentions the run's directory, no session file, no secret in any log.
#pragma once

#include <functional>
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
	std::string emulator = buildPath("sim/cvm-sev-sim");   // what launch() runs (with the sim's options)

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

// A command in the background (no timeout(1) in between, so signals reach
// it), stdout and stderr into files; killed and reaped at destruction if
// still running.
class Background
{
public:
	Background(const std::vector<std::string> &argv, const std::vector<std::string> &env, const std::string &dir);
	~Background();
	Background(const Background &) = delete;
	Background &operator=(const Background &) = delete;
	int pid() const { return pid_; }
	void signal(int signo);
	// Waits up to `seconds` for the exit: exit status (128+signal), or -1
	// when it still runs; with its output.
	CommandResult wait(int seconds);

private:
	int pid_ = 0;
	bool reaped_ = false;
	int status_ = -1;
	std::string out_, err_;
};

// Polls `condition` every 50 ms for up to `seconds`.
bool waitFor(const std::function<bool()> &condition, double seconds);

// Processes whose command line contains `needle`.
std::vector<int> processesMentioning(const std::string &needle);
// The progress lines of a launch on stderr (not a terminal), in order:
// {"certificates", "ok"}, ..., for the lines of the form
// "cvm-launch: step NAME ok|FAILED (12.3 ms)[: cause]"; a line of another
// form starting with "cvm-launch: step" is returned as {"", line}.
std::vector<std::pair<std::string, std::string>> progressLines(const std::string &stderrText);

// Whether `haystack` contains `secret` raw, as hex or as base64.
bool containsSecret(std::string_view haystack, ByteView secret);

} // namespace cvm::test
