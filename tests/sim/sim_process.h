// SPDX-License-Identifier: Apache-2.0
//
// A cvm-sev-sim process for integration tests: spawned with QEMU arguments
// and a QMP socket in a temporary directory, stderr captured, connected to
// with our QMP SyncClient.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gio/gio.h>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/qmp/sync_client.h"

namespace cvm::sim::test {

class SimProcess
{
public:
	// argv after the executable; `--state-dir` and `-qmp` are added unless
	// `bare` (then exactly `args`).
	SimProcess(const TempDir &dir, std::vector<std::string> args, std::vector<std::string> env = {},
		   bool bare = false);
	// With a state directory of the caller's (e.g. made by `cvm-sev-sim
	// init`) instead of the shared platform; `-qmp` is added.
	static std::unique_ptr<SimProcess> withStateDir(const TempDir &dir, const std::string &stateDir, std::vector<std::string> args,
				       std::vector<std::string> env = {});
	SimProcess(const SimProcess &) = delete;
	SimProcess &operator=(const SimProcess &) = delete;
	~SimProcess();

	const std::string &socket() const { return socket_; }
	// `watchProcess`: the client gives up when this process exits (not for
	// -daemonize, whose parent exits at once).
	Result<std::unique_ptr<qmp::SyncClient>> connect(bool watchProcess = true);
	// Waits for the process to end (up to 20 s; killed otherwise): exit status.
	int wait();
	void signal(int sig);
	std::string stderrText();

private:
	std::string socket_;
	std::string stderrPath_;
	GObjectPtr<GSubprocess> process_;
	bool waited_ = false;
	int status_ = -1;
	std::string stderr_;
};

std::string simExecutable();

} // namespace cvm::sim::test
