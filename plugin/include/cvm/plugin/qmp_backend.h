// SPDX-License-Identifier: Apache-2.0
//
// The QMP backend of the launch state machine: a QEMU (or cvm-sev-sim)
// process we spawn and drive over its monitor, no libvirt.
//
//   certificates  a probe process (the same ARGS, -S, no SEV object):
//                 query-sev-capabilities, then quit
//   startPaused   dh-cert/session files (base64, 0600) in the private work
//                 dir; ARGS -S -qmp unix:… -object sev-guest,…
//                 -machine confidential-guest-support=…; the files are wiped
//                 and removed as soon as the monitor answers (read at start-up)
//   measure       query-sev-launch-measure, query-sev
//   injectSecret  sev-inject-launch-secret
//   resume        cont
//   destroy       SIGKILL and reap
//
// Every monitor command is bounded by the step timeout; a process that exits
// is reported with how it ended.
//
// The same backend launches a TD (TdxLaunchBackend, qmp_tdx.cpp):
//   checkTdxPlatform  a probe (EMULATOR -S -machine none …): qom-list-types
//                     must offer tdx-guest (QEMU >= 10.1), then quit
//   startTd           ARGS with the -machine wiring, -object <tdx-guest JSON>,
//                     -S -qmp unix:…, -fw_cfg name=opt/org.cvm-launch/tdx-launch,
//                     file=… (the hand-over, removed once the monitor answers)
//   resume, destroy   as above
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gio/gio.h>

#include "cvm/common/gptr.h"
#include "cvm/plugin/launch.h"
#include "cvm/plugin/tdx_launch.h"

namespace cvm::qmp {
class SyncClient;
}

namespace cvm::plugin {

// The answer of query-sev-capabilities.
Result<PlatformCertificates> parseSevCapabilities(JsonNode *reply);

struct QmpBackendOptions {
	std::vector<std::string> command;       // emulator and its arguments (ARGS after --)
	std::string workDir;                    // private (0700), for sockets and session files
	std::string monitorSocket;              // the QMP socket of the guest ("" = in workDir)
	std::chrono::milliseconds stepTimeout{ 60000 };
	std::string sevObjectId = "cvm-sev0";
	// The guest is to keep running after cvm-launch exits (--detach): no
	// parent-death signal. (A cvm-launch killed mid-launch then leaves a
	// paused guest that only the caller's cleanup can find.)
	bool outlivesUs = false;
	// Where the emulator's stdout/stderr go ("" = inherit ours).
	std::string logFile;
};

class QmpBackend : public LaunchBackend, public TdxLaunchBackend
{
public:
	explicit QmpBackend(QmpBackendOptions options);
	~QmpBackend() override;

	Result<PlatformCertificates> certificates() override;
	Status startPaused(const SevStartParameters &parameters) override;
	Result<PlatformMeasurement> measure() override;
	Status injectSecret(const SecureBuffer &header, const SecureBuffer &payload,
			    std::optional<uint64_t> guestAddress) override;
	Status resume() override;
	Status destroy() override;

	Status checkTdxPlatform() override;
	Status startTd(const TdxStartParameters &parameters) override;

	// After a successful launch: the guest keeps running; the backend lets go
	// of it (no kill at destruction). Returns its pid.
	pid_t release();
	// Waits for the guest process to end (the foreground mode of `cvm-launch qemu`).
	int wait();
	const std::string &monitorSocket() const { return options_.monitorSocket; }

private:
	Result<GObjectPtr<GSubprocess>> spawn(const std::vector<std::string> &argv, bool diesWithUs);
	Result<std::unique_ptr<qmp::SyncClient>> connect(GSubprocess *process, const std::string &socket);
	Result<JsonNodePtr> execute(std::string_view command, JsonObject *arguments = nullptr);
	void removeSessionFiles();

	QmpBackendOptions options_;
	GObjectPtr<GSubprocess> process_;
	std::unique_ptr<qmp::SyncClient> monitor_;
	std::vector<std::string> sessionFiles_;
	bool released_ = false;
};

} // namespace cvm::plugin
