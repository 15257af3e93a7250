// SPDX-License-Identifier: Apache-2.0
//
// The VM side of the QEMU-shaped process: its run state (prelaunch with -S,
// running, paused, shutdown) and QEMU's core QMP commands with 7.2's replies
// and events: query-status, cont (RESUME; the first run triggers
// LAUNCH_FINISH), stop (STOP), quit (SHUTDOWN host-qmp-quit before the
// return), query-version, query-name, query-kvm.
#pragma once

#include <functional>
#include <string>

#include "cvm/common/error.h"
#include "cvm/sim/qmp_dispatch.h"

namespace cvm::sim {

enum class RunState { Prelaunch, Running, Paused, Shutdown };
const char *runStateName(RunState state);

class Machine
{
public:
	// Events go out through `emit(name, data)`.
	using EventSink = std::function<void(std::string_view name, JsonNode *data)>;

	Machine(bool startPaused, EventSink emit);

	RunState state() const { return state_; }
	// Runs the guest (cont): the first transition to running calls
	// onFirstRun (LAUNCH_FINISH), whose failure QEMU treats as fatal.
	Status resume();
	Status pause();
	// SHUTDOWN event with `reason` (host-qmp-quit, host-signal).
	void shutdown(const char *reason);

	// Registers query-status, cont, stop, quit, query-version, query-name,
	// query-kvm. `onQuit` runs after SHUTDOWN was emitted (it arranges for
	// the reply to be sent and the process to end).
	void registerCommands(QmpDispatcher &dispatcher, std::function<void()> onQuit,
			      const qmp::Version &version, std::string name);

	std::function<Status()> onFirstRun;

private:
	RunState state_;
	EventSink emit_;
	bool ranOnce_ = false;
};

} // namespace cvm::sim
