// SPDX-License-Identifier: Apache-2.0
//
// ProcessWatch (internal to the client): notices when the QEMU process we were
// handed exits and keeps its wait status, so that a monitor that closes during
// start-up can be explained ("killed by signal 6 (Aborted)").
//
// A GSubprocess is waited for with g_subprocess_wait_async (GSubprocess reaps
// it). A bare pid is watched through a pidfd, and its status is read with
// waitid(WNOWAIT): the child is not reaped, its owner still collects it. A pid
// that is not our child still has its exit noticed, without a status.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <gio/gio.h>
#include <sys/types.h>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"

namespace cvm::qmp {

class ProcessWatch
{
public:
	// Both may be null/0 (nothing to watch).
	ProcessWatch(GMainContext *context, GSubprocess *process, pid_t pid);
	~ProcessWatch();
	ProcessWatch(const ProcessWatch &) = delete;
	ProcessWatch &operator=(const ProcessWatch &) = delete;

	bool watching() const { return process_ != nullptr || pid_ > 0; }
	// Starts watching; `exited` runs on the context once the process has
	// exited (at most once, never from within start()).
	void start(std::function<void()> exited);
	bool exited() const;
	// The wait status, once known.
	std::optional<int> status() const;
	// "killed by signal 6 (Aborted)", "exit status 1", or a note that the
	// status is unknown; empty while the process runs.
	std::string describe() const;

private:
	struct State;

	void startPidfd();
	static gboolean onPidfdReadable(gint fd, GIOCondition condition, gpointer data);
	static void onSubprocessExited(GObject *source, GAsyncResult *result, gpointer data);

	GMainContext *context_;
	GObjectPtr<GSubprocess> process_;
	pid_t pid_;
	std::shared_ptr<State> state_;
	GObjectPtr<GCancellable> cancellable_;
	UniqueFd pidfd_;
	GSourcePtr pidfdSource_;
};

} // namespace cvm::qmp
